import BreakerCore
import BreakerTestSupport

/// Drives a ``BreakerMachine`` directly, keeping every fact it decides.
struct Harness {
    var machine: BreakerMachine
    var facts: [Fact] = []
    /// The configuration the machine started with (a change replaces the machine's).
    var initialConfiguration: BreakerConfiguration

    init(_ overrides: SettingsOverride = SettingsOverride(), tools: [ToolID: SettingsOverride] = [:]) {
        initialConfiguration = try! BreakerConfiguration(defaults: overrides, tools: tools)
        machine = BreakerMachine(configuration: initialConfiguration)
    }

    static func machine(_ configuration: BreakerConfiguration) -> Harness {
        var h = Harness()
        h.machine = BreakerMachine(configuration: configuration)
        h.initialConfiguration = configuration
        return h
    }

    static func key(_ tenant: String = "acme", _ tool: String = "web_search") -> BreakerKey {
        BreakerKey(tenant: try! TenantID(tenant), tool: try! ToolID(tool))
    }

    static func t(_ ms: Int64) -> Timestamp { Timestamp(milliseconds: 1_795_852_800_000 + ms) }

    static let connectionError = try! ErrorType("ConnectionError")

    mutating func admit(_ key: BreakerKey, at ms: Int64, turn: String = "turn-1") -> Admission {
        machine.admit(key, turn: try! TurnID(turn), at: Self.t(ms), facts: &facts).result
    }

    mutating func permit(_ key: BreakerKey, at ms: Int64) -> Permit? {
        if case .admitted(let p) = admit(key, at: ms) { return p }
        return nil
    }

    @discardableResult
    mutating func complete(_ p: Permit, _ outcome: CallOutcome, at ms: Int64) -> Completion {
        machine.complete(p, outcome, at: Self.t(ms), facts: &facts).result
    }

    mutating func perform(_ op: OperatorOp, _ tool: ToolID, tenant: TenantID?, at ms: Int64, actor: String = "a", reason: String = "r") {
        machine.perform(
            OperatorAction(try! OperatorCommand(op: op, tenant: tenant), tool: tool, actor: actor, reason: reason), at: Self.t(ms),
            facts: &facts)
    }

    mutating func forceOpen(tool: ToolID, tenant: TenantID?, hold: Bool, actor: String, reason: String, at t: Timestamp) {
        let action = OperatorAction(
            hold ? .forceOpenHold(ActionTarget(tenant)) : .forceOpen(ActionTarget(tenant)), tool: tool, actor: actor, reason: reason)
        machine.perform(action, at: t, facts: &facts)
    }

    mutating func release(tool: ToolID, tenant: TenantID?, actor: String, reason: String, at t: Timestamp) {
        machine.perform(OperatorAction(.release(ActionTarget(tenant)), tool: tool, actor: actor, reason: reason), at: t, facts: &facts)
    }

    mutating func reset(tenant: TenantID, tool: ToolID, actor: String, reason: String, at t: Timestamp) {
        machine.perform(OperatorAction(.reset(tenant), tool: tool, actor: actor, reason: reason), at: t, facts: &facts)
    }

    /// Starts a health-check probe of `key` at `t`, as the prober does.
    mutating func beginHealthProbe(_ key: BreakerKey, at t: Timestamp) -> Permit? {
        machine.beginHealthProbe(machine.intern(key), at: t, facts: &facts).result
    }

    /// Admits and completes one call (admitted at `ms`, completing `latency` ms later).
    @discardableResult
    mutating func call(_ key: BreakerKey, at ms: Int64, _ result: Result = .ok, latency: Int64 = 100) -> Admission {
        let a = admit(key, at: ms)
        if case .admitted(let p) = a {
            switch result {
            case .ok: complete(p, .success(latencyUs: latency * 1000), at: ms + latency)
            case .fail: complete(p, .failure(errorType: Self.connectionError, latencyUs: latency * 1000), at: ms + latency)
            case .timeout: complete(p, .timeout, at: ms + p.callTimeoutMs)
            }
        }
        return a
    }

    enum Result { case ok, fail, timeout }

    func state(_ key: BreakerKey) -> KeyState? { machine.state(of: key) }

    /// The facts so far as named records.
    var events: [BreakerEvent] { facts.map { BreakerEvent($0, keys: machine) } }

    var transitions: [TransitionRecord] {
        events.compactMap { if case .transition(let t) = $0 { return t } else { return nil } }
    }

    var calls: [CallRecord] {
        events.compactMap { if case .call(let c) = $0 { return c } else { return nil } }
    }

    /// The machine obtained by folding every decided fact from an empty one.
    var replayed: BreakerMachine { BreakerMachine.replaying(events, configuration: initialConfiguration) }

    /// What `verify` finds wrong with the facts decided so far, read as a log.
    var verifierProblems: [String] {
        var verifier = LogVerifier(machine: BreakerMachine(configuration: initialConfiguration))
        for (seq, event) in events.enumerated() { verifier.check(event, seq: Int64(seq + 1)) }
        verifier.finish()
        return verifier.problems
    }
}

extension Admission {
    var isAdmitted: Bool { if case .admitted = self { return true } else { return false } }
    var rejection: Rejection? { if case .rejected(let r) = self { return r } else { return nil } }
}

extension Harness {
    /// Changes the configuration at `ms` (SPEC §2): `defaults` over SPEC's defaults, `tools` per tool.
    mutating func configure(_ defaults: SettingsOverride, tools: [ToolID: SettingsOverride] = [:], at ms: Int64) {
        let configuration = try! BreakerConfiguration(defaults: defaults, tools: tools)
        machine.configure(
            ConfigurationRecord(time: Self.t(ms), configuration: configuration, actor: "sre", reason: "retune"), facts: &facts)
    }
}
