import BreakerCore
import BreakerReports
import Foundation
import Testing

/// The report functions over rows and records, without a store.
@Suite struct ReportFunctionTests {
    let acme = try! TenantID("acme")
    let globex = try! TenantID("globex")
    let search = try! ToolID("web_search")
    let crm = try! ToolID("crm")

    static func at(_ text: String) -> Timestamp { Timestamp(iso8601: text)! }

    func transition(_ ts: String, _ tenant: TenantID, _ tool: ToolID, _ from: CircuitState, _ to: CircuitState, _ cause: TransitionCause)
        -> TransitionRecord
    {
        TransitionRecord(time: Self.at(ts), tenant: tenant, tool: tool, from: from, to: to, cause: cause, generation: 1)
    }

    @Test(
        arguments: [
            (CallResult.success, TurnFlags()), (.cancelled, TurnFlags()), (.timeout, TurnFlags.degraded),
            (.failure(try! ErrorType("E")), .degraded), (.rejected(.circuitOpen), [.blocked, .degraded]),
        ] as [(CallResult, TurnFlags)])
    func aCallGivesItsTurnTheFlagsOfSPEC9(result: CallResult, flags: TurnFlags) {
        #expect(TurnFlags(result) == flags)
    }

    @Test func anHourCountsTurnsOnceAndFlagsThatGrowLater() {
        var tally = HourlyTally()
        tally.count(newTurn: [])
        tally.count(turnGrewFrom: [], to: .degraded)
        tally.count(turnGrewFrom: .degraded, to: [.blocked, .degraded])
        tally.count(turnGrewFrom: [.blocked, .degraded], to: [.blocked, .degraded])
        for r in [CallResult.success, .rejected(.forcedOpen), .timeout, .failure(try! ErrorType("E")), .cancelled] { tally.count(call: r) }
        #expect(
            tally
                == HourlyTally(turns: 1, turnsBlocked: 1, turnsDegraded: 1, calls: 5, callsBlocked: 1, callsFailed: 1, callsTimedOut: 1))
    }

    @Test func openSecondsSplitAcrossHoursAndRunToTheReportsEndWhenStillOpen() {
        let transitions = [
            transition("2026-11-28T10:59:00Z", acme, search, .closed, .open, .failureThreshold),
            transition("2026-11-28T11:01:30Z", acme, search, .open, .halfOpen, .openTimeoutElapsed),
            transition("2026-11-28T11:02:00Z", acme, search, .halfOpen, .closed, .probeSucceeded),
            transition("2026-11-28T11:30:00Z", acme, crm, .closed, .forcedOpen, .forcedHold),
        ]
        let report = SLAReport(
            counts: [], transitions: transitions, tenant: acme, from: Self.at("2026-11-28T10:00:00Z"), to: Self.at("2026-11-28T13:00:00Z"))
        #expect(report.rows.map(\.openMs) == [60_000, 120_000 + 1_800_000, 3_600_000])
        #expect(report.rows.map(\.hourStart.iso8601Seconds) == ["2026-11-28T10:00:00Z", "2026-11-28T11:00:00Z", "2026-11-28T12:00:00Z"])
    }

    @Test func theDefaultRangeRunsFromTheFirstToTheLastHourOfTheTenantsRecords() {
        let counts = [
            HourlyCounts(tenant: acme, hour: Self.at("2026-11-28T09:00:00Z"), tally: HourlyTally()),
            HourlyCounts(tenant: globex, hour: Self.at("2026-11-28T12:00:00Z"), tally: HourlyTally()),
        ]
        let transitions = [transition("2026-11-28T11:10:00Z", acme, search, .closed, .open, .slowCalls)]
        let report = SLAReport(counts: counts, transitions: transitions, tenant: nil)
        #expect(report.rows.filter { $0.tenant == acme }.count == 3, "09:00, 10:00 (empty) and 11:00")
        #expect(report.rows.filter { $0.tenant == globex }.count == 1)
    }

    @Test(arguments: [(7, 4, "42.86"), (3, 0, "100.00"), (3, 3, "0.00"), (6, 1, "83.33"), (0, 0, "")] as [(Int64, Int64, String)])
    func availabilityIsRoundedHalfUpToHundredthsOfAPercent(turns: Int64, blocked: Int64, text: String) {
        var row = SLAReport.Row(tenant: acme, hourStart: Self.at("2026-11-28T10:00:00Z"))
        row.tally = HourlyTally(
            turns: turns, turnsBlocked: blocked, turnsDegraded: 0, calls: 0, callsBlocked: 0, callsFailed: 0, callsTimedOut: 0)
        #expect(row.availabilityText == text)
    }

    @Test func rowsAreSortedByTheBytesOfTheTenantsName() {
        let names = ["caf\u{E9}", "cafe\u{301}", "Zed", "apple"].map { try! TenantID($0) }
        let counts = names.map { HourlyCounts(tenant: $0, hour: Self.at("2026-11-28T10:00:00Z"), tally: HourlyTally()) }
        let order = SLAReport(counts: counts, transitions: [], tenant: nil).rows.map { Array($0.tenant.rawValue.utf8) }
        #expect(order == names.map { Array($0.rawValue.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func anAuditListsAGlobalOutageOnlyWhileTheTenantsKeyWasOpen() {
        let records: [BreakerEvent] = [
            .globalOutage(GlobalOutageRecord(time: Self.at("2026-11-28T10:00:00Z"), tool: search, tenants: 3)),
            .transition(transition("2026-11-28T10:01:00Z", acme, search, .closed, .open, .failureThreshold)),
            .globalOutage(GlobalOutageRecord(time: Self.at("2026-11-28T10:02:00Z"), tool: search, tenants: 4)),
            .operatorAction(
                OperatorRecord(
                    time: Self.at("2026-11-28T10:03:00Z"), tenant: nil, tool: search, op: .forceOpenHold, actor: "oncall", reason: "=cmd")),
        ]
        let audit = AuditTimeline(records: records)
        #expect(audit.rows.map { $0[3] } == ["transition", "global_outage", "operator"])
        #expect(audit.csv.contains(",'=cmd\r\n"), "a field starting with = is prefixed with '")
        let later = AuditTimeline(records: records, from: Self.at("2026-11-28T10:02:00Z"))
        #expect(later.rows.map { $0[3] } == ["global_outage", "operator"], "state is tracked from the start, rows filtered")
    }

    @Test func theAlertRulesFireOnTheConfiguredThresholdAndTheirOwnSpans() throws {
        let c = try BreakerConfiguration(json: #"{"defaults": {"globalOutageTenants": 2}, "tools": {"crm": {"globalOutageTenants": 3}}}"#)
        let now = Self.at("2026-11-28T10:30:00Z")
        let inputs = AlertInputs(
            at: now, configuration: c,
            states: [
                BreakerKey(tenant: acme, tool: search): .open, BreakerKey(tenant: globex, tool: search): .forcedOpen,
                BreakerKey(tenant: acme, tool: crm): .open, BreakerKey(tenant: globex, tool: crm): .open,
            ],
            notClosedSince: [BreakerKey(tenant: acme, tool: crm): now.milliseconds - 6 * 60_000],
            calls: [acme: (all: 40, blocked: 5), globex: (all: 10, blocked: 10)])
        let alerts = AlertRules(openMs: 5 * 60_000, blockedPct: 10, windowMs: 15 * 60_000, minCalls: 20).evaluate(inputs)
        #expect(alerts.map(\.alert) == ["global_outage", "open_too_long", "blocked_rate"])
        #expect(alerts[0].tool == "web_search", "crm has 2 of the 3 tenants its threshold asks")
        #expect(alerts[2].tenant == "acme", "globex has fewer calls than the minimum")
    }

    @Test func exportLinesHaveTheFieldsOfTheirKindInOrderWithNulls() throws {
        let call = ExportLine(
            seq: 7,
            event: .call(
                CallRecord(
                    time: Timestamp(milliseconds: 5), tenant: acme, tool: search, turn: nil, result: .rejected(.circuitOpen),
                    latencyUs: nil,
                    generation: 2, probe: false, stale: false)))
        #expect(
            try JSONText.encode(call)
                == #"{"seq":7,"ts":5,"kind":"call","tenant":"acme","tool":"web_search","turn":null,"outcome":"rejected","reason":"circuit_open","latency_us":null,"generation":2,"probe":false,"stale":false,"shadow":null}"#
        )
        let shadow = ExportLine(
            seq: 8,
            event: .call(
                CallRecord(
                    time: Timestamp(milliseconds: 6), tenant: acme, tool: search, turn: try TurnID("t-1"), result: .success,
                    latencyUs: 1_500, generation: 2, probe: false, stale: false, shadow: .forcedOpen)))
        #expect(
            try JSONText.encode(shadow)
                == #"{"seq":8,"ts":6,"kind":"call","tenant":"acme","tool":"web_search","turn":"t-1","outcome":"success","reason":null,"latency_us":1500,"generation":2,"probe":false,"stale":false,"shadow":"forced_open"}"#
        )
        let gap = ExportLine(
            seq: 8, event: .logGap(LogGapRecord(from: Timestamp(milliseconds: 10), to: Timestamp(milliseconds: 20), dropped: 3)))
        #expect(try JSONText.encode(gap) == #"{"seq":8,"ts":10,"kind":"log_gap","from":10,"to":20,"dropped":3}"#)
    }

    @Test func jsonTextEscapesAndKeepsBytes() throws {
        struct Sample: Encodable {
            let name: String
            let ratio: Double
            let list: [Int?]
        }
        let text = try JSONText.encode(Sample(name: "a\"b\\c\u{1}/\u{E9}", ratio: 0.25, list: [1, nil]))
        #expect(text == #"{"name":"a\"b\\c\u0001/é","ratio":0.25,"list":[1,null]}"#)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["name"] as? String == "a\"b\\c\u{1}/\u{E9}")
        #expect(throws: EncodingError.self) { try JSONText.encode(Sample(name: "", ratio: .nan, list: [])) }
    }
}
