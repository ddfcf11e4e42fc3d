/// The breaker's pure state machine over every key (SPEC §3–7).
///
/// A value type. Each step — ``admit(_:turn:at:facts:)``, ``complete(_:_:at:facts:)``,
/// ``perform(_:at:facts:)``, ``beginHealthProbe(_:at:facts:)`` — decides the facts its inputs
/// and the state call for, hands each to a ``FactEmitter`` and folds it with ``fold(_:)``, the
/// same fold a rebuild uses; nothing else changes durable state. Only the counters the log does
/// not keep (calls and probes in flight) change outside the fold. It never reads a clock, logs,
/// or does I/O: live calls, simulation, rebuild and verification all drive this one machine.
public struct BreakerMachine: Sendable {
    /// The configuration every key resolves its settings from.
    public internal(set) var configuration: BreakerConfiguration

    /// A tool-wide force-open for all tenants (SPEC §7).
    public struct ToolSignal: Sendable, Hashable {
        public var at: Timestamp
        public var hold: Bool
        public var actor: String
        public var reason: String

        public init(at: Timestamp, hold: Bool, actor: String, reason: String) {
            self.at = at
            self.hold = hold
            self.actor = actor
            self.reason = reason
        }
    }

    /// What the machine keeps per tool.
    struct ToolState: Sendable {
        var signal: ToolSignal?
        /// Tenants whose key for this tool is OPEN or FORCED_OPEN.
        var openTenants = 0
        /// A global-outage episode is in progress.
        var outageEpisode = false
        /// The traits admission uses: those registered in code, else the configuration's.
        var traits = ToolTraits()
        /// Traits registered in code (``BreakerMachine/register(tool:traits:)``); `nil`: the
        /// configuration's profile decides.
        var registered: ToolTraits?
    }

    @usableFromInline var table = KeyTable()
    /// By tool number.
    var tools: [ToolState] = []
    var settings = SettingsTable()

    /// An empty machine: every key starts CLOSED when first seen.
    public init(configuration: BreakerConfiguration = .standard) {
        self.configuration = configuration
    }

    // MARK: - Keys

    /// The number of `key`, interning it first: the machine now knows its name, but it is not
    /// seen until a step names it (SPEC §7's "first seen").
    public mutating func intern(_ key: BreakerKey) -> KeyRef {
        if let ref = table.ref(of: key) { return ref }
        let tenant = table.tenants.intern(key.tenant)
        let tool = table.tools.intern(key.tool)
        growTools(to: tool)
        let number = settings.number(for: key, tenant: tenant, tool: tool, in: configuration)
        let slot = KeySlot(tenant: tenant, tool: tool, settings: number, openTimeoutMs: settings[number].openTimeoutMs)
        return table.append(key, slot)
    }

    /// The number of `key`, or `nil` if never interned.
    @inline(__always)
    public func ref(of key: BreakerKey) -> KeyRef? { table.ref(of: key) }

    /// The key numbered `ref`.
    public func key(_ ref: KeyRef) -> BreakerKey { table.key(ref) }

    /// The number of key `ref`'s tool (its index in ``knownTools``).
    @inline(__always)
    public func toolNumber(of ref: KeyRef) -> Int { Int(table[ref].tool) }

    /// The state of key `ref`'s circuit (CLOSED for a key not seen yet). O(1).
    public func circuitState(of ref: KeyRef) -> CircuitState { table[ref].state }

    /// How many keys are interned (refs are `0..<internedCount`).
    @inlinable public var internedCount: Int { table.count }

    /// Every key seen, in the order first interned.
    public var keys: [BreakerKey] {
        (0..<table.count).compactMap { i in
            let ref = KeyRef(UInt32(i))
            return table[ref].seen ? table.key(ref) : nil
        }
    }

    /// Keys of `tenant` that have been seen, in first-seen order.
    public func keys(of tenant: TenantID) -> [BreakerKey] {
        guard let t = table.tenants.number(of: tenant) else { return [] }
        return table.keysOfTenant[Int(t)].compactMap { i in
            table[KeyRef(i)].seen ? table.key(KeyRef(i)) : nil
        }
    }

    /// Every tool seen or registered.
    public var knownTools: [ToolID] { table.tools.names }

    // MARK: - Reading

    /// The state of `key` with a copy of its window, or `nil` if never seen.
    public func state(of key: BreakerKey) -> KeyState? {
        guard let ref = ref(of: key), table[ref].seen else { return nil }
        return keyState(ref)
    }

    /// The state of `key` without its window's entries, or `nil` if never seen. O(1).
    public func status(of key: BreakerKey) -> KeyStatus? {
        guard let ref = ref(of: key) else { return nil }
        return status(of: ref)
    }

