extension BreakerMachine {
    /// The durable part of a machine: the configuration in force, every key's state (probes in
    /// flight 0) in key-number order, and every tool's signal and outage episode. Restoring it
    /// and folding the log after it gives the same machine as folding the whole log.
    public struct Snapshot: Sendable, Hashable {
        public struct Key: Sendable, Hashable {
            public var key: BreakerKey
            /// Seen by a step (interned keys that were never seen are not keys yet).
            public var seen: Bool
            public var state: KeyState

            public init(key: BreakerKey, seen: Bool = true, state: KeyState) {
                self.key = key
                self.seen = seen
                self.state = state
            }
        }
        public struct Tool: Sendable, Hashable {
            public var tool: ToolID
            public var signal: ToolSignal?
            public var outageEpisode: Bool
        }
        /// The configuration in force (`nil` in snapshots written before configurations could change).
        public var configuration: BreakerConfiguration?
        /// Keys in key-number order.
        public var keys: [Key]
        /// Tools with a signal or an episode in progress, by name.
        public var tools: [Tool]

        public init(configuration: BreakerConfiguration?, keys: [Key], tools: [Tool]) {
            self.configuration = configuration
            self.keys = keys
            self.tools = tools
        }
    }

    /// The durable state of this machine.
    public var snapshot: Snapshot {
        Snapshot(
            configuration: configuration,
            keys: (0..<table.count).map { i in
                let ref = KeyRef(UInt32(i))
                return Snapshot.Key(key: table.key(ref), seen: table[ref].seen, state: keyState(ref).durable)
            },
            tools: tools.indices.compactMap { t in
                let status = tools[t]
                guard status.signal != nil || status.outageEpisode else { return nil }
                return Snapshot.Tool(tool: table.tools.names[t], signal: status.signal, outageEpisode: status.outageEpisode)
            }.sorted { $0.tool < $1.tool })
    }

    /// The durable state of keys `refs` alone, in key-number order: what a `log_gap` record
    /// keeps of the keys its dropped records named.
    public func snapshotKeys(_ refs: some Sequence<KeyRef>) -> [Snapshot.Key] {
        refs.sorted().map { ref in
            Snapshot.Key(key: table.key(ref), seen: table[ref].seen, state: keyState(ref).durable)
        }
    }

    /// A machine restored from `snapshot`, under the snapshot's configuration (or `configuration`
    /// for a snapshot that has none).
    public init(configuration: BreakerConfiguration, snapshot: Snapshot) {
        self.init(configuration: snapshot.configuration ?? configuration)
        restore(snapshot)
    }

    /// Lays `snapshot` over this machine: keys already interned keep their numbers.
    package mutating func restore(_ snapshot: Snapshot) {
        if let c = snapshot.configuration, c != configuration {
            configuration = c
            reresolveSettings()
        }
        for k in snapshot.keys {
            let ref = intern(k.key)
            let s = table.writable(ref)
            let wasOpen = s.pointee.seen && s.pointee.state.isOpen
            s.pointee.seen = k.seen
            s.pointee.state = k.state.state
            s.pointee.generation = k.state.generation
            s.pointee.openedAt = k.state.state == .closed ? .min : k.state.openedAt?.milliseconds ?? .min
            s.pointee.currentOpenTimeoutMs = k.state.currentOpenTimeoutMs
            s.pointee.probeSuccesses = UInt32(k.state.probeSuccesses)
            s.pointee.probesInFlight = 0
            s.pointee.window.removeAll()
            // Entries come back exactly as kept: the ring drops nothing until its next append.
            for e in k.state.window.entries { s.pointee.window.append(e, windowMs: .max) }
            let isOpen = k.seen && k.state.state.isOpen
            if wasOpen != isOpen { tools[Int(s.pointee.tool)].openTenants += isOpen ? 1 : -1 }
        }
        for t in snapshot.tools {
            let n = Int(table.tools.intern(t.tool))
            while tools.count <= n { tools.append(ToolState()) }
            tools[n].signal = t.signal
            tools[n].outageEpisode = t.outageEpisode
        }
    }

    /// Resolves every key's settings again from the configuration now in force.
    mutating func reresolveSettings() {
        settings.removeAll()
        for i in 0..<table.count {
            let ref = KeyRef(UInt32(i))
            let s = table[ref]
            let n = settings.number(for: table.key(ref), tenant: s.tenant, tool: s.tool, in: configuration)
            table.writable(ref).pointee.settings = n
        }
        reresolveTraits()
    }

    /// Whether two machines hold the same durable state: configuration, seen keys with their
    /// state, tool signals and episodes. Key numbers may differ; names decide.
    public func hasSameDurableState(as other: BreakerMachine) -> Bool {
        let a = snapshot
        let b = other.snapshot
        func seen(_ s: Snapshot) -> [BreakerKey: KeyState] {
            Dictionary(uniqueKeysWithValues: s.keys.filter(\.seen).map { ($0.key, $0.state) })
        }
        return a.configuration == b.configuration && a.tools == b.tools && seen(a) == seen(b)
    }
}

