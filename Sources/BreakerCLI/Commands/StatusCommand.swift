import ArgumentParser
import BreakerCore
import BreakerStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Every key's state, rebuilt from the log.",
        discussion: """
            Rebuilds the state machine from the store (latest snapshot plus the records after it)
            and prints each (tenant, tool) key: state, generation, when it opened, the open timeout
            in force, and the calls and failures in its window. Works while an owner writes; the
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
            let machine = try s.rebuild().machine
            let only = try tenant.tenantID
            let lines = machine.keys.filter { only == nil || $0.tenant == only }.sorted().map {
                StatusLine(key: $0, status: machine.status(of: $0)!)
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

/// One key of `status`: the JSON object (SPEC §11: tenant, tool, state, generation and more) and
/// the table row.
struct StatusLine: Encodable {
    let key: BreakerKey
    let status: KeyStatus

    enum Keys: String, CodingKey {
        case tenant, tool, state, generation
        case openedAt = "opened_at"
        case openTimeoutMs = "open_timeout_ms"
        case probeSuccesses = "probe_successes"
        case windowCalls = "window_calls"
        case windowFailures = "window_failures"
    }

    /// When it opened; none for a CLOSED key.
    var openedAt: Timestamp? { status.state == .closed ? nil : status.openedAt }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(key.tenant.rawValue, forKey: .tenant)
        try c.encode(key.tool.rawValue, forKey: .tool)
        try c.encode(status.state.name, forKey: .state)
        try c.encode(status.generation, forKey: .generation)
        try c.encode(openedAt?.iso8601, forKey: .openedAt)
        try c.encode(status.currentOpenTimeoutMs, forKey: .openTimeoutMs)
        try c.encode(status.probeSuccesses, forKey: .probeSuccesses)
        try c.encode(status.windowCalls, forKey: .windowCalls)
        try c.encode(status.windowFailures, forKey: .windowFailures)
    }

    static let header = ["TENANT", "TOOL", "STATE", "GEN", "OPENED AT", "OPEN TIMEOUT", "WINDOW CALLS", "FAILURES"]

    var cells: [String] {
        [
            key.tenant.rawValue, key.tool.rawValue, status.state.name, String(status.generation), openedAt?.iso8601 ?? "-",
            "\(status.currentOpenTimeoutMs) ms", String(status.windowCalls), String(status.windowFailures),
        ]
    }
}