    /// The state of key `ref` without its window's entries, or `nil` if never seen. O(1).
    public func status(of ref: KeyRef) -> KeyStatus? {
        let s = table[ref]
        guard s.seen else { return nil }
        return KeyStatus(
            state: s.state, generation: s.generation, openedAt: s.openedAt == .min ? nil : Timestamp(milliseconds: s.openedAt),
            currentOpenTimeoutMs: s.currentOpenTimeoutMs, probeSuccesses: Int(s.probeSuccesses), probesInFlight: Int(s.probesInFlight),
            windowCalls: Int(s.window.count), windowFailures: Int(s.window.failures))
    }

    func keyState(_ ref: KeyRef) -> KeyState {
        let s = table[ref]
        var st = KeyState(openTimeoutMs: s.currentOpenTimeoutMs)
        st.state = s.state
        st.generation = s.generation
        st.openedAt = s.openedAt == .min ? nil : Timestamp(milliseconds: s.openedAt)
        st.probeSuccesses = Int(s.probeSuccesses)
        st.probesInFlight = Int(s.probesInFlight)
        st.window = SlidingWindow(entries: s.window.entries)
        return st
    }

    /// The settings in force for `key` (resolved from the configuration now in force).
    public func settings(for key: BreakerKey) -> BreakerSettings {
        if let ref = ref(of: key) { return settings[table[ref].settings] }
        return configuration.settings(for: key)
    }

    /// The settings in force for key `ref`.
    @inline(__always)
    public func settings(of ref: KeyRef) -> BreakerSettings { settings[table[ref].settings] }

    /// The tool-wide force-open in force for `tool`, if any.
    public func signal(for tool: ToolID) -> ToolSignal? {
        table.tools.number(of: tool).flatMap { tools[Int($0)].signal }
    }

    /// Whether a global-outage episode is in progress for `tool`.
    public func outageInProgress(for tool: ToolID) -> Bool {
        table.tools.number(of: tool).map { tools[Int($0)].outageEpisode } ?? false
    }

    /// Tenants whose key for `tool` is OPEN or FORCED_OPEN.
    public func openTenantCount(for tool: ToolID) -> Int {
        table.tools.number(of: tool).map { tools[Int($0)].openTenants } ?? 0
    }

    /// The traits `tool` is admitted by: registered in code, else the configuration's profile.
    public func traits(of tool: ToolID) -> ToolTraits {
        table.tools.number(of: tool).map { tools[Int($0)].traits } ?? configuration.toolProfiles[tool]?.traits ?? ToolTraits()
    }

    /// Every seen key with its durable state (probes in flight 0).
    public var durableStates: [BreakerKey: KeyState] {
        var out: [BreakerKey: KeyState] = [:]
        for i in 0..<table.count where table[KeyRef(UInt32(i))].seen {
            out[table.key(KeyRef(UInt32(i)))] = keyState(KeyRef(UInt32(i))).durable
        }
        return out
    }

    // MARK: - Registration

    /// Declares what `tool` is like (side effects, health check), over what the configuration's
    /// profile of it says; `nil` hands it back to the configuration. Affects admission only.
    public mutating func register(tool: ToolID, traits: ToolTraits?) {
        let t = table.tools.intern(tool)
        growTools(to: t)
        tools[Int(t)].registered = traits
        tools[Int(t)].traits = traits ?? configuration.toolProfiles[tool]?.traits ?? ToolTraits()
    }

    /// The traits registered in code for `tool`; `nil` when the configuration decides.
    public func registeredTraits(of tool: ToolID) -> ToolTraits? {
        table.tools.number(of: tool).flatMap { tools[Int($0)].registered }
    }

    /// Makes room for tool number `t`, a new tool taking its traits from the configuration.
    private mutating func growTools(to t: UInt32) {
        while tools.count <= Int(t) {
            let name = table.tools.names[tools.count]
            tools.append(ToolState(traits: configuration.toolProfiles[name]?.traits ?? ToolTraits()))
        }
    }

    /// Reads every tool's traits again after a configuration change (code registrations stay).
    mutating func reresolveTraits() {
        for t in tools.indices {
            tools[t].traits = tools[t].registered ?? configuration.toolProfiles[table.tools.names[t]]?.traits ?? ToolTraits()
        }
    }

    // MARK: - The fold

