import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "The event log as JSON lines, in log order.",
        discussion: """
            One object a line with seq, ts (epoch ms) and kind (call, transition, operator, \
            global_outage, log_gap, config, fleet), plus the kind's fields (SPEC §11). With
            --tenant, only that tenant's records and the operator actions naming it or all tenants.

            Example:
              breakerctl export --tenant acme --from 2026-11-28T10:00:00Z > acme.jsonl

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @OptionGroup var tenant: TenantFilterOption
    @OptionGroup var range: TimeRangeOptions
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openReader(path: store.path)
            if let t = tenant.tenant { try s.requireKnownTenant(t) }
            let (from, to) = (try range.fromTime, try range.toTime)
            noteGaps(try s.logGaps(from: from, to: to))
            let only = tenant.tenant
            var kinds = EventKinds.all
            // Global outages and gaps belong to no tenant.
            if only != nil { kinds.subtract([.globalOutages, .logGaps]) }
            var buffer = ""
            try s.forEachEvent(EventFilter(tenant: only, from: from, to: to, kinds: kinds)) { e in
                buffer += JSONOutput.line(ExportLine(seq: e.seq, event: e.event))
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
