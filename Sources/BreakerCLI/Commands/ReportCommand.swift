import ArgumentParser
import BreakerCore
import BreakerFleet
import BreakerReports
import BreakerStore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Per-tenant affected agent turns per hour (the SLA report, CSV or JSON).",
        discussion: """
            One row per tenant and UTC hour, every hour of the range (empty hours included), \
            with the columns tenant, hour_start, turns, turns_blocked, turns_degraded, calls, \
            calls_blocked, calls_failed, calls_timed_out, open_seconds, availability_pct. A turn belongs to the hour of its first call; turns_blocked had a call rejected by an open \
            circuit; availability_pct = share of turns not blocked (empty when no turns).
            --chart FILE.svg (with --tenant) also draws the tenant's error budget over its \
            objective's window, ending at --to or at the last record, alerts shaded.
            --shadow adds turns_would_block (turns with a shadow call: a key in shadow \
            would have blocked them) and calls_would_block (shadow calls).
            Default range: the tenant's first to last hour with a call or transition.

            With --fleet: the nodes' hourly rollups summed (a turn is counted by each \
            node that served a call of it; open_seconds in node-seconds). Standard \
            error says how far each node's rollups reach: the report equals the sum \
            of the nodes' own reports for the hours before the earliest of them (a \
            key still open counts its open time up to its node's last rollup).

            Examples:
              breakerctl report --tenant acme \\
                  --from 2026-11-28T00:00:00Z --to 2026-11-29T00:00:00Z > acme.csv
              breakerctl report --all --format json
              breakerctl report --tenant=-leading-dash
              breakerctl report --all --fleet postgres://breaker@db.internal/fleet

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @OptionGroup var tenant: TenantFilterOption

    @Flag(help: "Report every tenant.")
    var all = false

    @OptionGroup var range: HourRangeOptions

    @Option(help: "Output format: csv or json.")
    var format: ReportFormat = .csv

    @Flag(
        help: ArgumentHelp(
            "Add turns_would_block and calls_would_block: what keys in shadow (enforce: false) would have blocked."))
    var shadow = false

    @Option(
        help: ArgumentHelp(
            "Also draw --tenant's error budget over its objective's window, as SVG, into this file (SPEC §16).",
            valueName: "file.svg"))
    var chart: String?

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var store: StoreOptions

    @OptionGroup(title: "Fleet") var fleet: FleetReadOptions

    func validate() throws {
        if tenant.tenant == nil && !all { throw ValidationError("say which tenant: --tenant NAME, or --all for every tenant") }
        if tenant.tenant != nil && all { throw ValidationError("--tenant and --all exclude each other; give one") }
        if chart != nil && tenant.tenant == nil { throw ValidationError("--chart draws one tenant's budget: give --tenant NAME") }
        if chart != nil && fleet.fleet != nil { throw ValidationError("--chart reads one store (drop --fleet)") }
        if shadow && fleet.fleet != nil {
            throw ValidationError("--shadow reads one node's store; the fleet's rollups do not carry shadow counts (drop --fleet)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            if let endpoint = try fleet.endpoint() {
                let (report, lags) = try await FleetAdmin.report(
                    endpoint, tenant: tenant.tenant, from: try range.fromHour, to: try range.toHour)
                noteRollupLags(lags)
                try writeText(format == .csv ? report.csv : JSONOutput.array(report.jsonRows), to: output)
                return
            }
            let s = try EventStore.openReader(path: store.path)
            if let t = tenant.tenant { try s.requireKnownTenant(t) }
            var report = try s.slaReport(tenant: tenant.tenant, from: try range.fromHour, to: try range.toHour)
            report.shadowColumns = shadow
            if let first = report.rows.map(\.hourStart).min(), let last = report.rows.map(\.hourStart).max() {
                noteGaps(try s.logGaps(from: first, to: last.adding(milliseconds: 3_600_000)))
            }
            try writeText(format == .csv ? report.csv : JSONOutput.array(report.jsonRows), to: output)
            if let chart, let t = tenant.tenant {
                let configuration = try s.configurationInForce()
                guard let objective = configuration.objective(for: t) else {
                    throw BreakerError(
                        .invalidArgument,
                        "--chart: tenant \(t.rawValue) has no objective: set \"slo\" (every tenant) or \"tenants\": {\"\(t.rawValue)\": {\"slo\": {\"objective\": 99.5}}} with breakerctl configure"
                    )
                }
                let end = try range.toHour.map { $0.adding(milliseconds: -1) } ?? s.latestTime() ?? Timestamp(milliseconds: 0)
                let points = try Chart.budgetSampleTimes(at: end, windowDays: objective.windowDays).map { at throws(BreakerError) in
                    try s.objectiveStatus(tenant: t, objective: objective, at: at)
                }
                try writeText(Chart.budgetSVG(tenant: t.rawValue, points: points), to: chart)
            }
        }
    }
}

/// One line per node on standard error: how far its rollups reach.
func noteRollupLags(_ lags: [FleetRollupLag]) {
    for lag in lags {
        let state = lag.live ? "live" : "not live"
        guard let through = lag.through, let ago = lag.upsertedAgoMs else {
            printError("fleet: node \(lag.node) (\(state)) has published no rollups yet; its counts are missing")
            continue
        }
        printError(
            "fleet: node \(lag.node) (\(state)): rollups through \(through.iso8601Seconds), upserted \(CSV.seconds(milliseconds: ago)) s ago"
        )
    }
}

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case csv, json
}
