import ArgumentParser
import BreakerCore
import BreakerRuntime
import BreakerStore
import Foundation

/// Options every operator action takes.
struct OperatorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The tool.", valueName: "tool"))
    var tool: String

    @Option(help: ArgumentHelp("Why (recorded in the log and the audit).", valueName: "text"))
    var reason: String

    @Option(help: ArgumentHelp("Who (default: $USER).", valueName: "name"))
    var actor: String?

    var actorName: String { actor ?? ProcessInfo.processInfo.environment["USER"] ?? "operator" }
}

/// Applies an operator action: through the running owner's inbox (taking effect within a
/// second), or, with no owner running, directly to the store.
enum OperatorRelay {
    static func apply(op: OperatorOp, tool: String, tenant: String?, actor: String, reason: String, storePath: String) async throws {
        let toolID = try ToolID(tool)
        let tenantID = try tenant.map { try TenantID($0) }
        if let pid = EventStore.currentOwner(of: storePath) {
            let id = try EventStore.submit(path: storePath, op: op, tool: tool, tenant: tenant, actor: actor, reason: reason)
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while ContinuousClock.now < deadline {
                if try !EventStore.isPending(path: storePath, id: id) {
                    printError(
                        "\(op.rawValue) \(tool)\(tenant.map { " for " + $0 } ?? " for all tenants") applied by the running owner (pid \(pid))"
                    )
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw BreakerError(
                .storeUnavailable,
                "the owner (pid \(pid)) has not applied the action within 5 s; it stays queued and will apply when the owner reads its inbox"
            )
        }
        let store = try EventStore.openOwner(path: storePath, mustExist: true)
        let writer = try EventLogWriter(store: store)
        let task = Task { try await writer.run() }
        let breaker = CircuitBreaker(machine: writer.rebuilt, sink: writer)
        switch op {
        case .forceOpen, .forceOpenHold:
            try await breaker.forceOpen(tool: toolID, tenant: tenantID, hold: op == .forceOpenHold, actor: actor, reason: reason)
        case .release:
            try await breaker.release(tool: toolID, tenant: tenantID, actor: actor, reason: reason)
        case .reset:
            try await breaker.reset(tenant: tenantID!, tool: toolID, actor: actor, reason: reason)
        }
        writer.close()
        try await task.value
        printError("\(op.rawValue) \(tool)\(tenant.map { " for " + $0 } ?? " for all tenants") recorded in \(storePath)")
    }
}

struct ForceOpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "force-open",
        abstract: "Open a tool's circuit for one tenant or all (a vendor outage).",
        discussion: """
            Without --tenant, every tenant's circuit for the tool opens, and tenants that call it
            later start open too. Without --hold the circuits probe again after their open timeout;
            with --hold they stay open until `breakerctl release`.

            If a process owns the store (e.g. `breakerctl load`), the action goes to it and takes
            effect within a second; otherwise it is applied to the store directly.

            Examples:
              breakerctl force-open --tool web_search --hold --reason "vendor status page: major outage" --actor oncall
              breakerctl force-open --tool crm_api --tenant acme --reason "quota exhausted"

            Exit codes: 0 applied; 1 failure; 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(help: ArgumentHelp("Only this tenant (default: all).", valueName: "tenant"))
    var tenant: String?
    @Flag(help: "Hold the circuits open until released.")
    var hold = false
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            try await OperatorRelay.apply(
                op: hold ? .forceOpenHold : .forceOpen, tool: options.tool, tenant: tenant, actor: options.actorName,
                reason: options.reason, storePath: store.path)
        }
    }
}

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Release a forced or open circuit: it goes to half-open and probes.",
        discussion: """
            Without --tenant, every tenant's circuit for the tool is released and the tool-wide
            force-open ends.

            Example:
              breakerctl release --tool web_search --reason "vendor recovered" --actor oncall

            Exit codes: 0 applied; 1 failure; 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(help: ArgumentHelp("Only this tenant (default: all).", valueName: "tenant"))
    var tenant: String?
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            try await OperatorRelay.apply(
                op: .release, tool: options.tool, tenant: tenant, actor: options.actorName, reason: options.reason,
                storePath: store.path)
        }
    }
}

struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Close one tenant's circuit for a tool at once.",
        discussion: """
            Example:
              breakerctl reset --tenant acme --tool crm_api --reason "quota raised" --actor am-jane

            Exit codes: 0 applied; 1 failure; 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(help: ArgumentHelp("The tenant.", valueName: "tenant"))
    var tenant: String
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            try await OperatorRelay.apply(
                op: .reset, tool: options.tool, tenant: tenant, actor: options.actorName, reason: options.reason,
                storePath: store.path)
        }
    }
}
