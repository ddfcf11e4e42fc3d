import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The timeline of what the breaker did for a tenant, and why (CSV).",
        discussion: """
            With --tenant: the tenant's transitions, the operator actions naming it or all tenants,
            and the global-outage events in which its key was open, in log order:
              ts,tenant,tool,event,from_state,to_state,cause,failures,calls,p95_ms,actor,reason
            With --turn: that turn's calls (why did this turn fail?).

            Examples:
              breakerctl audit --tenant acme --tool web_search --from 2026-11-28T10:00:00Z
              breakerctl audit --tenant acme --turn t-1234

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @Option(help: ArgumentHelp("The tenant.", valueName: "tenant"))
    var tenant: String?

    @Option(help: ArgumentHelp("Only this tool.", valueName: "tool"))
    var tool: String?

    @Option(help: ArgumentHelp("Only records at or after this time.", valueName: "ts"))
    var from: String?

    @Option(help: ArgumentHelp("Only records before this time.", valueName: "ts"))
    var to: String?

    @Option(help: ArgumentHelp("List the calls of this turn instead.", valueName: "id"))
    var turn: String?

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if tenant == nil && turn == nil { throw ValidationError("say whose timeline: --tenant NAME (or --turn ID for one turn's calls)") }
        let f = try from.map { try parseTime($0, option: "--from") }
        let t = try to.map { try parseTime($0, option: "--to") }
        if let f, let t, f >= t { throw ValidationError("--from must be before --to") }
    }

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openReader(path: store.path)
            if let turn {
                writeOut(try TurnAudit(store: s, turn: turn, tenant: try tenant.map { try parseName($0, option: "--tenant") }).csv)
                return
            }
            let timeline = try AuditTimeline(
                store: s, tenant: try parseName(tenant!, option: "--tenant"), tool: try tool.map { try parseName($0, option: "--tool") },
                from: try from.map { try parseTime($0, option: "--from") },
                to: try to.map { try parseTime($0, option: "--to") })
            writeOut(timeline.csv)
        }
    }
}
