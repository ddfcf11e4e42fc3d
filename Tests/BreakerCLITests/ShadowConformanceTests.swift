import BreakerTestSupport
import Foundation
import Testing

/// SPEC §15 through the CLI, on every conformance case: the same trace with every key in shadow
/// makes the same transitions and audits, blocks nothing, and runs as shadow calls exactly the
/// calls the enforcing run rejected.
@Suite(.temporaryDirectory) struct ShadowConformanceTests {
    /// The case's configuration (or none) with `defaults.enforce` set to false, as a file.
    static func shadowConfiguration(of dir: URL, into path: String) throws {
        let file = dir.appendingPathComponent("config.json")
        var root: [String: Any] = [:]
        if FileManager.default.fileExists(atPath: file.path) {
            root = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        }
        var defaults = root["defaults"] as? [String: Any] ?? [:]
        defaults["enforce"] = false
        root["defaults"] = defaults
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
    }

    /// The calls of an export: (tenant, tool, turn, the rejection or shadow reason).
    static func calls(_ db: String) throws -> [[String: Any]] {
        try CLI.process(["export", "--db", db]).text.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["kind"] as? String == "call" }
    }

    @Test(arguments: ConformanceTests.cases)
    func everyKeyInShadowMakesTheSameTransitionsAndRunsWhatItWouldHaveRejected(name: String) async throws {
        let dir = CLI.conformance.appendingPathComponent(name)
        let trace = dir.appendingPathComponent("trace.jsonl").path
        let (enforcing, shadowing) = (scratchDirectory + "/enforce.sqlite", scratchDirectory + "/shadow.sqlite")
        let shadowConfig = scratchDirectory + "/shadow.json"
        try Self.shadowConfiguration(of: dir, into: shadowConfig)
        let config = dir.appendingPathComponent("config.json")
        let own = FileManager.default.fileExists(atPath: config.path) ? ["--config", config.path] : []
        #expect(try await CLI.run(["simulate", trace, "--db", enforcing] + own).status == 0)
        let simulated = try await CLI.run(["simulate", trace, "--db", shadowing, "--config", shadowConfig])
        #expect(simulated.status == 0, "\(simulated.stderr)")

        // The same transitions, so the same audits, tenant by tenant.
        let tenants = Set(try Self.calls(enforcing).compactMap { $0["tenant"] as? String })
        for tenant in tenants.sorted() {
            let a = try await CLI.run(["audit", "--tenant=\(tenant)", "--db", enforcing])
            let b = try await CLI.run(["audit", "--tenant=\(tenant)", "--db", shadowing])
            #expect(a.stdout == b.stdout, "\(name): the audit of \(tenant)")
        }

        // Every call the enforcing run rejected ran in shadow, recorded with that reason; no other.
        let rejected = try Self.calls(enforcing).filter { $0["outcome"] as? String == "rejected" }
            .map { "\($0["tenant"]!)|\($0["tool"]!)|\($0["turn"]!)|\($0["reason"]!)" }
        let shadowCalls = try Self.calls(shadowing).filter { !($0["shadow"] is NSNull) }
            .map { "\($0["tenant"]!)|\($0["tool"]!)|\($0["turn"]!)|\($0["shadow"]!)" }
        #expect(!rejected.isEmpty, "\(name) rejects something when it enforces")
        #expect(shadowCalls.sorted() == rejected.sorted(), "\(name): shadow calls are the rejected calls")
        #expect(try Self.calls(shadowing).allSatisfy { $0["outcome"] as? String != "rejected" })

        // Nothing blocked; every call counted; the open time the same.
        let rows = { (db: String) async throws -> [[String]] in
            try await CLI.run(["report", "--all", "--db", db]).text.split(separator: "\r\n").dropFirst().map {
                ReportTests.fields(String($0))
            }
        }
        let (before, after) = (try await rows(enforcing), try await rows(shadowing))
        #expect(before.count == after.count)
        for (e, s) in zip(before, after) {
            // tenant, hour_start, turns, turns_blocked, turns_degraded, calls, calls_blocked, …, open_seconds
            #expect(s[3] == "0" && s[6] == "0", "\(name): a shadow key blocks no turn and no call: \(s)")
            #expect(e[0] == s[0] && e[1] == s[1] && e[2] == s[2] && e[5] == s[5] && e[9] == s[9], "\(e) vs \(s)")
        }
        // report --shadow: what the shadow keys would have blocked is what the enforcing run blocked.
        let shadowReport = try await CLI.run(["report", "--all", "--shadow", "--db", shadowing]).text.split(separator: "\r\n")
        #expect(shadowReport.first?.hasSuffix(",availability_pct,turns_would_block,calls_would_block") == true)
        let sum = { (rows: [[String]], column: Int) in rows.map { Int($0[column])! }.reduce(0, +) }
        let withShadow = shadowReport.dropFirst().map { ReportTests.fields(String($0)) }
        #expect(sum(withShadow, 11) == sum(before, 3), "\(name): turns_would_block in shadow = turns_blocked enforcing")
        #expect(sum(withShadow, 12) == sum(before, 6), "\(name): calls_would_block in shadow = calls_blocked enforcing")
        #expect(withShadow.map { Array($0.prefix(11)) } == after, "--shadow only adds columns")
        let verify = try await CLI.run(["verify", "--db", shadowing])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    }
}
