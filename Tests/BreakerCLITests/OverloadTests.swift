import BreakerTestSupport
import Foundation
import Testing

/// An owner given more calls than the machine can serve: `load` sheds what it cannot start,
/// keeps its memory bounded and stops at its duration.
@Suite(.temporaryDirectory) struct OverloadTests {
    /// The peak resident set (`VmHWM`) of a running process, in KiB.
    static func peakResidentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }.flatMap { Int($0) }
    }

    @Test func loadBeyondTheMachinesRateEndsNearItsDurationWithBoundedMemory() async throws {
        try await onQueueOfItsOwn("overload") { try await overload() }
    }

    func overload() async throws {
        let dir = scratchDirectory
        // One core kept busy beside the load, as on a shared machine.
        let spinner = Process()
        spinner.executableURL = URL(fileURLWithPath: "/bin/sh")
        spinner.arguments = ["-c", "while :; do :; done"]
        try spinner.run()
        defer {
            // SIGKILL: a test process may run with SIGTERM ignored, which its children inherit.
            kill(spinner.processIdentifier, SIGKILL)
            spinner.waitUntilExit()
        }

        let load = Process()
        load.executableURL = CLI.binary
        load.arguments = ["load", "--db", dir + "/s.sqlite", "--rate", "20000", "--duration", "10"]
        load.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        load.standardError = err
        let started = Date()
        try load.run()
        var peakKiB = 0
        while load.isRunning && Date().timeIntervalSince(started) < 60 {
            peakKiB = max(peakKiB, Self.peakResidentKiB(load.processIdentifier) ?? 0)
            try await Task.sleep(for: .milliseconds(50))
        }
        if load.isRunning { kill(load.processIdentifier, SIGKILL) }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        load.waitUntilExit()
        let wall = Date().timeIntervalSince(started)

        #expect(load.terminationStatus == 0, "\(stderr)")
        #expect(wall <= 25, "a 10 s load ended after \(Int(wall)) s: \(stderr)")
        #expect(peakKiB > 0 && peakKiB < 512 * 1024, "peak resident \(peakKiB / 1024) MiB")
        let summary = try #require(stderr.split(separator: "\n").last { $0.hasPrefix("load: ") && $0.contains("durable") })
        print("overload: 10 s at 20 000/s ended after \(String(format: "%.1f", wall)) s, peak resident \(peakKiB / 1024) MiB: \(summary)")
    }
}
