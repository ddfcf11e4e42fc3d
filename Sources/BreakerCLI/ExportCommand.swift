import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "The event log as JSON lines, in log order.",
        discussion: """
            One object a line with seq, ts (epoch ms) and kind (call, transition, operator,
            global_outage), plus the kind's fields (SPEC §11). With --tenant, only that tenant's
            records and the operator actions naming it or all tenants.

            Example:
              breakerctl export --tenant acme --from 2026-11-28T10:00:00Z > acme.jsonl

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @Option(help: ArgumentHelp("Only this tenant.", valueName: "tenant"))
    var tenant: String?

    @Option(help: ArgumentHelp("Only records at or after this time.", valueName: "ts"))
    var from: String?

    @Option(help: ArgumentHelp("Only records before this time.", valueName: "ts"))
    var to: String?

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openReader(path: store.path)
            let from = try from.map { try parseTime($0, option: "--from") }
            let to = try to.map { try parseTime($0, option: "--to") }
            noteGaps(try s.logGaps(from: from, to: to))
            var kinds = EventKinds.all
            if tenant != nil { kinds.subtract([.globalOutages, .logGaps]) }
            var buffer = ""
            try s.forEachEvent(
                EventFilter(
                    tenant: try tenant.map { try parseName($0, option: "--tenant") },
                    from: from,
                    to: to, kinds: kinds)
            ) { e in
                buffer += ExportLine.json(e)
                buffer += "\n"
                if buffer.utf8.count > 1 << 20 {
                    writeOut(buffer)
                    buffer = ""
                }
            }
            writeOut(buffer)
        }
    }
}
