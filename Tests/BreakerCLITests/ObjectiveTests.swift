import BreakerCore
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import Testing

/// SPEC §16's formulas and alert rules on literal values.
@Suite struct ObjectiveFormulaTests {
    typealias W = ObjectiveStatus.BurnWindow

    static func status(
        objective: Double = 99.5, windowDays: Int = 30, minTurns: Int = 10, turns: Int64 = 1000, bad: Int64 = 2,
        _ windows: [W: (Int64, Int64)] = [:]
    ) -> ObjectiveStatus {
        ObjectiveStatus(
            tenant: try! TenantID("acme"), at: Timestamp(milliseconds: 0),
            objective: ServiceLevelObjective(objective: objective, windowDays: windowDays, minTurns: minTurns), turns: turns,
            badTurns: bad, windows: windows.mapValues { ObjectiveStatus.Window(turns: $0.0, bad: $0.1) })
    }

    @Test func theBudgetBurnRatesAndTimeToExhaustionHaveTheirLiteralValues() {
        // 99.5 % of 1000 turns: a budget of 5 bad turns; 2 spent leaves 0.6.
        let s = Self.status(turns: 1000, bad: 2, [.oneHour: (100, 10), .fiveMinutes: (10, 0)])
        #expect(abs(s.budget - 5) < 1e-9)
        #expect(abs(s.budgetRemaining - 0.6) < 1e-9)
        // 10 % bad in the last hour against 0.5 % allowed: 20× the sustainable rate.
        #expect(abs(s.burn(.oneHour) - 20) < 1e-9)
        #expect(s.burn(.fiveMinutes) == 0 && s.burn(.threeDays) == 0, "a window with no bad turn, or no turn, burns 0")
        // 30 days × 24 h × 0.6 ÷ 20 = 21.6 h.
        #expect(abs(s.timeToExhaustionHours! - 21.6) < 1e-9)
        #expect(
            s.fields == [
                "acme", "99.5000", "30", "1000", "2", "0.6000", "0.0000", "0.0000", "20.0000", "0.0000", "0.0000", "21.6000", "ok",
            ])
        let overspent = Self.status(turns: 1000, bad: 15, [.oneHour: (100, 10)])
        #expect(abs(overspent.budgetRemaining - -2) < 1e-9, "15 bad of a budget of 5: −2")
        #expect(overspent.timeToExhaustionHours == 0, "an overspent budget is exhausted now")
    }

    @Test func aTenantWithNoTurnsHasItsWholeBudgetAndNoTimeToExhaustion() {
        let s = Self.status(turns: 0, bad: 0)
        #expect(s.budgetRemaining == 1 && s.timeToExhaustionHours == nil && s.status == .ok)
        #expect(s.fields.suffix(2) == ["", "ok"])
    }

    /// Objective 99: 1 % allowed, so b bad of 1000 turns burns b ÷ 10.
    static func burning(_ pairs: [W: Int64], turns: Int64 = 1000, minTurns: Int = 10) -> ObjectiveStatus {
        status(objective: 99, minTurns: minTurns, turns: 100_000, bad: 0, pairs.mapValues { (turns, $0) })
    }

    @Test func thePageRulesFireAtTheirThresholdAndNotBelow() {
        #expect(Self.burning([.oneHour: 144, .fiveMinutes: 144]).status == .page, "1 h and 5 min at 14.4")
        #expect(Self.burning([.oneHour: 143, .fiveMinutes: 1000]).status == .ok, "1 h at 14.3")
        #expect(Self.burning([.oneHour: 1000, .fiveMinutes: 143]).status == .ok, "5 min at 14.3")
        #expect(Self.burning([.sixHours: 60, .thirtyMinutes: 60]).status == .page, "6 h and 30 min at 6")
        #expect(Self.burning([.sixHours: 59, .thirtyMinutes: 1000]).status == .ok, "6 h at 5.9")
        #expect(Self.burning([.sixHours: 1000, .thirtyMinutes: 59]).status == .ok, "30 min at 5.9 (no 3 d: no ticket)")
        let page = Self.burning([.sixHours: 60, .thirtyMinutes: 60]).firing
        #expect(page.map(\.long) == [.sixHours] && page.map(\.short) == [.thirtyMinutes])
    }

    @Test func theTicketRuleFiresAtItsThresholdAndNotBelow() {
        #expect(Self.burning([.threeDays: 10, .sixHours: 10]).status == .ticket, "3 d and 6 h at 1")
        #expect(Self.burning([.threeDays: 9, .sixHours: 1000]).status == .ok, "3 d at 0.9, however hot 6 h is")
        #expect(Self.burning([.threeDays: 9, .sixHours: 10]).status == .ok, "3 d at 0.9")
        #expect(Self.burning([.threeDays: 10, .sixHours: 9]).status == .ok, "6 h at 0.9")
        #expect(Self.burning([.threeDays: 1000, .sixHours: 1000, .oneHour: 1000, .fiveMinutes: 1000]).status == .page, "page wins")
    }

    @Test func aWindowWithFewerThanMinTurnsNeverAlerts() {
        // Every turn bad, but 9 turns in the short window against minTurns 10.
        let few = Self.status(
            objective: 99, minTurns: 10, turns: 100, bad: 0, [.oneHour: (100, 100), .fiveMinutes: (9, 9), .threeDays: (100, 0)])
        #expect(few.status == .ok)
        let enough = Self.status(
            objective: 99, minTurns: 10, turns: 100, bad: 0, [.oneHour: (100, 100), .fiveMinutes: (10, 10), .threeDays: (100, 0)])
        #expect(enough.status == .page)
        let longFew = Self.status(objective: 99, minTurns: 10, turns: 100, bad: 0, [.oneHour: (9, 9), .fiveMinutes: (100, 100)])
        #expect(longFew.status == .ok, "the long window counts too")
    }
}

