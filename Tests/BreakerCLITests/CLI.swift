import ArgumentParser
import BreakerBenchmarks
import BreakerCLI
import BreakerTestSupport
import Foundation
import Testing

/// Runs the real `breakerctl` binary as a child process.
enum CLI {
    struct Output {
        var status: Int32
        var stdout: Data
        var stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }

        /// What a peer script said went wrong: its `FAIL:` lines (each names the check), a
        /// `killed:` line, or else its exit status and last lines (a traceback ends there).
        var peerFailure: Comment { Comment(rawValue: peerFailureText) }

        var peerFailureText: String {
            let lines = (text + stderr).split(separator: "\n", omittingEmptySubsequences: false)
            let said = lines.filter { $0.hasPrefix("FAIL:") || $0.hasPrefix("killed:") }
            if !said.isEmpty { return said.joined(separator: "\n") }
            return "exit status \(status); its last lines:\n" + lines.suffix(25).joined(separator: "\n")
        }
    }

    /// The binary SwiftPM built beside this test bundle.
    static var binary: URL { executable("breakerctl") }

    /// An executable SwiftPM built beside this test bundle.
    static func executable(_ name: String) -> URL {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundleDir, bundleDir.deletingLastPathComponent(), buildDir] {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return buildDir.appendingPathComponent(name)
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var buildDir: URL { packageRoot.appendingPathComponent(".build/debug") }

    /// `shared/conformance/`, beside the checkout.
    static var conformance: URL { packageRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance") }

    /// Runs `breakerctl args` in this process, its output captured (what most tests need);
    /// with `environment`, as a child process instead.
    @discardableResult
    static func run(_ args: [String], environment: [String: String] = [:]) async throws -> Output {
        guard environment.isEmpty else { return try await run(async: args, environment: environment) }
        let r = await CommandRunner.capture(Breakerctl.self, arguments: args)
        return Output(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    /// Runs the real `breakerctl` binary as a child process (crashes, signals, environment).
    @discardableResult
    static func process(_ args: [String], environment: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "BREAKER_DB")
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// `breakerctl`'s commands, as the executable has them, for running in-process.
struct Breakerctl: AsyncParsableCommand {
    static let configuration = BreakerCommand.configuration(adding: [BenchCommand.self])
}

extension CLI {
    /// ``process(_:environment:)`` on a thread of its own, so that waiting for the child does not
    /// block the cooperative pool.
    static func run(async args: [String], environment: [String: String] = [:]) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try CLI.process(args, environment: environment) })
            }
        }
    }
}

/// Writes `lines` as a JSON-lines trace file and returns its path.
func writeTrace(_ dir: String, _ lines: [String], name: String = "trace.jsonl") throws -> String {
    let path = dir + "/" + name
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A call line for a trace.
func callLine(_ at: String, _ tenant: String, _ tool: String, _ turn: String, latency: Int = 100, result: String = "ok") -> String {
    let json = try! JSONSerialization.data(
        withJSONObject: [
            "at": at, "tenant": tenant, "tool": tool, "turn": turn, "latency_ms": latency, "result": result,
        ], options: [.sortedKeys])
    return String(decoding: json, as: UTF8.self)
}
