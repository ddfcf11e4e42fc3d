import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Every key's state, rebuilt from the log.",
        discussion: """
            Rebuilds the state machine from the store (latest snapshot plus the records after it) \
            and prints each (tenant, tool) key: state, generation, when it opened, the open timeout \
            in force, and the calls and failures in its window. Works while an owner writes; the \
            running owner's pid and the health of its log are printed on standard error.

            Examples:
              breakerctl status
              breakerctl status --tenant acme --format json

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @OptionGroup var tenant: TenantFilterOption

    @Option(help: "Output format: table or json.")
    var format: TableFormat = .table

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openReader(path: store.path)
            if let owner = EventStore.ownerStatus(of: store.path) {
                // The running owner's log health (SPEC §8): a failing log is never silent.
                printError("owner: pid \(owner.pid); \(owner.status)")
            }
            if let t = tenant.tenant { try s.requireKnownTenant(t) }
            let machine = try s.rebuild().machine
            let only = tenant.tenant
            let keys = machine.keys.filter { only == nil || $0.tenant == only }.sorted()
            let episodes = try s.episodes(of: Set(keys.filter { machine.status(of: $0)?.state != .closed }))
            let lines = keys.map {
                StatusLine(
                    key: $0, status: machine.status(of: $0)!, enforce: machine.configuration.settings(for: $0).enforce,
                    episode: episodes[$0])
            }
            switch format {
            case .json:
                writeOut(JSONOutput.array(lines))
            case .table:
                writeOut(Table.render([StatusLine.header] + lines.map(\.cells)))
                if lines.isEmpty { writeOut("(no keys yet)\n") }
            }
        }
    }
}
