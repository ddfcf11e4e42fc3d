import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Every key's state, rebuilt from the log.",
        discussion: """
            Rebuilds the state machine from the store (latest snapshot plus the records after it)
            and prints each (tenant, tool) key: state, generation, when it opened, the open timeout
            in force, and the calls and failures in its window. Works while an owner writes.

            Examples:
              breakerctl status
              breakerctl status --tenant acme --format json

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @Option(help: ArgumentHelp("Only this tenant.", valueName: "tenant"))
    var tenant: String?

    @Option(help: "Output format: table or json.")
    var format: StatusFormat = .table

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openReader(path: store.path)
            if let owner = EventStore.ownerStatus(of: store.path) {
                // The running owner's log health (SPEC §8): a failing log is never silent.
                printError("owner: pid \(owner.pid); \(owner.status)")
            }
            let machine = try s.rebuild().machine
            let only: TenantID? = try tenant.map { try parseName($0, option: "--tenant") }
            let keys = machine.keys.filter { only == nil || $0.tenant == only }.sorted()
            switch format {
            case .json:
                let items = keys.map { key -> String in
                    let st = machine.status(of: key)!
                    return
                        "{\"tenant\":\(JSON.string(key.tenant.rawValue)),\"tool\":\(JSON.string(key.tool.rawValue)),\"state\":\"\(st.state.rawValue)\",\"generation\":\(st.generation),\"opened_at\":\(st.state == .closed ? "null" : st.openedAt.map { JSON.string($0.iso8601) } ?? "null"),\"open_timeout_ms\":\(st.currentOpenTimeoutMs),\"probe_successes\":\(st.probeSuccesses),\"window_calls\":\(st.windowCalls),\"window_failures\":\(st.windowFailures)}"
                }
                writeOut("[" + items.joined(separator: ",\n") + "]\n")
            case .table:
                var rows = [["TENANT", "TOOL", "STATE", "GEN", "OPENED AT", "OPEN TIMEOUT", "WINDOW CALLS", "FAILURES"]]
                for key in keys {
                    let st = machine.status(of: key)!
                    rows.append([
                        key.tenant.rawValue, key.tool.rawValue, st.state.rawValue, String(st.generation),
                        st.state == .closed ? "-" : st.openedAt?.iso8601 ?? "-", "\(st.currentOpenTimeoutMs) ms", String(st.windowCalls),
                        String(st.windowFailures),
                    ])
                }
                writeOut(Table.render(rows))
                if keys.isEmpty { writeOut("(no keys yet)\n") }
            }
        }
    }
}

enum StatusFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Plain aligned text tables.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }
                .joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
