import BreakerTestSupport
import Foundation
import Testing

@Suite(.temporaryDirectory) struct ReportTests {
    /// Simulates `lines` into a new store in the test's directory and returns its path.
    func store(_ lines: [String], config: String? = nil) async throws -> (dir: String, db: String) {
        let dir = scratchDirectory
        let trace = try writeTrace(dir, lines)
        var args = ["simulate", trace, "--db", dir + "/s.sqlite"]
        if let config {
            try config.write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
            args += ["--config", dir + "/c.json"]
        }
        let r = try await CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        return (dir, dir + "/s.sqlite")
    }

    static let awkward = ["acme", "Acme", "ACME", "say \"hi\"", "a,b", "=cmd|calc", "-minus", "+plus", "@at", "ünïcode", "Ünïcode"]

    @Test func aReportOrAuditForOneTenantContainsNothingOfAnother() async throws {
        var lines: [String] = []
        for (i, t) in Self.awkward.enumerated() {
            for k in 0..<6 {
                let at = "2026-11-28T10:\(String(format: "%02d", i)):\(String(format: "%02d", k * 5))Z"
                lines.append(callLine(at, t, "web_search", "\(t)-turn-\(k / 2)", result: i % 2 == 0 ? "error" : "ok"))
            }
        }
        let (_, db) = try await store(lines, config: #"{"defaults": {"failureThreshold": 2}}"#)
        for t in Self.awkward {
            let report = try await CLI.run(["report", "--tenant=\(t)", "--db", db]).text
            let audit = try await CLI.run(["audit", "--tenant=\(t)", "--db", db]).text
            let rows = report.split(separator: "\r\n").dropFirst()
            #expect(rows.count == 1)
            let expectedField = Self.csvField(t)
            #expect(rows.allSatisfy { $0.hasPrefix(expectedField + ",") }, "\(t): \(rows)")
            for line in audit.split(separator: "\r\n").dropFirst() {
                let tenantField = Self.fields(String(line))[1]
                #expect(tenantField == expectedField || tenantField == "", "\(t): \(line)")
            }
            #expect(audit.contains("transition") == (Self.awkward.firstIndex(of: t)! % 2 == 0))
        }
    }

    static func csvField(_ s: String) -> String {
        var v = s
        if let f = v.first, "=+-@\t\r".contains(f) { v = "'" + v }
        if v.contains(",") || v.contains("\"") { v = "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        return v
    }

    /// Splits one CSV line (RFC 4180) into raw fields, keeping their quoting.
    static func fields(_ line: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var quoted = false
        for c in line {
            if c == "\"" { quoted.toggle() }
            if c == "," && !quoted {
                out.append(cur)
                cur = ""
            } else {
                cur.append(c)
            }
        }
        out.append(cur)
        return out
    }

    @Test func everyHourOfTheRangeIsReportedIncludingEmptyOnes() async throws {
        let (_, db) = try await store([
            callLine("2026-11-28T08:10:00Z", "acme", "web_search", "t1"),
            callLine("2026-11-28T11:10:00Z", "acme", "web_search", "t2"),
        ])
        let text = try await CLI.run(["report", "--tenant", "acme", "--db", db]).text
        let rows = text.split(separator: "\r\n")
        #expect(rows.count == 5)
        #expect(rows[2] == "acme,2026-11-28T09:00:00Z,0,0,0,0,0,0,0,0.000,")
        #expect(text.hasSuffix("\r\n"))
        let ranged = try await CLI.run([
            "report", "--tenant", "acme", "--from", "2026-11-28T07:00:00Z", "--to", "2026-11-28T09:00:00Z", "--db", db,
        ]).text
        #expect(
            ranged.split(separator: "\r\n").map(String.init).dropFirst() == [
                "acme,2026-11-28T07:00:00Z,0,0,0,0,0,0,0,0.000,", "acme,2026-11-28T08:00:00Z,1,0,0,1,0,0,0,0.000,100.00",
            ])
    }

    @Test func aTurnSpanningAnHourBelongsToTheHourOfItsFirstCall() async throws {
        let (_, db) = try await store([
            callLine("2026-11-28T09:59:59Z", "acme", "web_search", "straddle", latency: 500),
            callLine("2026-11-28T10:00:01Z", "acme", "web_search", "straddle", latency: 100),
        ])
        let rows = try await CLI.run(["report", "--tenant", "acme", "--db", db]).text.split(separator: "\r\n").map(String.init)
        #expect(
            rows.dropFirst() == [
                "acme,2026-11-28T09:00:00Z,1,0,0,1,0,0,0,0.000,100.00", "acme,2026-11-28T10:00:00Z,0,0,0,1,0,0,0,0.000,",
            ])
    }

