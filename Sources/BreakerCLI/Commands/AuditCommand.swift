import ArgumentParser
import BreakerCore
import BreakerFleet
import BreakerReports
import BreakerStore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The timeline of what the breaker did for a tenant, and why (CSV).",
        discussion: """
            With --tenant: the tenant's transitions, the operator actions naming it or all tenants, \
            the global-outage events in which its key was open, configuration changes and the \
            fleet episodes that reached its keys, in log order, with the columns ts, tenant, tool, \
            event, from_state, to_state, cause, failures, calls, p95_ms, actor, reason.
            With --turn: that turn's calls (why did this turn fail?).
            With --fleet: every node's timeline of the tenant, from the facts the \
            nodes published, merged in time order (ties by node, then log order), \
            with a first column node.

            Examples:
              breakerctl audit --tenant acme --tool web_search --from 2026-11-28T10:00:00Z
              breakerctl audit --tenant acme --turn t-1234
              breakerctl audit --tenant acme --fleet postgres://breaker@db.internal/fleet

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @OptionGroup var tenant: TenantFilterOption

    @Option(help: ArgumentHelp("Only this tool.", valueName: "tool"), transform: { try parseName($0) })
    var tool: ToolID?

    @OptionGroup var range: TimeRangeOptions

    @Option(help: ArgumentHelp("List the calls of this turn instead.", valueName: "id"))
    var turn: String?

    @OptionGroup var store: StoreOptions

    @OptionGroup(title: "Fleet") var fleet: FleetReadOptions

    func validate() throws {
        if tenant.tenant == nil && turn == nil {
            throw ValidationError("say whose timeline: --tenant NAME (or --turn ID for one turn's calls)")
        }
        if turn != nil && fleet.fleet != nil {
            throw ValidationError("--turn reads one store's calls, which never leave their node; give --db instead of --fleet")
        }
    }

    func run() async throws {
        try await reportingErrors {
            if let endpoint = try fleet.endpoint() {
                let audit = try await FleetAdmin.audit(
                    endpoint, tenant: tenant.tenant!, tool: tool, from: try range.fromTime, to: try range.toTime)
                writeOut(audit.csv)
                return
            }
            let s = try EventStore.openReader(path: store.path)
            if let t = tenant.tenant { try s.requireKnownTenant(t) }
            if let turn {
                writeOut(try s.turnAudit(turn: turn, tenant: tenant.tenant).csv)
                return
            }
            let timeline = try s.auditTimeline(
                tenant: tenant.tenant!, tool: tool, from: try range.fromTime,
                to: try range.toTime)
            writeOut(timeline.csv)
        }
    }
}
