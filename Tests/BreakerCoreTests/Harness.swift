import BreakerCore

/// Drives a ``BreakerMachine`` directly, keeping every event it emits.
struct Harness {
    var machine: BreakerMachine
    var events: [BreakerEvent] = []

    init(_ overrides: SettingsOverride = SettingsOverride(), tools: [ToolID: SettingsOverride] = [:]) {
        machine = BreakerMachine(configuration: try! BreakerConfiguration(defaults: overrides, tools: tools))
    }

    static func machine(_ configuration: BreakerConfiguration) -> Harness {
        var h = Harness()
        h.machine = BreakerMachine(configuration: configuration)
        return h
    }

    static func key(_ tenant: String = "acme", _ tool: String = "web_search") -> BreakerKey {
        BreakerKey(tenant: try! TenantID(tenant), tool: try! ToolID(tool))
    }

    static func t(_ ms: Int64) -> Timestamp { Timestamp(milliseconds: 1_795_852_800_000 + ms) }

    mutating func admit(_ key: BreakerKey, at ms: Int64, turn: String = "turn-1") -> Admission {
        machine.admit(key, turn: try! TurnID(turn), at: Self.t(ms), events: &events)
    }

    mutating func permit(_ key: BreakerKey, at ms: Int64) -> Permit? {
        if case .admitted(let p) = admit(key, at: ms) { return p }
        return nil
    }

    @discardableResult
    mutating func complete(_ p: Permit, _ outcome: CallOutcome, at ms: Int64) -> Completion {
        machine.complete(p, outcome, at: Self.t(ms), events: &events)
    }

    /// Admits and completes one call (admitted at `ms`, completing `latency` ms later).
    @discardableResult
    mutating func call(_ key: BreakerKey, at ms: Int64, _ result: Result = .ok, latency: Int64 = 100) -> Admission {
        let a = admit(key, at: ms)
        if case .admitted(let p) = a {
            switch result {
            case .ok: complete(p, .success(latencyUs: latency * 1000), at: ms + latency)
            case .fail: complete(p, .failure(errorType: "ConnectionError", latencyUs: latency * 1000), at: ms + latency)
            case .timeout: complete(p, .timeout, at: ms + p.callTimeoutMs)
            }
        }
        return a
    }

    enum Result { case ok, fail, timeout }

    func state(_ key: BreakerKey) -> KeyState? { machine.state(of: key) }

    var transitions: [TransitionRecord] {
        events.compactMap { if case .transition(let t) = $0 { return t } else { return nil } }
    }

    var calls: [CallRecord] {
        events.compactMap { if case .call(let c) = $0 { return c } else { return nil } }
    }

    /// The machine obtained by folding every emitted event from an empty one.
    var replayed: BreakerMachine {
        var m = BreakerMachine(configuration: machine.configuration)
        for e in events { m.apply(e) }
        return m
    }
}

extension Admission {
    var isAdmitted: Bool { if case .admitted = self { return true } else { return false } }
    var rejection: Rejection? { if case .rejected(let r) = self { return r } else { return nil } }
}