    @Test func anIntervalStillOpenAtTheEndOfTheLogRunsToTheReportsEnd() async throws {
        let (_, db) = try await store(
            [
                callLine("2026-11-28T10:30:00Z", "acme", "web_search", "t1", latency: 0, result: "error"),
                callLine("2026-11-28T10:40:00Z", "acme", "web_search", "t2"),
            ], config: #"{"defaults": {"failureThreshold": 1, "openTimeoutMs": 36000000}}"#)
        let rows = try await CLI.run([
            "report", "--tenant", "acme", "--from", "2026-11-28T10:00:00Z", "--to", "2026-11-28T12:00:00Z", "--db", db,
        ]).text.split(separator: "\r\n").map(String.init)
        #expect(rows[1] == "acme,2026-11-28T10:00:00Z,2,1,2,2,1,1,0,1800.000,50.00")
        #expect(rows[2] == "acme,2026-11-28T11:00:00Z,0,0,0,0,0,0,0,3600.000,")
    }

    @Test(
        arguments: [
            (["--from", "2026-11-28T10:30:00Z"], "whole hour"),
            (["--from", "2026-11-28T11:00:00Z", "--to", "2026-11-28T10:00:00Z"], "before"),
            (["--from", "2026-11-28T10:00:00Z", "--to", "2026-11-28T10:00:00Z"], "before"),
            (["--to", "yesterday"], "UTC time"),
            ([] as [String], "--all"),
        ] as [([String], String)])
    func badReportRangesAreRejectedWithAClearMessage(args: [String], message: String) async throws {
        let tenant = args.isEmpty ? [] : ["--tenant", "acme"]
        let r = try await CLI.run(["report"] + tenant + args + ["--db", "/nonexistent/none.sqlite"])
        #expect(r.status == 64)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    @Test func jsonReportsAndAuditOfATurn() async throws {
        let (dir, db) = try await store([
            callLine("2026-11-28T10:00:00Z", "acme", "web_search", "t1", result: "error"),
            callLine("2026-11-28T10:00:01Z", "acme", "crm_api", "t1"),
        ])
        let json = try await CLI.run(["report", "--tenant", "acme", "--format", "json", "--db", db])
        let array = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [[String: Any]])
        #expect(array.count == 1 && array[0]["turns_degraded"] as? Int == 1)
        let turn = try await CLI.run(["audit", "--tenant", "acme", "--turn", "t1", "--db", db]).text
        #expect(turn.contains("tool_call_exception:ToolError") && turn.contains("crm_api"))
        let output = dir + "/out.csv"
        #expect(try await CLI.run(["report", "--all", "--output", output, "--db", db]).status == 0)
        #expect(try String(contentsOfFile: output, encoding: .utf8).hasPrefix("tenant,hour_start"))
    }

    @Test func exportWritesOneObjectPerRecordInLogOrder() async throws {
        let (_, db) = try await store(
            [
                callLine("2026-11-28T10:00:00Z", "acme", "web_search", "t1", result: "error"),
                callLine("2026-11-28T10:00:01Z", "globex", "web_search", "t2"),
            ], config: #"{"defaults": {"failureThreshold": 1}}"#)
        let lines = try await CLI.run(["export", "--db", db]).text.split(separator: "\n")
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.map { $0["seq"] as? Int } == Array(1...objects.count).map { Optional($0) })
        #expect(objects.map { $0["kind"] as? String } == ["call", "transition", "call"])
        #expect(objects[1]["failures"] as? Int == 1 && objects[1]["actor"] is NSNull)
        let acme = try await CLI.run(["export", "--tenant", "acme", "--db", db]).text
        #expect(!acme.contains("globex"))
    }

