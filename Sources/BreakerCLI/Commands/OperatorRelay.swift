import ArgumentParser
import BreakerCore
import BreakerFleet
import BreakerOwner
import BreakerRuntime
import BreakerStore

/// Applies an operator action or a configuration change (SPEC §2, §8): it is queued in the store's inbox, then applied by the
/// running owner within a second — or, with no owner running, by this process as the owner.
/// "Applied" is reported only once the operator record is durable (its inbox row goes in the same
/// transaction); if no owner applies it within `wait`, the CLI withdraws it and says so, or — when an
/// owner took it but could not record it yet — says that it stays queued.
enum OperatorRelay {
    static func apply(_ action: OperatorAction, storePath: String, wait: Duration, fleet: FleetScopeOptions) async throws {
        let whom = action.tenant.map { " for " + $0.rawValue } ?? " for all tenants"
        if let endpoint = try fleet.endpoint() {
            return try await byFleet("\(action.op.name) \(action.tool.rawValue)\(whom)", .operatorAction(action), endpoint, wait: wait)
        }
        try await relay("\(action.op.name) \(action.tool.rawValue)\(whom)", storePath: storePath, wait: wait) {
            try EventStore.submit(path: storePath, action: action)
        }
    }

    /// Changes the configuration of the store in use (SPEC §2) the same way: through its owner, or
    /// as the owner when none runs. `configuration` has been validated as a whole already.
    static func configure(
        _ configuration: BreakerConfiguration, actor: String, reason: String, storePath: String, wait: Duration,
        fleet: FleetScopeOptions
    ) async throws {
        if let endpoint = try fleet.endpoint() {
            return try await byFleet("configure", .configure(configuration, actor: actor, reason: reason), endpoint, wait: wait)
        }
        try await relay("configure", storePath: storePath, wait: wait) {
            try EventStore.submit(path: storePath, configuration: configuration, actor: actor, reason: reason)
        }
    }

    /// Records `action` as a fleet action (durable in PostgreSQL on return), then waits up to `wait`
    /// for the live nodes to apply it and says which have. Nodes down now apply it when they return.
    private static func byFleet(_ what: String, _ action: FleetAction, _ endpoint: FleetEndpoint, wait: Duration) async throws {
        let seq = try await FleetAdmin.submit(action, endpoint)
        printError("\(what) recorded as fleet action \(seq) in \(endpoint); every node applies it")
        let deadline = ContinuousClock.now.advanced(by: wait)
        while true {
            let (applied, pending) = try await FleetAdmin.applied(seq, endpoint)
            if pending.isEmpty || ContinuousClock.now >= deadline {
                printError("applied by \(applied.isEmpty ? "no node yet" : applied.joined(separator: ", "))")
                if !pending.isEmpty {
                    printError(
                        "not yet by the live nodes \(pending.joined(separator: ", ")) (they apply it in order, see `breakerctl fleet status`)"
                    )
                }
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Queues what `submit` writes to the inbox, then waits until it is applied and durable.
    private static func relay(
        _ what: String, storePath: String, wait: Duration, submit: () throws -> Int64
    ) async throws {
        // Checked before anything is queued: a bad store is refused and left as it was.
        try EventStore.checkWritable(path: storePath, mustExist: true)
        let id = try submit()
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