    /// Folds one fact into the state, exactly as the step that decided it changed the state.
    /// Replaying a log from the start through `fold` gives every key's durable state.
    public mutating func fold(_ fact: Fact) {
        switch fact {
        case .call(let f): foldCall(f)
        case .transition(let f): foldTransition(f)
        case .operatorAction(let r): foldOperator(r)
        case .globalOutage(let r):
            let t = Int(table.tools.intern(r.tool))
            while tools.count <= t { tools.append(ToolState()) }
            tools[t].outageEpisode = true
        case .logGap(let r):
            // The dropped records are gone; the keys they named take the state the gap kept.
            if let keys = r.keys { restore(Snapshot(configuration: nil, keys: keys, tools: [])) }
        case .configuration(let r):
            foldConfiguration(r)
        case .fleet(let r):
            table.writable(intern(r.key)).pointee.seen = true
        }
    }

    /// A configuration change (SPEC §2): from now on every key resolves its settings from the new
    /// configuration; nothing else moves. Each setting is read where it applies — thresholds and
    /// windowMs at a key's next outcome, halfOpenMaxInFlight at its next admission, the open
    /// timeouts at its next transition that uses them, the tool-wide settings at the next
    /// transition — so the state is left exactly as it is. A key not seen yet has no state: its
    /// open timeout starts from the new configuration.
    mutating func foldConfiguration(_ r: ConfigurationRecord) {
        configuration = r.configuration
        reresolveSettings()
        for i in 0..<table.count where !table[KeyRef(UInt32(i))].seen {
            let s = table.writable(KeyRef(UInt32(i)))
            s.pointee.currentOpenTimeoutMs = settings[s.pointee.settings].openTimeoutMs
        }
    }

    /// A call record: a current outcome of a CLOSED key enters its window; a probe success counts.
    @inline(__always)
    mutating func foldCall(_ f: borrowing CallFact) {
        let s = table.writable(f.key)
        s.pointee.seen = true
        guard !f.stale && f.shadow == nil else { return }
        switch f.result {
        case .rejected, .cancelled:
            return
        case .success, .failure, .timeout:
            break
        }
        switch s.pointee.state {
        case .closed:
            let latency = f.latencyUs ?? 0
            let timedOut = f.result.kind == .timeout
            let number = s.pointee.settings
            let entry = SlidingWindow.Entry(
                time: f.time.milliseconds, latencyUs: latency, failed: f.result.failed,
                slow: timedOut || latency > settings[number].latencyThresholdMs * 1000, timedOut: timedOut)
            s.pointee.window.append(entry, windowMs: settings[number].windowMs)
        case .halfOpen:
            if f.probe && f.result.kind == .success { s.pointee.probeSuccesses += 1 }
        case .open, .forcedOpen:
            break
        }
    }

    /// A transition: the state, generation and open bookkeeping of SPEC §5–7.
    mutating func foldTransition(_ f: TransitionFact) {
        let s = table.writable(f.key)
        let wasOpen = s.pointee.state.isOpen
        let set = settings[s.pointee.settings]
        s.pointee.seen = true
        s.pointee.state = f.to
        s.pointee.generation = f.generation
        s.pointee.probesInFlight = 0
        s.pointee.probeSuccesses = 0
        switch f.to {
        case .closed:
            s.pointee.window.removeAll()
            s.pointee.currentOpenTimeoutMs = set.openTimeoutMs
            s.pointee.openedAt = .min
        case .open:
            s.pointee.openedAt = (f.openedAt ?? f.time).milliseconds
            if f.cause == .probeFailed {
                s.pointee.currentOpenTimeoutMs = set.grownOpenTimeout(s.pointee.currentOpenTimeoutMs)
            }
        case .forcedOpen:
            s.pointee.openedAt = f.time.milliseconds
        case .halfOpen:
            break
        }
        let tool = Int(s.pointee.tool)
        if wasOpen != f.to.isOpen { tools[tool].openTenants += f.to.isOpen ? 1 : -1 }
        if tools[tool].openTenants < toolWide(tool).globalOutageTenants { tools[tool].outageEpisode = false }
    }

    /// An operator record: it names its key (seen from now on), or sets or ends a tool-wide signal.
    mutating func foldOperator(_ r: OperatorRecord) {
        if let tenant = r.tenant {
            let ref = intern(BreakerKey(tenant: tenant, tool: r.tool))
            table.writable(ref).pointee.seen = true
            return
        }
        let t = Int(table.tools.intern(r.tool))
        while tools.count <= t { tools.append(ToolState()) }
        switch r.op {
        case .forceOpen, .forceOpenHold:
            tools[t].signal = ToolSignal(at: r.time, hold: r.op == .forceOpenHold, actor: r.actor, reason: r.reason)
        case .release:
            tools[t].signal = nil
        case .reset:
            break
        }
    }

    /// The tool-wide settings of tool number `tool` under the configuration in force.
    func toolWide(_ tool: Int) -> (globalOutageTenants: Int, autoPropagate: Bool) {
        configuration.toolWideSettings(tool: table.tools.names[tool])
    }
}
