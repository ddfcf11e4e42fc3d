import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerRuntime
import BreakerStore
import Foundation

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Check the alert conditions; exit 2 when any fires (for cron and monitoring).",
        discussion: """
            global_outage       a tool is OPEN or FORCED_OPEN for at least its configured
                                globalOutageTenants tenants at once
            open_too_long       a circuit has been out of CLOSED for more than --open-minutes
                                (its recovery probes are not succeeding)
            blocked_rate        a tenant's rejected calls exceed --blocked-pct % of its calls over the
                                last --window-minutes (with at least --min-calls calls)
            slo_page            a tenant's error budget burns at 14.4x over 1h and 5m,
                                or at 6x over 6h and 30m (SPEC §16; see breakerctl slo)
            slo_ticket          it burns at 1x or more over 3d and 6h

            The store is judged as it was at --at: states and transitions replayed from \
            the log up to that time. By default, and with --at now, that is the wall \
            clock's now: a circuit open since 06:44 with no traffic since 06:47 alerts \
            at 06:50. --at end judges the store at its newest record (a simulated \
            store at its own end).

            Examples:
              breakerctl alerts
              breakerctl alerts --at end --format json
              breakerctl alerts --at 2026-11-28T10:20:00Z --open-minutes 10 --blocked-pct 5

            Exit codes: 0 nothing fires; 2 at least one alert fires; 1 cannot read the store; 64 bad arguments.
            """)

    @Option(help: "Minutes out of CLOSED before a circuit alerts.") var openMinutes = 5.0
    @Option(help: "Blocked-call share, percent, that alerts.") var blockedPct = 10.0
    @Option(help: "Minutes of calls the blocked rate is computed over.") var windowMinutes = 15.0
    @Option(help: "Fewest calls in the window for the blocked rate to count.") var minCalls = 20
    @Option(
        help: ArgumentHelp(
            "Judge the store as it was then: now (the default), end (its newest record), or a UTC time or epoch ms.",
            valueName: "now|end|ts"))
    var at = "now"
    @Option(help: "Output format: table or json.") var format: TableFormat = .table
    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard openMinutes > 0, windowMinutes > 0 else { throw ValidationError("--open-minutes and --window-minutes must be positive") }
        guard blockedPct >= 0, blockedPct <= 100 else { throw ValidationError("--blocked-pct is a percentage from 0 to 100") }
        _ = try judgedTime()
    }

    /// The time `--at` names; `nil` for the store's newest record.
    func judgedTime() throws -> Timestamp? {
        switch at {
        case "now": return SystemWallClock().now
        case "end": return nil
        default: return try parseTime(at, option: "--at")
        }
    }

    func run() async throws {
        let alerts = try await reportingErrors { () async throws -> [Alert] in
            let s = try EventStore.openReader(path: store.path)
            let windowMs = Int64(windowMinutes * 60_000)
            let inputs = try s.alertInputs(at: try judgedTime(), windowMs: windowMs)
            let rules = AlertRules(openMs: Int64(openMinutes * 60_000), blockedPct: blockedPct, windowMs: windowMs, minCalls: minCalls)
            return rules.evaluate(inputs)
        }
        switch format {
        case .json:
            writeOut(JSONOutput.array(alerts))
        case .table:
            if alerts.isEmpty {
                writeOut("no alerts\n")
            } else {
                writeOut(
                    Table.render(
                        [["ALERT", "TENANT", "TOOL", "DETAIL"]] + alerts.map { [$0.alert, $0.tenant ?? "*", $0.tool ?? "*", $0.detail] }))
            }
        }
        if !alerts.isEmpty { throw ExitCode(2) }
    }
}
