import BreakerTestSupport
import Foundation
import Testing

/// `breakerctl whatif` (SPEC §15): replays a store's calls under a candidate configuration.
@Suite(.temporaryDirectory) struct WhatIfTests {
    typealias Object = [String: Any]

    /// The records of an export, in log order.
    static func records(_ db: String) throws -> [Object] {
        try CLI.process(["export", "--db", db]).text.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? Object }
    }

    /// A trace made of a store's records as SPEC §15 says a what-if replays them, written by this
    /// test and not by the code under test: each call with a turn (not cancelled) admitted at its
    /// time less its latency with its result, operator actions and fleet records at their times;
    /// in that time order, ties in log order.
    static func trace(of records: [Object]) throws -> String {
        var lines: [(at: Int64, order: Int, line: Object)] = []
        for (i, r) in records.enumerated() {
            let ts = (r["ts"] as! NSNumber).int64Value
            switch r["kind"] as! String {
            case "call":
                guard let turn = r["turn"] as? String, r["outcome"] as! String != "cancelled" else { continue }
                let latencyMs = (r["latency_us"] as? NSNumber).map { $0.int64Value / 1000 } ?? 0
                var line: Object = ["tenant": r["tenant"]!, "tool": r["tool"]!, "turn": turn]
                switch r["outcome"] as! String {
                case "success": line["result"] = "ok"
                case "failure":
                    line["result"] = "error"
                    line["error"] = (r["reason"] as! String).replacingOccurrences(of: "tool_call_exception:", with: "")
                case "timeout": line["result"] = "hang"
                default: Issue.record("a shadow store recorded \(r)")
                }
                if line["result"] as! String != "hang" { line["latency_ms"] = latencyMs }
                let at = line["result"] as! String == "hang" ? ts - latencyMs : ts - latencyMs
                line["at"] = at
                lines.append((at, i, line))
            case "operator":
                let op = r["op"] as! String
                var line: Object = ["at": ts, "tool": r["tool"]!, "actor": r["actor"]!, "reason": r["reason"]!]
                line["op"] = op == "force_open_hold" ? "force_open" : op
                if op == "force_open_hold" { line["hold"] = true }
                if let tenant = r["tenant"] as? String { line["tenant"] = tenant }
                lines.append((ts, i, line))
            case "fleet":
                lines.append(
                    (
                        ts, i,
                        ["at": ts, "op": "fleet", "tenant": r["tenant"]!, "tool": r["tool"]!, "votes": r["votes"]!, "nodes": r["nodes"]!]
                    ))
            default:
                continue
            }
        }
        lines.sort { ($0.at, $0.order) < ($1.at, $1.order) }
        return try lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0.line), as: UTF8.self) }
            .joined(separator: "\n") + "\n"
    }

    /// Per key (`tenant|tool`) and in total (`*|*`): opens, rejected calls and blocked turns of a
    /// store, counted from its export (every record in range: no --from/--to).
    static func figures(_ records: [Object]) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        var blockedBy: [String: Set<String>] = [:]
        for r in records {
            guard let tenant = r["tenant"] as? String, let tool = r["tool"] as? String else { continue }
            let key = "\(tenant)|\(tool)"
            switch r["kind"] as! String {
            case "transition" where ["open", "forced_open"].contains(r["to"] as! String):
                out[key, default: [0, 0, 0]][0] += 1
            case "call" where r["outcome"] as! String == "rejected":
                out[key, default: [0, 0, 0]][1] += 1
                let turn = "\(tenant)|\(r["turn"] as! String)"
                if blockedBy[turn, default: []].insert(tool).inserted { out[key, default: [0, 0, 0]][2] += 1 }
            default:
                continue
            }
        }
        out["*|*"] = [
            out.values.map { $0[0] }.reduce(0, +), out.values.map { $0[1] }.reduce(0, +), blockedBy.count,
        ]
        return out
    }

    /// `whatif --format json` as rows keyed `tenant|tool`.
    static func whatIf(_ args: [String]) async throws -> [String: Object] {
        let r = try await CLI.run(["whatif", "--format", "json"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try JSONSerialization.jsonObject(with: r.stdout) as? [Object] ?? []
        return Dictionary(uniqueKeysWithValues: rows.map { ("\($0["tenant"]!)|\($0["tool"]!)", $0) })
    }

    /// A case's configuration with `changes` in `defaults`, as a file.
    static func configuration(of dir: URL, _ changes: Object, into path: String) throws {
        let file = dir.appendingPathComponent("config.json")
        var root: Object = [:]
        if FileManager.default.fileExists(atPath: file.path) {
            root = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! Object
        }
        var defaults = root["defaults"] as? Object ?? [:]
        for (k, v) in changes { defaults[k] = v }
        root["defaults"] = defaults
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
    }

    static var candidates: [Object] { [[:], ["failureThreshold": 3], ["failureThreshold": 8, "openTimeoutMs": 5000]] }

    @Test(arguments: ConformanceTests.cases)
    func overAStoreInShadowAnyCandidateEqualsSimulateOfItsCalls(name: String) async throws {
        let dir = CLI.conformance.appendingPathComponent(name)
        let shadowStore = scratchDirectory + "/shadow.sqlite"
        try ShadowConformanceTests.shadowConfiguration(of: dir, into: scratchDirectory + "/shadow.json")
        let simulated = try await CLI.run([
            "simulate", dir.appendingPathComponent("trace.jsonl").path, "--db", shadowStore, "--config", scratchDirectory + "/shadow.json",
        ])
        #expect(simulated.status == 0, "\(simulated.stderr)")
        let shadowRecords = try Self.records(shadowStore)
        #expect(!shadowRecords.contains { $0["outcome"] as? String == "rejected" }, "a store in shadow blocks nothing")
        let recorded = Self.figures(shadowRecords)
        let trace = scratchDirectory + "/replayed.jsonl"
        try Self.trace(of: shadowRecords).write(toFile: trace, atomically: true, encoding: .utf8)

        var rejectedSomething = false
        for (n, changes) in Self.candidates.enumerated() {
            let candidate = scratchDirectory + "/candidate-\(n).json"
            try Self.configuration(of: dir, changes, into: candidate)
            let store = scratchDirectory + "/candidate-\(n).sqlite"
            let run = try await CLI.run(["simulate", trace, "--db", store, "--config", candidate])
            #expect(run.status == 0, "\(run.stderr)")
            let expected = Self.figures(try Self.records(store))
            rejectedSomething = rejectedSomething || expected["*|*"]![1] > 0

            let rows = try await Self.whatIf(["--db", shadowStore, "--config", candidate])
            let total = try #require(rows["*|*"])
            #expect(total["would_reject_unknown"] as? Int == 0 && total["admitted_unknown"] as? Int == 0, "nothing is unknown")
            for key in Set(expected.keys).union(recorded.keys).union(rows.keys) {
                let e = expected[key] ?? [0, 0, 0]
                let r = recorded[key] ?? [0, 0, 0]
                guard let row = rows[key] else {
                    #expect(e == r, "\(name) \(changes): \(key) differs (\(r) → \(e)) but has no row")
                    continue
                }
                let got = [row["opens_candidate"], row["calls_rejected_candidate"], row["turns_blocked_candidate"]].map { $0 as? Int }
                #expect(got == e.map { Optional($0) }, "\(name) \(changes): \(key) candidate figures")
                let was = [row["opens_recorded"], row["calls_rejected_recorded"], row["turns_blocked_recorded"]].map { $0 as? Int }
                #expect(was == r.map { Optional($0) }, "\(name) \(changes): \(key) recorded figures")
                let failed = row["would_reject_failed"] as? Int ?? -1
                let succeeded = row["would_reject_succeeded"] as? Int ?? -1
                #expect(failed + succeeded == e[1], "\(name) \(changes): \(key) every rejection has a known outcome")
            }
        }
        #expect(rejectedSomething, "\(name): some candidate rejects calls, so the comparison means something")
    }

    @Test(arguments: ConformanceTests.cases)
    func withTheStoresOwnConfigurationEveryRecordedFigureComesBackAndEveryRejectionIsUnknown(name: String) async throws {
        let dir = CLI.conformance.appendingPathComponent(name)
        let store = scratchDirectory + "/case.sqlite"
        let config = dir.appendingPathComponent("config.json")
        let own = FileManager.default.fileExists(atPath: config.path) ? ["--config", config.path] : []
        #expect(try await CLI.run(["simulate", dir.appendingPathComponent("trace.jsonl").path, "--db", store] + own).status == 0)
        let recorded = Self.figures(try Self.records(store))
        // The configuration in force in the store, read by whatif itself: a sweep of one value
        // that changes nothing would hide no difference either, so ask with the file.
        let candidate = scratchDirectory + "/own.json"
        try Self.configuration(of: dir, [:], into: candidate)
        let rows = try await Self.whatIf(["--db", store, "--config", candidate])
        #expect(rows.keys.sorted() == ["*|*"], "\(name): no key differs")
        let total = try #require(rows["*|*"])
        let figures = ["opens", "calls_rejected", "turns_blocked"]
        for (i, f) in figures.enumerated() {
            #expect(total["\(f)_recorded"] as? Int == recorded["*|*"]![i], "\(name): \(f) recorded")
            #expect(total["\(f)_candidate"] as? Int == recorded["*|*"]![i], "\(name): \(f) candidate")
        }
        #expect(total["would_reject_unknown"] as? Int == recorded["*|*"]![1], "\(name): every rejection is unknown")
        #expect(total["would_reject_failed"] as? Int == 0 && total["would_reject_succeeded"] as? Int == 0)
        #expect(total["admitted_unknown"] as? Int == 0)
        #expect(recorded["*|*"]![1] > 0, "\(name) has rejections to replay")
    }

    /// Writes `lines` as a trace and simulates it with `config` into a new store.
    func store(_ lines: [String], config: String) async throws -> String {
        let trace = scratchDirectory + "/t.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: trace, atomically: true, encoding: .utf8)
        let cfg = scratchDirectory + "/c.json"
        try config.write(toFile: cfg, atomically: true, encoding: .utf8)
        let db = scratchDirectory + "/s.sqlite"
        let r = try await CLI.run(["simulate", trace, "--db", db, "--config", cfg])
        #expect(r.status == 0, "\(r.stderr)")
        return db
    }

    func candidate(_ json: String) throws -> String {
        let path = scratchDirectory + "/candidate.json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func call(_ s: Int, _ turn: String, _ result: String, latencyMs: Int = 100) -> String {
        let error = result == "error" ? ", \"error\": \"Unavailable\"" : ""
        return
            #"{"at": \#(1_795_860_000_000 + s * 1000), "tenant": "acme", "tool": "search", "turn": "\#(turn)", "latency_ms": \#(latencyMs), "result": "\#(result)"\#(error)}"#
    }

    @Test func aRecordedRejectionTheCandidateAdmitsIsUnknownAndNeverInTheWindow() async throws {
        // Five failures open the key; three calls are then rejected. A candidate that needs six
        // failures admits the three, which end as cancelled: counted as admitted_unknown, never
        // failures (if they were, the sixth would open the key).
        let lines = (0..<5).map { Self.call($0, "t\($0)", "error") } + (10..<13).map { Self.call($0, "r\($0)", "ok") }
        let db = try await store(lines, config: #"{"defaults": {"failureThreshold": 5, "openTimeoutMs": 60000}}"#)
        let rows = try await Self.whatIf([
            "--db", db, "--config", try candidate(#"{"defaults": {"failureThreshold": 6, "openTimeoutMs": 60000}}"#),
        ])
        let row = try #require(rows["acme|search"])
        let got = WhatIfTests.columns.map { row[$0] as? Int }
        #expect(got == [1, 0, 3, 0, 3, 0, 0, 0, 0, 3])
        #expect(rows["*|*"].map { r in WhatIfTests.columns.map { r[$0] as? Int } } == got)
    }

    @Test func anUnknownCallTheCandidateAdmitsAsAProbeFreesItsSlotAtOnce() async throws {
        // Recorded with one probe at a time: the probe at 20 s runs 5 s, the calls at 21 s and 22 s
        // are rejected (probe in flight). With two at a time, 21 s is admitted as a probe of
        // unknown outcome and ends at once, so 22 s finds a free slot and is admitted too.
        let lines =
            (0..<5).map { Self.call($0, "t\($0)", "error") } + [
                Self.call(20, "p", "ok", latencyMs: 5000), Self.call(21, "u", "ok"), Self.call(22, "v", "ok"),
            ]
        let settings = #""failureThreshold": 5, "openTimeoutMs": 10000, "successThreshold": 1, "callTimeoutMs": 30000"#
        let db = try await store(lines, config: #"{"defaults": {\#(settings), "halfOpenMaxInFlight": 1}}"#)
        let rows = try await Self.whatIf([
            "--db", db, "--config", try candidate(#"{"defaults": {\#(settings), "halfOpenMaxInFlight": 2}}"#),
        ])
        let row = try #require(rows["acme|search"])
        #expect(WhatIfTests.columns.map { row[$0] as? Int } == [1, 1, 2, 0, 2, 0, 0, 0, 0, 2])
    }

    @Test func aCandidateThatRejectsCallsThatRanSaysWhatTheyDid() async throws {
        // Recorded with a threshold nobody reaches; a candidate opening at 2 failures rejects
        // what came after: one failure and two successes, each counted by what it really did.
        let lines = [
            Self.call(0, "a", "error"), Self.call(1, "b", "error"), Self.call(2, "c", "error"), Self.call(3, "d", "ok"),
            Self.call(4, "d", "ok"),
        ]
        let db = try await store(lines, config: #"{"defaults": {"failureThreshold": 50, "openTimeoutMs": 60000}}"#)
        let rows = try await Self.whatIf([
            "--db", db, "--config", try candidate(#"{"defaults": {"failureThreshold": 2, "openTimeoutMs": 60000}}"#),
        ])
        let row = try #require(rows["acme|search"])
        // The key opens at 1.1 s (the second failure ends); c, d, d are rejected: turns c and d.
        #expect(WhatIfTests.columns.map { row[$0] as? Int } == [0, 1, 0, 3, 0, 2, 1, 2, 0, 0])
    }

    @Test func aTurnBlockedByTwoToolsCountsOnceInTheTotals() async throws {
        let crm = { (line: String) in line.replacingOccurrences(of: "\"search\"", with: "\"crm\"") }
        let lines =
            (0..<5).flatMap { [Self.call($0, "f\($0)", "error"), crm(Self.call($0, "g\($0)", "error"))] } + [
                Self.call(10, "x", "ok"), crm(Self.call(11, "x", "ok")),
            ]
        let db = try await store(lines, config: #"{"defaults": {"failureThreshold": 5, "openTimeoutMs": 60000}}"#)
        let rows = try await Self.whatIf(["--db", db, "--config", try candidate(#"{"defaults": {"failureThreshold": 50}}"#)])
        for key in ["acme|crm", "acme|search"] {
            #expect(rows[key].map { r in WhatIfTests.columns.map { r[$0] as? Int } } == [1, 0, 1, 0, 1, 0, 0, 0, 0, 1], "\(key)")
        }
        #expect(rows["*|*"].map { r in WhatIfTests.columns.map { r[$0] as? Int } } == [2, 0, 2, 0, 1, 0, 0, 0, 0, 2])
    }

    @Test func fromAndToCountOnlyTheirHoursAndWhatHappenedBeforeTheEnd() async throws {
        // An outage in each hour, of search then of mail: five failures open the key, three calls
        // are rejected. The turn "late" begins in the first hour (a crm call) and is blocked in
        // the second, so it belongs to the first.
        let tool = { (name: String, lines: [String]) in lines.map { $0.replacingOccurrences(of: "\"search\"", with: "\"\(name)\"") } }
        let outage = { (s: Int, tag: String) in
            (0..<5).map { Self.call(s + $0, "\(tag)f\($0)", "error") } + (10..<13).map { Self.call(s + $0, "\(tag)r\($0)", "ok") }
        }
        let lines =
            outage(0, "a") + tool("crm", [Self.call(3590, "late", "ok")]) + tool("mail", outage(3600, "b"))
            + tool("mail", [Self.call(3615, "late", "ok")])
        let db = try await store(lines, config: #"{"defaults": {"failureThreshold": 5, "openTimeoutMs": 60000}}"#)
        let candidate = try candidate(#"{"defaults": {"failureThreshold": 50}}"#)
        let total = { (args: [String]) async throws -> [Int?]? in
            try await Self.whatIf(["--db", db, "--config", candidate] + args)["*|*"].map { r in WhatIfTests.columns.map { r[$0] as? Int } }
        }
        #expect(try await total([]) == [2, 0, 7, 0, 7, 0, 0, 0, 0, 7])
        // Hour 11: mail's open, four rejected calls, three blocked turns (late's belongs to hour 10).
        #expect(try await total(["--from", "2026-11-28T11:00:00Z", "--to", "2026-11-28T12:00:00Z"]) == [1, 0, 4, 0, 3, 0, 0, 0, 0, 4])
        // Hour 10: search's open and three rejections; late is not blocked before 11:00.
        #expect(try await total(["--to", "2026-11-28T11:00:00Z"]) == [1, 0, 3, 0, 3, 0, 0, 0, 0, 3])
        let tenant = try await CLI.run(["whatif", "--db", db, "--config", candidate, "--tenant", "globex", "--format", "csv"])
        #expect(
            tenant.status == 0 && tenant.text.hasSuffix("\r\n*,*,0,0,0,0,0,0,0,0,0,0\r\n"),
            "another tenant's calls count nothing: \(tenant.text)")
    }

    static let columns = [
        "opens_recorded", "opens_candidate", "calls_rejected_recorded", "calls_rejected_candidate", "turns_blocked_recorded",
        "turns_blocked_candidate", "would_reject_failed", "would_reject_succeeded", "would_reject_unknown", "admitted_unknown",
    ]

    @Test func aSweepPrintsOneTotalsRowPerValue() async throws {
        let lines = (0..<6).map { Self.call($0, "t\($0)", "error") } + (6..<9).map { Self.call($0, "r\($0)", "ok") }
        let db = try await store(lines, config: #"{"defaults": {"failureThreshold": 50, "openTimeoutMs": 60000}}"#)
        let r = try await CLI.run(["whatif", "--db", db, "--sweep", "failureThreshold=2,5,50", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines2 = r.text.split(separator: "\r\n").map(String.init)
        #expect(lines2.first == "setting,value," + WhatIfTests.columns.joined(separator: ","))
        // 2: opens at the 2nd failure (1.1 s): 4 failures and 3 successes rejected. 5: opens at
        // 4.1 s: 1 failure and 3 successes. 50: the store's own behaviour.
        #expect(
            Array(lines2.dropFirst()) == [
                "failureThreshold,2,0,1,0,7,0,7,4,3,0,0", "failureThreshold,5,0,1,0,4,0,4,1,3,0,0",
                "failureThreshold,50,0,0,0,0,0,0,0,0,0,0",
            ])
    }

    @Test func aLongReplaySaysHowFarItIsOnStandardError() async throws {
        let lines = (0..<30).map { Self.call($0, "t\($0)", $0 % 3 == 0 ? "error" : "ok") }
        let db = try await store(lines, config: "{}")
        let r = try await CLI.run(["whatif", "--db", db, "--config", try candidate("{}"), "--progress-every", "10"])
        #expect(r.status == 0)
        #expect(
            r.stderr.split(separator: "\n").map(String.init)
                == [10, 20, 30].map { "whatif: \($0) records read (30 call records in the store)" },
            "\(r.stderr)")
        #expect(!r.text.contains("records read"), "progress stays off standard output")
    }

    @Test func badInputGetsAnErrorThatNamesTheFix() async throws {
        let db = try await store([Self.call(0, "a", "ok")], config: "{}")
        let noneGiven = try await CLI.run(["whatif", "--db", db])
        #expect(noneGiven.status == 64 && noneGiven.stderr.contains("--config FILE"), "\(noneGiven.stderr)")
        let unknown = try await CLI.run(["whatif", "--db", db, "--sweep", "failureTreshold=3,5"])
        #expect(unknown.status == 64 && unknown.stderr.contains("unknown setting \"failureTreshold\""), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("failureThreshold"), "the allowed settings are listed")
        let badValue = try await CLI.run(["whatif", "--db", db, "--sweep", "failureThreshold=3,zero"])
        #expect(badValue.status == 64 && badValue.stderr.contains("zero is not a value"), "\(badValue.stderr)")
        let refused = try await CLI.run(["whatif", "--db", db, "--sweep", "failureThreshold=3,0"])
        #expect(refused.status == 1 && refused.stderr.contains("failureThreshold=0"), "\(refused.stderr)")
        let invalid = try await CLI.run(["whatif", "--db", db, "--config", try candidate(#"{"defaults": {"windowMs": "long"}}"#)])
        #expect(invalid.status == 1 && invalid.stderr.contains("windowMs"), "\(invalid.stderr)")
        let notJSON = try await CLI.run(["whatif", "--db", db, "--config", try candidate("{defaults")])
        #expect(notJSON.status == 1 && notJSON.stderr.contains("candidate.json"), "\(notJSON.stderr)")
        let empty = scratchDirectory + "/empty.sqlite"
        try "\n".write(toFile: scratchDirectory + "/empty.jsonl", atomically: true, encoding: .utf8)
        #expect(try await CLI.run(["simulate", scratchDirectory + "/empty.jsonl", "--db", empty]).status == 0)
        let nothing = try await CLI.run(["whatif", "--db", empty, "--config", try candidate("{}")])
        #expect(nothing.status == 1 && nothing.stderr.contains("no call records"), "\(nothing.stderr)")
    }
}

/// The worked example of `reports/whatif.md` is what `breakerctl` does: its trace, simulated in
/// shadow, gives the report, audit, what-if and sweep printed there.
@Suite(.temporaryDirectory) struct WhatIfDocumentTests {
    @Test func theWorkedExampleIsWhatBreakerctlPrints() async throws {
        let text = try String(contentsOf: CLI.packageRoot.appendingPathComponent("reports/whatif.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "```\n").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        try #require(blocks.count == 7)
        let dir = scratchDirectory
        for (name, block) in [("trace.jsonl", blocks[0]), ("shadow.json", blocks[1]), ("candidate.json", blocks[4])] {
            try block.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        let db = dir + "/shadow.sqlite"
        let simulated = try await CLI.run(["simulate", dir + "/trace.jsonl", "--config", dir + "/shadow.json", "--db", db])
        #expect(simulated.status == 0, "\(simulated.stderr)")
        let lf = { (o: CLI.Output) in o.text.replacingOccurrences(of: "\r\n", with: "\n") }
        #expect(lf(try await CLI.run(["report", "--all", "--shadow", "--db", db])) == blocks[2])
        #expect(lf(try await CLI.run(["audit", "--tenant", "acme", "--db", db])) == blocks[3])
        #expect(try await CLI.run(["whatif", "--config", dir + "/candidate.json", "--db", db]).text == blocks[5])
        let sweep = try await CLI.run(["whatif", "--sweep", "failureThreshold=2,3,5,8", "--config", dir + "/candidate.json", "--db", db])
        #expect(sweep.text == blocks[6])
    }
}