    @Test func alertsExitWithStatusTwoWhenSomethingFires() async throws {
        var lines: [String] = []
        for t in ["a", "b", "c"] {
            lines.append(callLine("2026-11-28T10:00:00Z", t, "web_search", "t", latency: 0, result: "error"))
        }
        for i in 0..<30 { lines.append(callLine("2026-11-28T10:09:\(String(format: "%02d", i))Z", "a", "web_search", "t\(i)")) }
        let (_, db) = try await store(lines, config: #"{"defaults": {"failureThreshold": 1, "openTimeoutMs": 3600000}}"#)
        let r = try await CLI.run(["alerts", "--at", "end", "--db", db])
        #expect(r.status == 2)
        #expect(r.text.contains("global_outage") && r.text.contains("open_too_long") && r.text.contains("blocked_rate"))
        let quiet = try await CLI.run([
            "alerts", "--open-minutes", "60", "--blocked-pct", "100", "--at", "2026-11-28T09:00:00Z", "--db", db,
        ])
        #expect(quiet.status == 0 && quiet.text == "no alerts\n")
    }

    /// The hot-path benchmark prints exactly the object the contract names; --breakdown adds
    /// the parts it compares, all positive.
    @Test func theHotPathBenchmarkPrintsItsJSONObject() async throws {
        let r = try await CLI.run(["bench", "hot-path", "--keys", "7", "--calls", "2000"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        #expect(Set(object.keys) == ["scenario", "calls", "keys", "ns_per_call"])
        #expect(object["scenario"] as? String == "hot-path")
        #expect(object["calls"] as? Int == 2000 && object["keys"] as? Int == 7)
        #expect((object["ns_per_call"] as? Double ?? 0) > 0)

        let b = try await CLI.run(["bench", "hot-path", "--keys", "7", "--calls", "2000", "--breakdown"])
        #expect(b.status == 0, "\(b.stderr)")
        let parts = try #require(try JSONSerialization.jsonObject(with: b.stdout) as? [String: Any])
        for field in ["ns_per_call", "machine_only_ns_per_call", "wall_clock_read_ns", "clock_gettime_ns", "lock_round_trip_ns"] {
            #expect((parts[field] as? Double ?? 0) > 0, "\(field)")
        }
        let both = try await CLI.run(["bench", "hot-path", "--machine-only", "--breakdown"])
        #expect(both.status == 64 && both.stderr.contains("exclude each other"))

        // What wrapping a call costs an embedding process: the real `breaker.call`, by names and handles.
        let call = try await CLI.run(["bench", "call", "--keys", "7", "--calls", "2000"])
        #expect(call.status == 0, "\(call.stderr)")
        let wrapped = try #require(try JSONSerialization.jsonObject(with: call.stdout) as? [String: Any])
        #expect(wrapped["scenario"] as? String == "call" && wrapped["calls"] as? Int == 2000 && wrapped["keys"] as? Int == 7)
        for field in ["ns_per_call", "handles_ns_per_call", "admit_complete_ns"] {
            #expect((wrapped[field] as? Double ?? 0) > 0, "\(field)")
        }
        #expect(
            (wrapped["ns_per_call"] as? Double ?? 0) > (wrapped["admit_complete_ns"] as? Double ?? .infinity),
            "a call does more than its admit and complete")
    }

    /// `bench serve --compare-http` drives, in the same run, the minimal endpoint on the same
    /// server stack and prints the share of that ceiling serve reaches.
    @Test func theServeBenchmarkComparesServeWithItsHTTPCeiling() async throws {
        let r = try await CLI.run([
            "bench", "serve", "--connections", "1", "--duration", "0.5", "--paced-rate", "100", "--compare-http",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        // On a loaded test machine a half-second phase may answer nothing; the figures' presence
        // and the ratio's definition are what this checks, not the machine's speed.
        let serve = try #require(o["pairs_per_s"] as? Int)
        let http = try #require(o["http_pairs_per_s"] as? Int)
        #expect(serve >= 0 && http >= 0 && o["http_p99_us"] is Int, "\(o)")
        let ratio = try #require(o["ratio_to_http"] as? Double)
        #expect(
            abs(ratio - Double(serve) / Double(max(1, http))) < 0.01 + 1 / Double(max(1, http)),
            "ratio_to_http is pairs_per_s over http_pairs_per_s: \(o)")
        let plain = try await CLI.run(["bench", "serve", "--connections", "1", "--duration", "0.3", "--paced-rate", "100"])
        #expect(plain.status == 0 && !plain.text.contains("http_pairs_per_s"), "without the flag, no ceiling phase")
    }

    /// `bench log` prints its rate beside raw SQLite's in the same run and their ratio.
    @Test func theLogBenchmarkPrintsItsRatioToRawSQLite() async throws {
        let r = try await CLI.run(["bench", "log", "--calls", "3000"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let logged = try #require(o["calls_per_s"] as? Int)
        let raw = try #require(o["raw_sqlite_rows_per_s"] as? Int)
        let ratio = try #require(o["ratio_to_raw"] as? Double)
        #expect(logged > 0 && raw > 0, "\(o)")
        #expect(abs(ratio - Double(logged) / Double(raw)) < 0.01, "ratio_to_raw is calls_per_s over raw_sqlite_rows_per_s: \(o)")
    }

    @Test func theDemoWritesItsReportsAuditsAndCharts() async throws {
        let dir = scratchDirectory
        let r = try await CLI.run(["demo", "--output", dir + "/out"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text.contains("web_search") && r.text.contains("forced_hold") && r.text.contains("globex"))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/out")
        #expect(files.contains("sla-report.csv") && files.contains("index.html") && files.contains("audit-acme.csv"))
        #expect(files.filter { $0.hasPrefix("chart-") }.count == 24)
        // Its tenants have objectives; the one that spent the most of its budget gets a chart.
        let budgets = files.filter { $0.hasPrefix("budget-") && $0.hasSuffix(".svg") }
        #expect(budgets.count == 1, "\(budgets)")
        let svg = try String(contentsOfFile: dir + "/out/" + budgets[0], encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("<polyline") && svg.contains("objective 90 % over 1 d"))
        let page = try String(contentsOfFile: dir + "/out/index.html", encoding: .utf8)
        #expect(page.contains("Error budget of"))
        // The page opens with the story: the tenant × hour heatmap, then each tool's timeline,
        // before any per-tenant chart.
        let heatmap = try #require(page.range(of: "<table class=\"heatmap\">"))
        let timeline = try #require(page.range(of: "class=\"timeline\""))
        let firstTenantChart = try #require(page.range(of: "affected vs total agent turns per hour"))
        #expect(heatmap.lowerBound < timeline.lowerBound && timeline.lowerBound < firstTenantChart.lowerBound)
        #expect(page.components(separatedBy: "<tr data-tenant=").count - 1 == 24, "a heatmap row per tenant")
        // The demo runs 09:00–11:30: the 11:00 hour is partial, in the heatmap and in each chart.
        #expect(page.contains("<th class=\"partial\">11:00–11:30, partial</th>"))
        let acme = try String(contentsOfFile: dir + "/out/chart-acme.svg", encoding: .utf8)
        #expect(acme.contains("11:00–11:30 partial") && !acme.contains("10:00–"), "only the last hour is partial")
        // The timeline: web_search held open and released by on-call, the configuration change at 11:02.
        #expect(page.contains("10:03 held open by oncall") && page.contains("10:27 released by oncall"))
        #expect(page.contains("11:02 configuration changed by"))
        // The date is on every chart.
        let svgs = page.components(separatedBy: "<svg").dropFirst()
        #expect(svgs.count == 26 && svgs.allSatisfy { $0.contains("2026-11-2") }, "every chart carries its date")
        #expect(try await CLI.run(["verify", "--db", dir + "/out/demo.sqlite"]).status == 0)
    }
}

/// SPEC §9: a key still out of CLOSED counts open time up to the report's end or to now,
/// whichever is earlier — never time that has not happened yet.
@Suite(.temporaryDirectory) struct OpenTimeTests {
    @Test func openTimeOfALiveStoreStopsAtNowNotAtTheEndOfTheHour() async throws {
        let dir = scratchDirectory
        // A key that opened two seconds ago (the trace is written in wall-clock time) and stays open.
        let opened = Int64(Date().timeIntervalSince1970 * 1000) - 2_000
        let lines = (0..<5).map { i in
            #"{"at": \#(opened - 5 + Int64(i)), "tenant": "acme", "tool": "search", "turn": "t\#(i)", "latency_ms": 0, "result": "error"}"#
        }
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", try writeTrace(dir, lines), "--db", db]).status == 0)
        let report = try await CLI.run(["report", "--tenant", "acme", "--format", "json", "--db", db])
        let rows = try JSONSerialization.jsonObject(with: report.stdout) as? [[String: Any]] ?? []
        let openSeconds = rows.compactMap { $0["open_seconds"] as? Double }.reduce(0, +)
        let elapsed = Double(Int64(Date().timeIntervalSince1970 * 1000) - opened) / 1000
        #expect(openSeconds > 0 && openSeconds <= elapsed + 0.01, "open \(openSeconds) s, but only \(elapsed) s have passed")
    }
}

/// A tenant the store has never seen is an error naming the closest names, not an empty report.
@Suite(.temporaryDirectory) struct UnknownTenantTests {
    @Test func aMistypedTenantNamesTheClosestKnownOnesAndExitsOne() async throws {
        let dir = scratchDirectory
        let lines =
            ["acme", "acme-eu", "globex", "initech"].map { callLine("2026-11-28T10:00:00Z", $0, "search", "t") }
            + [#"{"at": "2026-11-28T10:01:00Z", "op": "reset", "tool": "search", "tenant": "umbrella", "actor": "a", "reason": "r"}"#]
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", try writeTrace(dir, lines), "--db", db]).status == 0)
        let r = try await CLI.run(["report", "--tenant", "acem", "--db", db])
        #expect(r.status == 1 && r.text.isEmpty, "\(r.text)")
        #expect(r.stderr.contains("tenant \"acem\" is not in") && r.stderr.contains("closest: acme, acme-eu, globex"), "\(r.stderr)")
        // Named only by an operator action: the store has seen it (its audit lists the action).
        #expect(try await CLI.run(["report", "--tenant", "umbrella", "--db", db]).status == 0)
        let audit = try await CLI.run(["audit", "--tenant", "umbrella", "--db", db])
        #expect(audit.status == 0 && audit.text.contains("reset"), "\(audit.stderr)")
        #expect(try await CLI.run(["report", "--tenant", "globex", "--db", db]).status == 0)
    }

    @Test(arguments: [["audit"], ["export"], ["status"], ["slo"], ["audit", "--turn", "t"]])
    func everyCommandReadingOneTenantRefusesAMistypedOne(command: [String]) async throws {
        let dir = scratchDirectory
        let lines = ["acme", "globex"].map { callLine("2026-11-28T10:00:00Z", $0, "search", "t") }
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", try writeTrace(dir, lines), "--db", db]).status == 0)
        let r = try await CLI.run(command + ["--tenant", "acem", "--db", db])
        #expect(r.status == 1 && r.text.isEmpty, "\(r.text)")
        #expect(r.stderr.contains("tenant \"acem\" is not in") && r.stderr.contains("closest: acme, globex"), "\(r.stderr)")
        if command != ["slo"] {
            let known = try await CLI.run(command + ["--tenant", "acme", "--db", db])
            #expect(known.status == 0 && !known.text.isEmpty, "\(known.stderr)")
        }
    }
}
