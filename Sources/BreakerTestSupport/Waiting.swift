public import Foundation

/// A wait in a test that ran out of time: says what it waited for.
public struct TimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `condition` every `poll` until it holds; throws ``TimedOut`` naming `what` after
/// `within`. Every wait in the tests goes through here (or has a deadline of its own), so a
/// broken rule fails the test with what it waited for instead of hanging the suite.
public func waitUntil(
    _ what: String, within: Duration = .seconds(60), poll: Duration = .milliseconds(5), _ condition: () throws -> Bool
) async throws {
    let deadline = ContinuousClock.now.advanced(by: within)
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out after \(within) waiting for \(what)") }
        try await Task.sleep(for: poll)
    }
}

/// Waits until `process` has exited, at most `within`; then kills it (SIGKILL) and throws
/// ``TimedOut`` naming `what`. Its termination status is readable once this returns.
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
