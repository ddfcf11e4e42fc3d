import BreakerCore
import BreakerStore
import BreakerTestSupport
import Foundation
import Testing

/// Real processes: `breakerctl load` is SIGKILLed at random moments, then the store is reopened.
@Suite(.temporaryDirectory, .serialized) struct CrashTests {
    /// Iterations: 20 by default, more with BREAKER_CRASH_ITERATIONS (the longer mode).
    static var iterations: Int {
        ProcessInfo.processInfo.environment["BREAKER_CRASH_ITERATIONS"].flatMap { Int($0) } ?? 20
    }

    /// Starts `breakerctl load` on `db`, reading its stdout (durable transitions) as it goes.
    final class LoadProcess: @unchecked Sendable {
        // Safety: `lines` is written by the readability handler and read only after
        // `stop()` has waited for the process and cleared the handler.
        let process = Process()
        let pipe = Pipe()
        let errors = Pipe()
        private var buffer = Data()
        private var lines: [String] = []
        private let lock = NSLock()

        init(db: String, seed: Int) throws {
            process.executableURL = CLI.binary
            process.arguments = [
                "load", "--db", db, "--tenants", "6", "--tools", "3", "--rate", "1500", "--duration", "60", "--failure-rate", "0.35",
                "--slow-rate", "0.01", "--latency-ms", "2", "--seed", String(seed), "--report-transitions",
            ]
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "BREAKER_DB")
            process.environment = env
            process.standardOutput = pipe
            process.standardError = errors
            pipe.fileHandleForReading.readabilityHandler = { [weak self] h in
                let d = h.availableData
                guard let self, !d.isEmpty else { return }
                self.lock.lock()
                self.buffer.append(d)
                while let nl = self.buffer.firstIndex(of: 10) {
                    self.lines.append(String(decoding: self.buffer[self.buffer.startIndex..<nl], as: UTF8.self))
                    self.buffer.removeSubrange(self.buffer.startIndex...nl)
                }
                self.lock.unlock()
            }
            try process.run()
        }

        /// What the process wrote on standard error (once it has ended).
        var stderr: String { String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }

        func kill() -> [String] {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
            lock.lock()
            defer { lock.unlock() }
            return lines
        }
    }

    @Test func aKilledOwnerLeavesAStoreThatOpensVerifiesAndKeepsEveryReturnedTransition() async throws {
        let dir = scratchDirectory
        let db = dir + "/crash.sqlite"
        var rng = SystemRandomNumberGenerator()
        var reported = 0
        for i in 0..<Self.iterations {
            let load = try LoadProcess(db: db, seed: i)
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...1200, using: &rng)))
            let lines = load.kill()
            #expect(
                load.process.terminationReason == .uncaughtSignal,
                "iteration \(i): load ended by itself (status \(load.process.terminationStatus)) before it was killed: \(load.stderr)")
            reported += lines.count

            let store = try EventStore.openReader(path: db)
            let report = try store.verify()
            #expect(report.problems.isEmpty, "iteration \(i): \(report.problems)")
            let rebuilt = try store.rebuild().machine
            #expect(rebuilt.hasSameDurableState(as: try store.fullReplay().machine), "iteration \(i)")
            var logged = Set<String>()
            for t in try store.transitions(tenant: nil) { logged.insert("\(t.tenant.rawValue)|\(t.tool.rawValue)|\(t.generation)") }
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let key = "\(object["tenant"]!)|\(object["tool"]!)|\(object["generation"]!)"
                #expect(logged.contains(key), "iteration \(i): transition \(key) returned to its caller but is missing")
            }
            // The next owner opens it (the kernel released the dead owner's lock).
            _ = try EventStore.openOwner(path: db, mustExist: true)
        }
        #expect(reported > 0, "the load must have reported transitions for the check to mean anything")
    }
}

@Suite(.temporaryDirectory, .serialized) struct OwnerTests {
    @Test func anOperatorActionReachesARunningOwnerAndIsLoggedWithActorAndReason() async throws {
        let dir = scratchDirectory
        let db = dir + "/owner.sqlite"
        let owner = Process()
        owner.executableURL = CLI.binary
        // Longer than any wait below: the test stops it, so the owner is there whenever it looks.
        owner.arguments = ["load", "--db", db, "--tenants", "3", "--tools", "2", "--rate", "100", "--duration", "600"]
        owner.standardOutput = FileHandle.nullDevice
        let errPath = dir + "/load.err"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        owner.standardError = FileHandle(forWritingAtPath: errPath)
        try owner.run()
        defer {
            if owner.isRunning { kill(owner.processIdentifier, SIGKILL) }
        }
        do {
            try await waitUntil("the load to own the store", poll: .milliseconds(20)) { EventStore.currentOwner(of: db) != nil }
        } catch {
            // Say what the load was doing: its state and wait channel, or how it ended and why.
            let pid = owner.processIdentifier
            let state =
                (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8))?
                .split(separator: "\n").first { $0.hasPrefix("State:") } ?? "gone"
            let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "-"
            let ended = owner.isRunning ? "running" : "exited \(owner.terminationStatus)"
            let said = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            Issue.record("\(error): load pid \(pid) \(ended), \(state), wchan \(wchan); its stderr: \(said.suffix(2000))")
            return
        }

        let second = try await CLI.run(async: ["load", "--db", db, "--duration", "1"])
        #expect(second.status == 1 && second.stderr.contains("pid \(owner.processIdentifier)"), "\(second.stderr)")
        let status = try await CLI.run(async: ["status", "--db", db, "--format", "json"])
        #expect(status.status == 0, "readers work while the owner writes: \(status.stderr)")

        let r = try await CLI.run(async: [
            "force-open", "--tool", "tool-1", "--hold", "--reason", "vendor down", "--actor", "oncall", "--db", db,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("applied by the running owner"))

        kill(owner.processIdentifier, SIGTERM)
        try await waitForExit(owner, "the load to stop on SIGTERM")
        #expect(owner.terminationStatus == 0, "SIGTERM stops the load cleanly")

        let store = try EventStore.openReader(path: db)
        var ops: [OperatorRecord] = []
        try store.forEachEvent(EventFilter(kinds: .operatorActions)) { e in
            if case .operatorAction(let o) = e.event { ops.append(o) }
        }
        #expect(ops.count == 1 && ops[0].actor == "oncall" && ops[0].reason == "vendor down" && ops[0].op == .forceOpenHold)
        let machine = try store.rebuild().machine
        #expect(machine.keys.filter { $0.tool.rawValue == "tool-1" }.allSatisfy { machine.state(of: $0)?.state == .forcedOpen })
        #expect(try store.verify().problems.isEmpty)
        #expect(try store.rebuild().replayed == 0, "a clean stop writes a final snapshot")

        // With no owner running, the CLI applies the action to the store itself.
        let release = try await CLI.run(async: ["release", "--tool", "tool-1", "--reason", "vendor back", "--actor", "oncall", "--db", db])
        #expect(release.status == 0 && release.stderr.contains("recorded in"), "\(release.stderr)")
        let after = try EventStore.openReader(path: db).rebuild().machine
        #expect(after.keys.filter { $0.tool.rawValue == "tool-1" }.allSatisfy { after.state(of: $0)?.state == .halfOpen })
    }
}
