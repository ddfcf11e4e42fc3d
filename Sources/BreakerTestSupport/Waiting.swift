public import Foundation

/// A wait in a test that ran out of time: says what it waited for.
public struct TimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `condition` every `poll` until it holds; throws ``TimedOut`` naming `what` after
/// `within`. Every wait in the tests goes through here (or has a deadline of its own), so a
/// broken rule fails the test with what it waited for instead of hanging the suite.
public func waitUntil(
    _ what: String, within: Duration = .seconds(60), poll: Duration = .milliseconds(5), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now.advanced(by: within)
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out after \(within) waiting for \(what)") }
        try await Task.sleep(for: poll)
    }
}

/// Waits until `process` has exited, at most `within`; then kills it (SIGKILL) and throws
/// ``TimedOut`` naming `what`. Its termination status is readable once this returns. Sleeps
/// between looks without holding a thread of the cooperative pool.
public func waitForExit(_ process: Process, _ what: String, within: Duration = .seconds(60)) async throws {
    let deadline = ContinuousClock.now.advanced(by: within)
    while process.isRunning {
        guard ContinuousClock.now < deadline else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TimedOut(description: "timed out after \(within) waiting for \(what) (pid \(process.processIdentifier)); killed it")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    process.waitUntilExit()
}

/// ``waitForExit(_:_:within:)`` for a synchronous context (a `defer`), holding its thread.
public func waitForExit(_ process: Process, _ what: String, within: Duration = .seconds(60)) throws {
    let deadline = ContinuousClock.now.advanced(by: within)
    while process.isRunning {
        guard ContinuousClock.now < deadline else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TimedOut(description: "timed out after \(within) waiting for \(what) (pid \(process.processIdentifier)); killed it")
        }
        Thread.sleep(forTimeInterval: 0.01)
    }
    process.waitUntilExit()
}

/// Runs `body` (and the child tasks it starts) on a serial queue of its own instead of the
/// cooperative pool, keeping the test's context. For tests that measure time against a
/// deadline: on two cores, other tests that hold the pool's threads would otherwise delay
/// them by seconds.
public func onQueueOfItsOwn<T: Sendable>(
    _ label: String, _ body: () async throws -> T
) async throws -> T {
    try await withTaskExecutorPreference(QueueExecutor(label: label)) { try await body() }
}

/// A task executor that runs its jobs on one serial dispatch queue (not the cooperative pool).
final class QueueExecutor: TaskExecutor {
    let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
