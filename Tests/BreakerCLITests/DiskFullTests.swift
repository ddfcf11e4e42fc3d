import BreakerTestSupport
import Foundation
import Testing

/// A small tmpfs mounted for one test (needs mount privileges: root, as in CI).
struct Tmpfs {
    let dir: String

    /// Whether this process may mount a tmpfs here.
    static let available: Bool = {
        guard getuid() == 0, let probe = try? Tmpfs(size: "64k") else { return false }
        probe.unmount()
        return true
    }()

    init(size: String) throws {
        dir = try temporaryDirectory()
        guard shell("mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", dir) == 0 else {
            try? FileManager.default.removeItem(atPath: dir)
            throw CocoaError(.fileWriteNoPermission)
        }
    }

    /// Gives the file system `size` (e.g. `64m`) in place.
    func resize(_ size: String) -> Bool { shell("mount", "-o", "remount,size=\(size)", dir) == 0 }

    func unmount() {
        _ = shell("umount", "-l", dir)
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// SPEC §8 through real processes: the disk under a running owner fills, then gets space.
@Suite(.serialized) struct DiskFullTests {
    /// A `breakerctl load` whose standard error is collected as it runs.
    final class Load: @unchecked Sendable {
        // Safety: `text` is only touched under `lock`.
        let process = Process()
        private let pipe = Pipe()
        private let lock = NSLock()
        private var text = ""

        init(_ args: [String]) throws {
            process.executableURL = CLI.binary
            process.arguments = args
            process.standardOutput = FileHandle.nullDevice
            process.standardError = pipe
            pipe.fileHandleForReading.readabilityHandler = { [weak self] h in
                let d = h.availableData
                guard let self, !d.isEmpty else { return }
                self.lock.lock()
                self.text += String(decoding: d, as: UTF8.self)
                self.lock.unlock()
            }
            try process.run()
        }

        var stderr: String {
            lock.lock()
            defer { lock.unlock() }
            return text
        }

        /// The `N` of the last "load: N calls so far" progress line.
        var callsSoFar: Int {
            stderr.split(separator: "\n").compactMap { line -> Int? in
                guard line.hasPrefix("load: "), line.contains("calls so far") else { return nil }
                return Int(line.dropFirst(6).prefix { $0.isNumber })
            }.last ?? 0
        }

        func stop() async throws -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            try await waitForExit(process, "the load to stop on SIGTERM")
            try await Task.sleep(for: .milliseconds(100))
            pipe.fileHandleForReading.readabilityHandler = nil
            return process.terminationStatus
        }
    }

    /// `status`'s line about the owner's log, from its standard error.
    func ownerLine(_ db: String) async throws -> String {
        let lines = try await CLI.run(async: ["status", "--db", db]).stderr.split(separator: "\n")
        return lines.first { $0.hasPrefix("owner: ") }.map(String.init) ?? ""
    }

    /// The `M` of "M call records dropped" in an owner line.
    func droppedCount(_ line: String) -> Int {
        let words = line.split(separator: " ")
        guard let at = words.firstIndex(of: "call"), at > 0, words.count > at + 2, words[at + 1] == "records",
            words[at + 2].hasPrefix("dropped")
        else { return 0 }
        return Int(words[at - 1]) ?? 0
    }

    func waitFor(_ what: String, seconds: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !condition() {
            try #require(Date() < deadline, "timed out waiting for \(what)")
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Polls `status` until its owner line contains `text`; returns that line.
    func waitForOwnerLine(containing text: String, seconds: Double, db: String) async throws -> String {
        var seen = ""
        try await waitFor("the owner's log to say \(text)", seconds: seconds) {
            seen = try await ownerLine(db)
            return seen.contains(text)
        }
        return seen
    }

    @Test(.enabled(if: Tmpfs.available, "needs root to mount a small tmpfs"))
    func aDiskThatFillsUnderLoadLeavesACountedGapAndAStoreThatVerifies() async throws {
        try await onQueueOfItsOwn("disk-full") { try await diskFillsUnderLoad() }
    }

    func diskFillsUnderLoad() async throws {
        let fs = try Tmpfs(size: "1536k")
        defer { fs.unmount() }
        let db = fs.dir + "/s.sqlite"
        let load = try Load([
            "load", "--db", db, "--tenants", "5", "--tools", "3", "--rate", "1500", "--duration", "120", "--failure-rate", "0.05",
            "--latency-ms", "1", "--log-queue-capacity", "500",
        ])
        defer { if load.process.isRunning { kill(load.process.processIdentifier, SIGKILL) } }
        _ = try await waitForOwnerLine(containing: "log ok", seconds: 20, db: db)
        // A nearly full disk may take a small batch now and then, so the line is judged as first seen failing.
        let failing = try await waitForOwnerLine(containing: "log failing", seconds: 60, db: db)
        #expect(failing.contains("disk full"), "status says why: \(failing)")
        let durableWhileFull = Set(try await CLI.run(async: ["export", "--db", db]).text.split(separator: "\n"))
        #expect(!durableWhileFull.isEmpty)
        // The owner keeps answering calls while nothing can be written: its progress keeps growing.
        let before = load.callsSoFar
        try await waitFor("calls answered while the disk is full", seconds: 30) { load.callsSoFar >= before + 3000 }
        let during = try await ownerLine(db)
        #expect(droppedCount(during) > droppedCount(failing), "calls were dropped while they were answered: \(during)")

        #expect(fs.resize("64m"))
        // Recovered: the log is ok and stays ok while calls go on being written.
        let recovered = try await waitForOwnerLine(containing: "log ok", seconds: 30, db: db)
        try await Task.sleep(for: .seconds(1))
        #expect(droppedCount(try await ownerLine(db)) == droppedCount(recovered), "nothing dropped once there is space")
        #expect(try await load.stop() == 0, "SIGTERM stops the owner cleanly: \(load.stderr)")

        let summary = try #require(load.stderr.split(separator: "\n").last { $0.hasPrefix("load: ") && $0.contains("durable") })
        let calls = try #require(Int(summary.dropFirst(6).prefix { $0.isNumber }))
        let droppedText = try #require(summary.split(separator: "; ").last { $0.contains("could not be kept") })
        let dropped = try #require(Int(droppedText.prefix { $0.isNumber }))
        #expect(dropped > 0)

        let export = try await CLI.run(async: ["export", "--db", db])
        let lines = export.text.split(separator: "\n")
        #expect(durableWhileFull.isSubset(of: Set(lines)), "nothing durable is lost")
        let objects = lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let gaps = objects.filter { $0["kind"] as? String == "log_gap" }
        #expect(!gaps.isEmpty)
        #expect(gaps.reduce(0) { $0 + ($1["dropped"] as! Int) } == dropped, "the gap has the right count")
        let logged = objects.filter { $0["kind"] as? String == "call" }.count
        #expect(logged + dropped == calls, "every call answered is in the log or counted in a gap")
        #expect(export.stderr.contains("note: the log has a gap"))

        let verify = try await CLI.run(async: ["verify", "--db", db])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stderr.contains("note: the log has a gap"), "\(verify.stderr)")
        #expect(try await CLI.run(async: ["report", "--all", "--db", db]).stderr.contains("note: the log has a gap"))
    }
}
