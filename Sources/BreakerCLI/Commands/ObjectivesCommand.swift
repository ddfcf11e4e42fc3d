import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore

struct ObjectivesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slo",
        abstract: "Each tenant's error budget and burn rates against its objective (SPEC §16).",
        discussion: """
            A tenant's objective comes from the configuration: "slo" for every tenant, \
            "tenants": {"acme": {"slo": {...}}} for one. Turns are placed at their first \
            call; a turn is bad when blocked (or degraded, with "bad": "degraded").

            Over the window (at - windowDays, at]: turns, bad_turns and budget_remaining \
            (1 - bad / ((1 - objective/100) x turns); negative once overspent). Burn rate \
            over 5m, 30m, 1h, 6h, 3d: the bad share of the window's turns divided by \
            (1 - objective/100); 1 spends the budget exactly over the window.
            time_to_exhaustion_hours: at the last hour's burn rate. status: page (1h and \
            5m >= 14.4, or 6h and 30m >= 6), ticket (3d and 6h >= 1), else ok; a window \
            with fewer than minTurns turns never alerts.

            Counted from the store's turn bookkeeping and hourly rollups, not from the \
            call records. Default time: the store's last record.

            Examples:
              breakerctl slo --all
              breakerctl slo --tenant acme --at 2026-11-28T14:00:00Z --format json

            Exit codes: 0 done; 1 store problem or a tenant without an objective; 64 bad \
            arguments.
            """)

    @OptionGroup var tenant: TenantFilterOption

    @Flag(help: "Every tenant with an objective.")
    var all = false

    @Option(help: ArgumentHelp("As of this time (UTC, or epoch ms); default: the store's last record.", valueName: "ts"))
    var at: String?

    @Option(help: "Output format: table, csv or json.")
    var format: WhatIfFormat = .table

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if tenant.tenant == nil && !all { throw ValidationError("say which tenant: --tenant NAME, or --all for every tenant") }
        if tenant.tenant != nil && all { throw ValidationError("--tenant and --all exclude each other; give one") }
        if let at { _ = try parseTime(at, option: "--at") }
    }

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openReader(path: store.path)
            let configuration = try s.configurationInForce()
            if let t = tenant.tenant { try s.requireKnownTenant(t) }
            if let t = tenant.tenant, configuration.objective(for: t) == nil {
                throw BreakerError(
                    .invalidArgument,
                    "tenant \(t.rawValue) has no objective: set \"slo\" (every tenant) or \"tenants\": {\"\(t.rawValue)\": {\"slo\": {\"objective\": 99.5}}} with breakerctl configure"
                )
            }
            let statuses = try s.objectiveStatuses(
                tenant: tenant.tenant, configuration: configuration, at: try at.map { try parseTime($0, option: "--at") })
            if statuses.isEmpty && format != .json {
                printError("no tenant has an objective: set \"slo\" in the configuration (see breakerctl slo --help)")
            }
            switch format {
            case .csv: writeOut(CSV.line(ObjectiveStatus.columns) + statuses.map { CSV.line($0.fields) }.joined())
            case .table: writeOut(Table.render([ObjectiveStatus.columns] + statuses.map(\.fields)))
            case .json: writeOut(JSONOutput.array(statuses.map(ObjectiveStatus.JSONRow.init)))
            }
        }
    }
}
