import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore
import Foundation

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Check the three alert conditions; exit 2 when any fires (for cron and monitoring).",
        discussion: """
            global_outage       a tool is OPEN or FORCED_OPEN for at least --global-tenants tenants at once
            open_too_long       a circuit has been out of CLOSED for more than --open-minutes
                                (its recovery probes are not succeeding)
            blocked_rate        a tenant's rejected calls exceed --blocked-pct % of its calls over the
                                last --window-minutes (with at least --min-calls calls)

            "Now" is the time of the newest record in the store (or --at), so a store written by a
            simulation is judged at its own end.

            Examples:
              breakerctl alerts
              breakerctl alerts --open-minutes 10 --blocked-pct 5 --format json

            Exit codes: 0 nothing fires; 2 at least one alert fires; 1 cannot read the store; 64 bad arguments.
            """)

    @Option(help: "Tenants open on one tool at once that make a global outage.") var globalTenants = 3
    @Option(help: "Minutes out of CLOSED before a circuit alerts.") var openMinutes = 5.0
    @Option(help: "Blocked-call share, percent, that alerts.") var blockedPct = 10.0
    @Option(help: "Minutes of calls the blocked rate is computed over.") var windowMinutes = 15.0
    @Option(help: "Fewest calls in the window for the blocked rate to count.") var minCalls = 20
    @Option(help: ArgumentHelp("Judge at this time instead of the newest record.", valueName: "ts")) var at: String?
    @Option(help: "Output format: table or json.") var format: StatusFormat = .table
    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard globalTenants >= 1 else { throw ValidationError("--global-tenants must be at least 1") }
        guard openMinutes > 0, windowMinutes > 0 else { throw ValidationError("--open-minutes and --window-minutes must be positive") }
        guard blockedPct >= 0, blockedPct <= 100 else { throw ValidationError("--blocked-pct is a percentage from 0 to 100") }
    }

    func run() async throws {
        let alerts = try await reportingErrors { () async throws -> [Alert] in
            let s = try EventStore.openReader(path: store.path)
            let now = try at.map { try parseTime($0, option: "--at") } ?? s.latestTime() ?? Timestamp(milliseconds: 0)
            return try AlertCheck(
                globalTenants: globalTenants, openMs: Int64(openMinutes * 60_000), blockedPct: blockedPct,
                windowMs: Int64(windowMinutes * 60_000), minCalls: minCalls
            ).evaluate(store: s, at: now)
        }
        switch format {
        case .json:
            writeOut(
                "["
                    + alerts.map {
                        "{\"alert\":\"\($0.kind)\",\"tenant\":\(JSON.string($0.tenant)),\"tool\":\(JSON.string($0.tool)),\"detail\":\(JSON.string($0.detail))}"
                    }.joined(separator: ",\n") + "]\n")
        case .table:
            if alerts.isEmpty {
                writeOut("no alerts\n")
            } else {
                writeOut(
                    Table.render(
                        [["ALERT", "TENANT", "TOOL", "DETAIL"]] + alerts.map { [$0.kind, $0.tenant ?? "*", $0.tool ?? "*", $0.detail] }))
            }
        }
        if !alerts.isEmpty { throw ExitCode(2) }
    }
}

struct Alert: Sendable, Hashable {
    var kind: String
    var tenant: String?
    var tool: String?
    var detail: String
}

/// The tutorial's three alert conditions over a store, judged at one time.
struct AlertCheck {
    var globalTenants: Int
    var openMs: Int64
    var blockedPct: Double
    var windowMs: Int64
    var minCalls: Int

    func evaluate(store: EventStore, at now: Timestamp) throws(BreakerError) -> [Alert] {
        var alerts: [Alert] = []
        let machine = try store.rebuild().machine
        var openByTool: [ToolID: [String]] = [:]
        for key in machine.keys {
            if machine.state(of: key)?.state.isOpen == true { openByTool[key.tool, default: []].append(key.tenant.rawValue) }
        }
        for (tool, tenants) in openByTool.sorted(by: { $0.key < $1.key }) where tenants.count >= globalTenants {
            alerts.append(
                Alert(kind: "global_outage", tenant: nil, tool: tool.rawValue, detail: "open for \(tenants.count) tenants at once"))
        }
        var leftClosed: [BreakerKey: Timestamp] = [:]
        for t in try store.transitions(tenant: nil) {
            let key = BreakerKey(tenant: t.tenant, tool: t.tool)
            if t.from == .closed { leftClosed[key] = t.time }
            if t.to == .closed { leftClosed[key] = nil }
        }
        for (key, since) in leftClosed.sorted(by: { $0.key < $1.key }) where now.milliseconds - since.milliseconds > openMs {
            let state = machine.state(of: key)?.state.rawValue ?? "?"
            alerts.append(
                Alert(
                    kind: "open_too_long", tenant: key.tenant.rawValue, tool: key.tool.rawValue,
                    detail: "\(state) since \(since.iso8601) (\((now.milliseconds - since.milliseconds) / 60_000) min)"))
        }
        var calls: [TenantID: (all: Int, blocked: Int)] = [:]
        try store.forEachEvent(
            EventFilter(
                from: Timestamp(milliseconds: now.milliseconds - windowMs), to: now.adding(milliseconds: 1), kinds: .calls, turnNames: false
            )
        ) { e in
            guard case .call(let c) = e.event else { return }
            var v = calls[c.tenant] ?? (0, 0)
            v.all += 1
            if c.outcome == .rejected { v.blocked += 1 }
            calls[c.tenant] = v
        }
        for (tenant, v) in calls.sorted(by: { $0.key < $1.key }) where v.all >= minCalls {
            let pct = Double(v.blocked) * 100 / Double(v.all)
            if pct > blockedPct {
                alerts.append(
                    Alert(
                        kind: "blocked_rate", tenant: tenant.rawValue, tool: nil,
                        detail:
                            "\(v.blocked) of \(v.all) calls blocked (\(String(format: "%.1f", pct)) %) in the last \(windowMs / 60_000) min"
                    ))
            }
        }
        return alerts
    }
}
