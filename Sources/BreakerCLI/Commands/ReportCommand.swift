import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Per-tenant affected agent turns per hour (the SLA report, CSV or JSON).",
        discussion: """
            One row per tenant and UTC hour, every hour of the range (empty hours included):
              tenant,hour_start,turns,turns_blocked,turns_degraded,calls,calls_blocked,calls_failed,calls_timed_out,open_seconds,availability_pct
            A turn belongs to the hour of its first call; turns_blocked had a call rejected by an open
            circuit; availability_pct = share of turns not blocked (empty when no turns).
            Default range: the tenant's first to last hour with a call or transition.

            Examples:
              breakerctl report --tenant acme --from 2026-11-28T00:00:00Z --to 2026-11-29T00:00:00Z > acme.csv
              breakerctl report --all --format json
              breakerctl report --tenant=-leading-dash

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @OptionGroup var tenant: TenantFilterOption

    @Flag(help: "Report every tenant.")
    var all = false

    @OptionGroup var range: HourRangeOptions

    @Option(help: "Output format: csv or json.")
    var format: ReportFormat = .csv

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if tenant.tenant == nil && !all { throw ValidationError("say which tenant: --tenant NAME, or --all for every tenant") }
        if tenant.tenant != nil && all { throw ValidationError("--tenant and --all exclude each other; give one") }
    }

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openReader(path: store.path)
            let report = try s.slaReport(tenant: tenant.tenant, from: try range.fromHour, to: try range.toHour)
            if let first = report.rows.map(\.hourStart).min(), let last = report.rows.map(\.hourStart).max() {
                noteGaps(try s.logGaps(from: first, to: last.adding(milliseconds: 3_600_000)))
            }
            try writeText(format == .csv ? report.csv : JSONOutput.array(report.jsonRows), to: output)
        }
    }
}

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case csv, json
}