/// `breakerctl slo` on a store: the windows' edges, bad = degraded, before any turn, and an
/// independent computation over random traces.
@Suite(.temporaryDirectory) struct ObjectiveCommandTests {
    typealias Object = [String: Any]

    func slo(_ db: String, _ args: [String]) async throws -> [Object] {
        let r = try await CLI.run(["slo", "--db", db, "--format", "json"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONSerialization.jsonObject(with: r.stdout) as? [Object] ?? []
    }

    static let day = "2026-11-28T"

    /// Turns of one call each at the edges of the windows ending 10:00, bad when degraded.
    func edgeStore() async throws -> String {
        // Turns of one call each, latency 0, so each begins exactly at its call.
        let day = Self.day
        let turns: [(String, String)] = [
            ("04:00:00.000", "error"), ("04:00:00.001", "ok"), ("09:00:00.000", "error"), ("09:00:00.001", "ok"),
            ("09:55:00.000", "error"), ("09:55:00.001", "error"), ("10:00:00.000", "ok"), ("10:00:00.001", "error"),
        ]
        let lines = turns.enumerated().map { i, t in
            let error = t.1 == "error" ? ", \"error\": \"Unavailable\"" : ""
            return
                #"{"at": "\#(day)\#(t.0)Z", "tenant": "acme", "tool": "search", "turn": "t\#(i)", "latency_ms": 0, "result": "\#(t.1)"\#(error)}"#
        }
        let dir = scratchDirectory
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/t.jsonl", atomically: true, encoding: .utf8)
        try #"{"defaults": {"failureThreshold": 100}, "slo": {"objective": 99, "windowDays": 1, "bad": "degraded", "minTurns": 1}}"#
            .write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", dir + "/t.jsonl", "--config", dir + "/c.json", "--db", db]).status == 0)
        return db
    }

    @Test func eachWindowIsOpenAtItsStartAndClosedAtItsEnd() async throws {
        let db = try await edgeStore()
        let (dir, day) = (scratchDirectory, Self.day)
        let rows = try await slo(db, ["--all", "--at", "\(day)10:00:00.000Z"])
        let acme = try #require(rows.first)
        // 5 min (09:55:00.000, 10:00]: 1 bad of 2. 30 min: 2 of 3. 1 h (09:00:00.000, 10:00]: 2 of 4.
        // 6 h (04:00:00.000, 10:00] — whole hours 05–09 from the rollups: 3 of 6. 3 d and the day: 4 of 7.
        #expect(acme["burn_5m"] as? Double == 50)
        #expect(acme["burn_30m"] as? Double == 66.6667)
        #expect(acme["burn_1h"] as? Double == 50)
        #expect(acme["burn_6h"] as? Double == 50)
        #expect(acme["burn_3d"] as? Double == 57.1429)
        #expect(acme["turns"] as? Int == 7 && acme["bad_turns"] as? Int == 4)
        #expect(acme["budget_remaining"] as? Double == -56.1429)
        #expect(acme["status"] as? String == "page")
        let before = try await slo(db, ["--all", "--at", "2026-11-27T00:00:00Z"])
        #expect(before.first?["turns"] as? Int == 0 && before.first?["status"] as? String == "ok")
        #expect(before.first?["time_to_exhaustion_hours"] is NSNull, "no burn, no time to exhaustion")
        // Blocked, the default: no turn was blocked.
        try #"{"slo": {"objective": 99, "windowDays": 1, "minTurns": 1}}"#.write(toFile: dir + "/b.json", atomically: true, encoding: .utf8)
        #expect(try await CLI.run(["configure", "--config", dir + "/b.json", "--reason", "blocked", "--db", db]).status == 0)
        let blocked = try await slo(db, ["--tenant", "acme", "--at", "\(day)10:00:00.000Z"])
        #expect(blocked.first?["bad_turns"] as? Int == 0 && blocked.first?["burn_5m"] as? Double == 0)
    }

    @Test func alertsPageAndTicketNamingTheRuleAndBothBurnRates() async throws {
        let db = try await edgeStore()
        let r = try await CLI.run(["alerts", "--db", db, "--at", "\(Self.day)10:00:00.000Z", "--format", "json"])
        #expect(r.status == 2, "\(r.stderr)")
        let alerts = try JSONSerialization.jsonObject(with: r.stdout) as? [Object] ?? []
        let slo = alerts.filter { ($0["alert"] as? String)?.hasPrefix("slo_") == true }
        #expect(
            slo.map { "\($0["alert"]!) \($0["tenant"]!) \($0["rule"]!)" } == [
                "slo_page acme 1h>=14.4 and 5m>=14.4", "slo_page acme 6h>=6 and 30m>=6", "slo_ticket acme 3d>=1 and 6h>=1",
            ])
        #expect(slo.first?["burn_rates"] as? [String: Double] == ["1h": 50, "5m": 50])
        let quiet = try await CLI.run(["alerts", "--db", db, "--at", "2026-11-27T00:00:00Z", "--format", "json"])
        #expect(quiet.status == 0 && quiet.text.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(quiet.text)")
    }

    @Test func reportDrawsTheBudgetOverTheWindowWithTheAlertsMarked() async throws {
        let db = try await edgeStore()
        let svg = scratchDirectory + "/acme.svg"
        let r = try await CLI.run(["report", "--tenant", "acme", "--chart", svg, "--db", db, "--to", "\(Self.day)11:00:00Z"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text.hasPrefix("tenant,hour_start"), "the report is still printed")
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        let points = text.components(separatedBy: "<polyline points=\"")[1].prefix { $0 != "\"" }.split(separator: " ")
        #expect(points.count == 240, "one point per sample over the day")
        // The window ends 10:59:59.999: the page alerts of 10:00 are long over, the ticket is not.
        let shaded = text.components(separatedBy: "<title>").dropFirst().map { $0.prefix { $0 != "<" } }
        #expect(shaded.contains { $0.hasSuffix(": page") } && shaded.contains { $0.hasSuffix(": ticket") }, "\(shaded.suffix(3))")
        #expect(text.contains("acme: error budget left, objective 99 % over 1 d (degraded turns)"))
        let all = try await CLI.run(["report", "--all", "--chart", svg, "--db", db])
        #expect(all.status == 64 && all.stderr.contains("--tenant"), "\(all.stderr)")
    }

    @Test func aTenantWithoutAnObjectiveIsToldHowToSetOne() async throws {
        let dir = scratchDirectory
        try #"{"at": "2026-11-28T10:00:00Z", "tenant": "acme", "tool": "search", "turn": "t", "latency_ms": 1, "result": "ok"}"#
            .write(toFile: dir + "/t.jsonl", atomically: true, encoding: .utf8)
        #expect(try await CLI.run(["simulate", dir + "/t.jsonl", "--db", dir + "/s.sqlite"]).status == 0)
        let r = try await CLI.run(["slo", "--tenant", "acme", "--db", dir + "/s.sqlite"])
        #expect(r.status == 1 && r.stderr.contains("has no objective") && r.stderr.contains("\"slo\""), "\(r.stderr)")
    }

    /// Per tenant, from an export: each turn's first call time and whether it was blocked or
    /// degraded — computed here, from the call records, not from the store's bookkeeping.
    static func turns(_ db: String) throws -> [String: [(at: Int64, blocked: Bool, degraded: Bool)]] {
        var first: [String: (tenant: String, at: Int64, blocked: Bool, degraded: Bool)] = [:]
        var order: [String] = []
        for line in try CLI.process(["export", "--db", db]).text.split(separator: "\n") {
            guard let r = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? Object, r["kind"] as? String == "call",
                let turn = r["turn"] as? String
            else { continue }
            let tenant = r["tenant"] as! String
            let key = tenant + "\u{0}" + turn
            let outcome = r["outcome"] as! String
            var t = first[key] ?? (tenant, (r["ts"] as! NSNumber).int64Value, false, false)
            if first[key] == nil { order.append(key) }
            t.blocked = t.blocked || outcome == "rejected"
            t.degraded = t.degraded || ["rejected", "failure", "timeout"].contains(outcome)
            first[key] = t
        }
        var out: [String: [(at: Int64, blocked: Bool, degraded: Bool)]] = [:]
        for key in order {
            let t = first[key]!
            out[t.tenant, default: []].append((t.at, t.blocked, t.degraded))
        }
        return out
    }

    @Test(arguments: [201, 202, 203])
    func sloAgreesWithAnIndependentComputationOverRandomTraces(seed: UInt64) async throws {
        let dir = scratchDirectory
        let trace = RandomWorkload.trace(seed: seed, lines: 12_000, tenants: 3, tools: 2)
        let text = trace.lines.compactMap { line -> String? in
            guard case .call(let c) = line else { return nil }
            let result: String
            switch c.result {
            case .ok: result = #""result": "ok""#
            case .error: result = #""result": "error""#
            case .hang, .unknown: result = #""result": "hang""#
            }
            let latency = c.latencyMs.map { #", "latency_ms": \#($0)"# } ?? ""
            return
                #"{"at": \#(c.at.milliseconds), "tenant": "\#(c.tenant.rawValue)", "tool": "\#(c.tool.rawValue)", "turn": "\#(c.turn.rawValue)", \#(result)\#(latency)}"#
        }.joined(separator: "\n")
        try (text + "\n").write(toFile: dir + "/t.jsonl", atomically: true, encoding: .utf8)
        let objective = 95.0
        try
            #"{"defaults": {"failureThreshold": 3}, "slo": {"objective": 95, "windowDays": 1, "minTurns": 1}, "tenants": {"tenant-1": {"slo": {"objective": 95, "windowDays": 1, "bad": "degraded", "minTurns": 1}}}}"#
            .write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
        let db = dir + "/s.sqlite"
        let sim = try await CLI.run(["simulate", dir + "/t.jsonl", "--config", dir + "/c.json", "--db", db])
        #expect(sim.status == 0, "\(sim.stderr)")
        let turns = try Self.turns(db)
        let start = trace.lines.first!.at.milliseconds
        let end = trace.lines.last!.at.milliseconds
        var blockedSomewhere = false
        for at in stride(from: start + 600_000, through: end + 600_000, by: Int((end - start) / 5)) {
            let rows = try await slo(db, ["--all", "--at", String(at)])
            #expect(rows.map { $0["tenant"] as? String } == ["tenant-0", "tenant-1", "tenant-2"])
            for row in rows {
                let tenant = row["tenant"] as! String
                let degraded = tenant == "tenant-1"
                let all = turns[tenant] ?? []
                func counts(_ w: Int64) -> (Int, Int) {
                    let inside = all.filter { $0.at > at - w && $0.at <= at }
                    return (inside.count, inside.filter { degraded ? $0.degraded : $0.blocked }.count)
                }
                func burn(_ w: Int64) -> Double {
                    let (n, bad) = counts(w)
                    return n == 0 ? 0 : (Double(bad) / Double(n)) / (1 - objective / 100)
                }
                let round4 = { (v: Double) in Double(String(format: "%.4f", v))! }
                let (n, bad) = counts(86_400_000)
                blockedSomewhere = blockedSomewhere || (!degraded && bad > 0)
                #expect(row["turns"] as? Int == n && row["bad_turns"] as? Int == bad, "\(tenant) at \(at)")
                for (label, w) in [("5m", 300_000), ("30m", 1_800_000), ("1h", 3_600_000), ("6h", 21_600_000), ("3d", 259_200_000)]
                    as [(String, Int64)]
                {
                    #expect(row["burn_" + label] as? Double == round4(burn(w)), "\(tenant) at \(at): burn_\(label)")
                }
            }
        }
        #expect(blockedSomewhere, "the traces block turns, so the comparison means something")
    }
}

/// The worked example of `reports/slo.md` is what `breakerctl` prints: the trace of
/// `reports/whatif.md` under the objective shown.
@Suite(.temporaryDirectory) struct ObjectiveDocumentTests {
    @Test func theWorkedExampleIsWhatBreakerctlPrints() async throws {
        let blocks = { (file: String) throws -> [String] in
            try String(contentsOf: CLI.packageRoot.appendingPathComponent(file), encoding: .utf8)
                .components(separatedBy: "```\n").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        }
        let trace = try blocks("reports/whatif.md")[0]
        let doc = try blocks("reports/slo.md")
        try #require(doc.count == 4)
        let dir = scratchDirectory
        try trace.write(toFile: dir + "/trace.jsonl", atomically: true, encoding: .utf8)
        try doc[0].write(toFile: dir + "/objective.json", atomically: true, encoding: .utf8)
        let db = dir + "/o.sqlite"
        #expect(try await CLI.run(["simulate", dir + "/trace.jsonl", "--config", dir + "/objective.json", "--db", db]).status == 0)
        #expect(try await CLI.run(["slo", "--all", "--at", "2026-11-28T10:20:00Z", "--db", db]).text == doc[1])
        #expect(try await CLI.run(["alerts", "--at", "2026-11-28T10:20:00Z", "--format", "json", "--db", db]).text == doc[2])
        #expect(try await CLI.run(["slo", "--all", "--db", db]).text == doc[3])
    }
}