extension BreakerMachine.Snapshot {
    /// A compact binary encoding (little-endian varints), versioned.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.uvarint(2)  // format version
        if let configuration {
            w.uvarint(1)
            w.string(configuration.jsonText)
        } else {
            w.uvarint(0)
        }
        w.uvarint(UInt64(keys.count))
        for k in keys {
            w.string(k.key.tenant.rawValue)
            w.string(k.key.tool.rawValue)
            w.uvarint(k.seen ? 1 : 0)
            let s = k.state
            w.uvarint(UInt64(s.state.rawValue))
            w.uvarint(s.generation)
            w.svarint(s.openedAt.map { $0.milliseconds } ?? Int64.min)
            w.svarint(s.currentOpenTimeoutMs)
            w.uvarint(UInt64(s.probeSuccesses))
            let entries = s.window.entries
            w.uvarint(UInt64(entries.count))
            var previous: Int64 = 0
            for e in entries {
                w.svarint(e.time - previous)
                previous = e.time
                w.svarint(e.latencyUs)
                w.uvarint(UInt64((e.failed ? 1 : 0) | (e.slow ? 2 : 0) | (e.timedOut ? 4 : 0)))
            }
        }
        w.uvarint(UInt64(tools.count))
        for t in tools {
            w.string(t.tool.rawValue)
            w.uvarint(t.outageEpisode ? 1 : 0)
            if let s = t.signal {
                w.uvarint(s.hold ? 2 : 1)
                w.svarint(s.at.milliseconds)
                w.string(s.actor)
                w.string(s.reason)
            } else {
                w.uvarint(0)
            }
        }
        return w.bytes
    }

    /// Decodes ``encoded()`` (format 2) and the format-1 snapshots of earlier versions.
    /// - Throws: ``BreakerError`` (`store_corrupt`) when the bytes are not a snapshot.
    public init(decoding bytes: [UInt8]) throws(BreakerError) {
        var r = ByteReader(bytes: bytes)
        let version = try r.uvarint()
        guard version == 1 || version == 2 else { throw BreakerError(.storeCorrupt, "snapshot has an unknown format version") }
        var configuration: BreakerConfiguration? = nil
        if version >= 2, try r.uvarint() == 1 {
            configuration = try BreakerConfiguration(json: try r.string())
        }
        let keyCount = try r.count()
        var keys: [Key] = []
        keys.reserveCapacity(keyCount)
        for _ in 0..<keyCount {
            let tenant = TenantID(unchecked: try r.string())
            let tool = ToolID(unchecked: try r.string())
            let seen = version >= 2 ? try r.uvarint() == 1 : true
            let stateCode = try r.uvarint()
            guard let circuit = CircuitState(rawValue: UInt8(truncatingIfNeeded: stateCode)), stateCode < 4 else {
                throw BreakerError(.storeCorrupt, "snapshot has a bad state")
            }
            let generation = try r.uvarint()
            let opened = try r.svarint()
            let timeout = try r.svarint()
            var state = KeyState(openTimeoutMs: timeout)
            state.state = circuit
            state.generation = generation
            // A closed key has no open time (earlier versions kept the last one).
            state.openedAt = opened == Int64.min || circuit == .closed ? nil : Timestamp(milliseconds: opened)
            state.probeSuccesses = Int(try r.uvarint())
            let n = try r.count()
            var entries: [SlidingWindow.Entry] = []
            entries.reserveCapacity(n)
            var previous: Int64 = 0
            for _ in 0..<n {
                let time = previous + (try r.svarint())
                previous = time
                let latency = try r.svarint()
                let flags = try r.uvarint()
                entries.append(
                    SlidingWindow.Entry(
                        time: time, latencyUs: latency, failed: flags & 1 != 0, slow: flags & 2 != 0, timedOut: flags & 4 != 0))
            }
            state.window = SlidingWindow(entries: entries)
            keys.append(Key(key: BreakerKey(tenant: tenant, tool: tool), seen: seen, state: state))
        }
        let toolCount = try r.count()
        var tools: [Tool] = []
        for _ in 0..<toolCount {
            let tool = ToolID(unchecked: try r.string())
            let episode = try r.uvarint() == 1
            let kind = try r.uvarint()
            var signal: BreakerMachine.ToolSignal? = nil
            if kind != 0 {
                let at = Timestamp(milliseconds: try r.svarint())
                signal = BreakerMachine.ToolSignal(at: at, hold: kind == 2, actor: try r.string(), reason: try r.string())
            }
            tools.append(Tool(tool: tool, signal: signal, outageEpisode: episode))
        }
        guard r.atEnd else { throw BreakerError(.storeCorrupt, "snapshot has trailing bytes") }
        self.init(configuration: configuration, keys: keys, tools: tools)
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func uvarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func svarint(_ v: Int64) {
        uvarint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    mutating func string(_ s: String) {
        uvarint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var i = 0

    var atEnd: Bool { i == bytes.count }

    static let corrupt = BreakerError(.storeCorrupt, "snapshot is truncated or corrupt")

    mutating func uvarint() throws(BreakerError) -> UInt64 {
        var shift: UInt64 = 0
        var v: UInt64 = 0
        while true {
            guard i < bytes.count, shift < 64 else { throw Self.corrupt }
            let b = bytes[i]
            i += 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    mutating func svarint() throws(BreakerError) -> Int64 {
        let u = try uvarint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    mutating func count() throws(BreakerError) -> Int {
        let n = try uvarint()
        guard n <= UInt64(bytes.count - i) * 8 + 1 else { throw Self.corrupt }
        return Int(n)
    }

    mutating func string() throws(BreakerError) -> String {
        let n = try count()
        guard n <= bytes.count - i else { throw Self.corrupt }
        defer { i += n }
        guard let s = String(validating: bytes[i..<(i + n)], as: UTF8.self) else { throw Self.corrupt }
        return s
    }
}
