import ArgumentParser
import BreakerCore
import BreakerOwner
import BreakerRuntime
import BreakerStore
import Foundation
import Logging

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

/// Applies an operator action (SPEC §8): it is queued in the store's inbox, then applied by the
/// running owner within a second — or, with no owner running, by this process as the owner.
/// "Applied" is reported only once the operator record is durable (its inbox row goes in the same
/// transaction); if no owner applies it within `wait`, the CLI withdraws it and says so, or — when an
/// owner took it but could not record it yet — says that it stays queued.
enum OperatorRelay {
    static func apply(
        op: OperatorOp, tool: String, tenant: String?, actor: String, reason: String, storePath: String, wait: Duration
    ) async throws {
        _ = try parseName(tool, option: "--tool") as ToolID
        if let tenant { _ = try parseName(tenant, option: "--tenant") as TenantID }
        let what = "\(op.rawValue) \(tool)\(tenant.map { " for " + $0 } ?? " for all tenants")"
        // Checked before anything is queued: a bad store is refused and left as it was.
        try EventStore.checkWritable(path: storePath, mustExist: true)
        let id = try EventStore.submit(path: storePath, op: op, tool: tool, tenant: tenant, actor: actor, reason: reason)
        let deadline = ContinuousClock.now.advanced(by: wait)
        var appliedHere = false
        while true {
            switch try EventStore.inboxState(path: storePath, id: id) {
            case .applied:
                if appliedHere {
                    printError("\(what) recorded in \(storePath)")
                } else {
                    printError(
                        "\(what) applied by the running owner (\(EventStore.currentOwner(of: storePath).map { "pid " + $0 } ?? "now stopped"))"
                    )
                }
                return
            case .refused(let message):
                _ = try? EventStore.withdraw(path: storePath, id: id)
                throw BreakerError(.invalidOperation, "the owner refused \(what): \(message)")
            case .pending, .claimed:
                break
            }
            if EventStore.currentOwner(of: storePath) == nil {
                // No owner: apply everything queued (this action included) as the owner.
                do {
                    try await applyAsOwner(storePath)
                    appliedHere = true
                } catch let e as BreakerError where e.code == .storeLocked {
                    // Another process became the owner meanwhile: it applies the action.
                }
                continue
            }
            if ContinuousClock.now >= deadline {
                let pid = EventStore.currentOwner(of: storePath) ?? "?"
                if try EventStore.withdraw(path: storePath, id: id) {
                    throw BreakerError(
                        .storeUnavailable,
                        "the owner of \(storePath) (pid \(pid)) did not take \(what) within \(wait); it was withdrawn and not applied")
                }
                throw BreakerError(
                    .storeUnavailable,
                    "the owner of \(storePath) (pid \(pid)) took \(what) but has not made it durable within \(wait) (is its log failing? see `breakerctl status`); it stays queued and is recorded when the log accepts it, or by the next owner"
                )
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Opens the store as its owner, applies every queued action, makes them durable and closes.
    static func applyAsOwner(_ path: String) async throws {
        var options = StoreOwner.Options()
        options.mustExist = true
        options.logger = quietLogger
        let owner = try StoreOwner(path: path, options: options)
        try await owner.withWriter { breaker in
            try owner.applyInbox()
            try await breaker.flush()
        }
    }
}

/// How long an operator command waits for a running owner to apply its action.
struct WaitOption: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for a running owner to apply the action.", valueName: "seconds"))
    var wait: Double = 5

    func validate() throws {
        guard wait > 0, wait <= 3600 else { throw ValidationError("--wait must be between 0 and 3600 seconds") }
    }

    var duration: Duration { .milliseconds(Int64(wait * 1000)) }
}

struct ForceOpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "force-open",
        abstract: "Open a tool's circuit for one tenant or all (a vendor outage).",
        discussion: """
            Without --tenant, every tenant's circuit for the tool opens, and tenants that call it
            later start open too. Without --hold the circuits probe again after their open timeout;
            with --hold they stay open until `breakerctl release`.

            If a process owns the store (`breakerctl serve`, `load`, an application embedding the
            library), the action goes to it and takes effect within a second; "applied" is printed once
            its record is durable. With no owner running, it is applied to the store directly.

            Examples:
              breakerctl force-open --tool web_search --hold --reason "vendor status page: major outage" --actor oncall
              breakerctl force-open --tool crm_api --tenant acme --reason "quota exhausted"

            Exit codes: 0 applied (durable); 1 failure or not applied within --wait (said on standard
            error); 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(help: ArgumentHelp("Only this tenant (default: all).", valueName: "tenant"))
    var tenant: String?
    @Flag(help: "Hold the circuits open until released.")
    var hold = false
    @OptionGroup var waiting: WaitOption
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            try await OperatorRelay.apply(
                op: hold ? .forceOpenHold : .forceOpen, tool: options.tool, tenant: tenant, actor: options.actorName,
                reason: options.reason, storePath: store.path, wait: waiting.duration)
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

            Exit codes: 0 applied (durable); 1 failure or not applied within --wait (said on standard
            error); 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(help: ArgumentHelp("Only this tenant (default: all).", valueName: "tenant"))
    var tenant: String?
    @OptionGroup var waiting: WaitOption
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            try await OperatorRelay.apply(
                op: .release, tool: options.tool, tenant: tenant, actor: options.actorName, reason: options.reason,
                storePath: store.path, wait: waiting.duration)
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

            Exit codes: 0 applied (durable); 1 failure or not applied within --wait (said on standard
            error); 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(help: ArgumentHelp("The tenant.", valueName: "tenant"))
    var tenant: String
    @OptionGroup var waiting: WaitOption
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            try await OperatorRelay.apply(
                op: .reset, tool: options.tool, tenant: tenant, actor: options.actorName, reason: options.reason,
                storePath: store.path, wait: waiting.duration)
        }
    }
}
