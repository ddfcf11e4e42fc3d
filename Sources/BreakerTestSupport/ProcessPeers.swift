import BreakerCore
public import Foundation
public import Testing

/// Runs the real `breakerctl` (and the other executables SwiftPM built) as child processes, for
/// the test targets that drive the product from outside.
public enum CLI {
    /// What a command printed and how it ended.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String
        public var text: String { String(decoding: stdout, as: UTF8.self) }

        public init(status: Int32, stdout: Data, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        /// What a peer script said went wrong: its `FAIL:` lines (each names the check), a
        /// `killed:` line, or else its exit status and last lines (a traceback ends there).
        public var peerFailure: Comment { Comment(rawValue: peerFailureText) }

        public var peerFailureText: String {
            let lines = (text + stderr).split(separator: "\n", omittingEmptySubsequences: false)
            let said = lines.filter { $0.hasPrefix("FAIL:") || $0.hasPrefix("killed:") }
            if !said.isEmpty { return said.joined(separator: "\n") }
            return "exit status \(status); its last lines:\n" + lines.suffix(25).joined(separator: "\n")
        }
    }

    /// The binary SwiftPM built beside this test bundle.
    public static var binary: URL { executable("breakerctl") }

    /// An executable SwiftPM built beside this test bundle.
    public static func executable(_ name: String) -> URL {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundleDir, bundleDir.deletingLastPathComponent(), buildDir] {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return buildDir.appendingPathComponent(name)
    }

    /// The package's checkout.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var buildDir: URL { packageRoot.appendingPathComponent(".build/debug") }

    /// `shared/conformance/`, beside the checkout.
    public static var conformance: URL { packageRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance") }

    /// Runs the real `breakerctl` binary as a child process (crashes, signals, environment).
    @discardableResult
    public static func process(_ args: [String], environment: [String: String] = [:]) throws -> Output {
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

    /// ``process(_:environment:)`` on a thread of its own, so that waiting for the child does not
    /// block the cooperative pool.
    public static func run(async args: [String], environment: [String: String] = [:]) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try CLI.process(args, environment: environment) })
            }
        }
    }
}

/// Writes `lines` as a JSON-lines trace file and returns its path.
public func writeTrace(_ dir: String, _ lines: [String], name: String = "trace.jsonl") throws -> String {
    let path = dir + "/" + name
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A call line for a trace.
public func callLine(_ at: String, _ tenant: String, _ tool: String, _ turn: String, latency: Int = 100, result: String = "ok") -> String {
    let json = try! JSONSerialization.data(
        withJSONObject: [
            "at": at, "tenant": tenant, "tool": tool, "turn": turn, "latency_ms": latency, "result": result,
        ], options: [.sortedKeys])
    return String(decoding: json, as: UTF8.self)
}

/// The peers the tests drive the product with: Python scripts in their virtual environment.
public enum Peers {
    /// The Python of the test environment (`.build/peers`, made by `.ci/run`), else the system's.
    public static var python: String {
        let v = venv.appendingPathComponent("bin/python3").path
        return FileManager.default.isExecutableFile(atPath: v) ? v : "/usr/bin/env"
    }

    public static var venv: URL { CLI.packageRoot.appendingPathComponent(".build/peers") }

    public static func script(_ name: String) -> String {
        CLI.packageRoot.appendingPathComponent("Tests/ServeClients/\(name)").path
    }

    public static func workDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-peers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs `executable args` on a thread of its own, standard error merged into the output;
    /// `/usr/bin/env` runs `python3 args`. A script still running after `deadline` is killed
    /// (its output then ends with a line saying so, and its status is not 0).
    public static func run(
        _ executable: String, _ args: [String], environment: [String: String] = [:], deadline: Duration = .seconds(300)
    ) async throws -> CLI.Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        let p = Process()
                        p.executableURL = URL(fileURLWithPath: executable)
                        p.arguments = executable == "/usr/bin/env" ? ["python3"] + args : args
                        if !environment.isEmpty {
                            p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
                        }
                        let out = Pipe()
                        p.standardOutput = out
                        p.standardError = out
                        try p.run()
                        let killed = Locked(false)
                        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(deadline.components.seconds))) {
                            guard p.isRunning else { return }
                            killed.withLock { $0 = true }
                            // SIGKILL: the test process's children inherit SIGTERM ignored.
                            kill(p.processIdentifier, SIGKILL)
                        }
                        let output = out.fileHandleForReading.readDataToEndOfFile()
                        p.waitUntilExit()
                        let note = killed.withLock { $0 } ? "\nkilled: still running after \(deadline)\n" : ""
                        return CLI.Output(status: p.terminationStatus, stdout: output + Data(note.utf8), stderr: "")
                    })
            }
        }
    }
}

/// Starts `breaker-embedding-example` (an application that embeds the owner) on `db`, once it
/// says it is ready.
public func startEmbeddingApplication(_ db: String) throws -> Process {
    let app = Process()
    app.executableURL = CLI.executable("breaker-embedding-example")
    app.arguments = ["--db", db]
    let out = Pipe()
    app.standardOutput = out
    app.standardError = FileHandle.nullDevice
    try app.run()
    // An application that never says it is ready is killed after 60 s, which ends the read.
    let ready = Locked(false)
    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(60)) {
        if !ready.withLock({ $0 }) && app.isRunning { kill(app.processIdentifier, SIGKILL) }
    }
    let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
    ready.withLock { $0 = true }
    #expect(line.hasPrefix("ready pid \(app.processIdentifier)"), "the embedding application did not say it is ready: \(line)")
    return app
}

/// Stops an application started with ``startEmbeddingApplication(_:)`` with SIGTERM, as its
/// service manager would, and waits (at most 60 s) for it to exit.
public func stopEmbeddingApplication(_ app: Process) {
    kill(app.processIdentifier, SIGTERM)
    do {
        try waitForExit(app, "the embedding application to stop on SIGTERM")
    } catch {
        Issue.record(error)
    }
}
