import BreakerTestSupport
import Foundation
import Testing

/// `breakerctl alerts` judges the store as it was at the time asked, with the configured
/// global-outage threshold.
@Suite(.temporaryDirectory) struct AlertsTests {
    /// a, b fail web_search at 10:00 (their circuits open), a reset closes a at 10:30.
    func store(_ dir: String, config: String) async throws -> String {
        var lines = ["a", "b"].map { callLine("2026-11-28T10:00:00Z", $0, "web_search", "t", latency: 0, result: "error") }
        lines.append(#"{"at": "2026-11-28T10:30:00Z", "op": "reset", "tool": "web_search", "tenant": "a", "actor": "x"}"#)
        lines.append(#"{"at": "2026-11-28T10:30:00Z", "op": "reset", "tool": "web_search", "tenant": "b", "actor": "x"}"#)
        lines.append(callLine("2026-11-28T11:00:00Z", "c", "crm", "t"))
        try config.write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
        let db = dir + "/s.sqlite"
        let r = try await CLI.run(["simulate", try writeTrace(dir, lines), "--config", dir + "/c.json", "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        return db
    }

    @Test func alertsJudgeTheStateAsItWasAtTheTimeAsked() async throws {
        let dir = scratchDirectory
        let db = try await store(dir, config: #"{"defaults": {"failureThreshold": 1, "openTimeoutMs": 3600000, "globalOutageTenants": 2}}"#)
        let during = try await CLI.run(["alerts", "--at", "2026-11-28T10:20:00Z", "--format", "json", "--db", db])
        #expect(during.status == 2, "\(during.stderr)")
        #expect(during.text.contains("\"alert\":\"global_outage\""), "two tenants open at 10:20: \(during.text)")
        #expect(during.text.contains("\"alert\":\"open_too_long\""), "open for 20 min at 10:20: \(during.text)")
        let before = try await CLI.run(["alerts", "--at", "2026-11-28T09:59:00Z", "--db", db])
        #expect(before.status == 0 && before.text == "no alerts\n", "nothing had happened at 09:59: \(before.text)")
        let after = try await CLI.run(["alerts", "--at", "end", "--db", db])
        #expect(after.status == 0 && after.text == "no alerts\n", "both closed by the end of the log: \(after.text)")
    }

    /// The cron check at 06:50: circuits open since 06:44, no traffic since 06:47. As of the log's
    /// last record they were open 3 minutes; as of now, far longer.
    @Test func byDefaultAlertsJudgeTheStoreAsOfNowNotAsOfItsLastRecord() async throws {
        let dir = scratchDirectory
        var lines = ["a", "b"].map { callLine("2026-11-28T06:44:00Z", $0, "web_search", "t", latency: 0, result: "error") }
        lines.append(callLine("2026-11-28T06:47:00Z", "c", "crm", "t"))
        try #"{"defaults": {"failureThreshold": 1, "openTimeoutMs": 3600000, "globalOutageTenants": 3}}"#
            .write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", try writeTrace(dir, lines), "--config", dir + "/c.json", "--db", db]).status == 0)
        let atEnd = try await CLI.run(["alerts", "--at", "end", "--db", db])
        #expect(atEnd.status == 0 && atEnd.text == "no alerts\n", "open 3 min at the last record: \(atEnd.text)")
        for args in [[], ["--at", "now"]] {
            let now = try await CLI.run(["alerts", "--format", "json", "--db", db] + args)
            #expect(now.status == 2, "\(args): \(now.text)")
            let fired = try JSONSerialization.jsonObject(with: now.stdout) as? [[String: Any]] ?? []
            #expect(
                fired.map { "\($0["alert"]!) \($0["tenant"]!)" }.sorted() == ["open_too_long a", "open_too_long b"],
                "\(args): open since 06:44 and never closed: \(fired)")
        }
        let bad = try await CLI.run(["alerts", "--at", "yesterday", "--db", db])
        #expect(bad.status == 64 && bad.stderr.contains("--at"), "\(bad.stderr)")
    }

    @Test func theGlobalOutageAlertUsesTheConfiguredThreshold() async throws {
        let dir = scratchDirectory
        let db = try await store(dir, config: #"{"defaults": {"failureThreshold": 1, "openTimeoutMs": 3600000, "globalOutageTenants": 3}}"#)
        let r = try await CLI.run(["alerts", "--at", "2026-11-28T10:20:00Z", "--format", "json", "--db", db])
        #expect(!r.text.contains("global_outage"), "two tenants are below this store's threshold of 3: \(r.text)")
        #expect(r.text.contains("open_too_long"))
    }
}
