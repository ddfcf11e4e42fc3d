extension BreakerMachine {
    /// The durable part of a machine: every key's state (probes in flight 0) and every tool's
    /// signal and outage episode. Restoring it and replaying the log after it gives the same
    /// machine as replaying the whole log.
    public struct Snapshot: Sendable, Hashable {
        public struct Key: Sendable, Hashable {
            public var key: BreakerKey
            public var state: KeyState
        }
        public struct Tool: Sendable, Hashable {
            public var tool: ToolID
            public var signal: ToolSignal?
            public var outageEpisode: Bool
        }
        /// Keys in first-seen order.
        public var keys: [Key]
        /// Tools with a signal or an episode in progress.
        public var tools: [Tool]

        public init(keys: [Key], tools: [Tool]) {
            self.keys = keys
            self.tools = tools
        }
    }

    /// The durable state of this machine.
    public var snapshot: Snapshot {
        Snapshot(
            keys: slots.indices.map { Snapshot.Key(key: slotKeys[$0], state: keyState($0).durable) },
            tools: tools.compactMap { tool, status in
                status.signal == nil && !status.outageEpisode
                    ? nil : Snapshot.Tool(tool: tool, signal: status.signal, outageEpisode: status.outageEpisode)
            }.sorted { $0.tool < $1.tool })
    }

    /// A machine restored from `snapshot` under `configuration`.
    public init(configuration: BreakerConfiguration, snapshot: Snapshot) {
        self.init(configuration: configuration)
        for k in snapshot.keys {
            let i = createSlot(k.key)
            setKeyState(i, k.state)
            if k.state.state.isOpen { tools[k.key.tool]!.openTenants += 1 }
        }
        for t in snapshot.tools {
            ensureTool(t.tool)
            tools[t.tool]!.signal = t.signal
            tools[t.tool]!.outageEpisode = t.outageEpisode
        }
    }

    /// Whether two machines hold the same durable state (keys, tool signals, episodes).
    public func hasSameDurableState(as other: BreakerMachine) -> Bool {
        let a = snapshot
        let b = other.snapshot
        return a.tools == b.tools
            && Dictionary(uniqueKeysWithValues: a.keys.map { ($0.key, $0.state) })
                == Dictionary(uniqueKeysWithValues: b.keys.map { ($0.key, $0.state) })
    }
}

extension BreakerMachine.Snapshot {
    /// A compact binary encoding (little-endian varints), versioned.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.uvarint(1)  // format version
        w.uvarint(UInt64(keys.count))
        for k in keys {
            w.string(k.key.tenant.rawValue)
            w.string(k.key.tool.rawValue)
            let s = k.state
            w.uvarint(UInt64(CircuitState.allCases.firstIndex(of: s.state)!))
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

    /// Decodes ``encoded()``.
    /// - Throws: ``BreakerError`` (`store_corrupt`) when the bytes are not a snapshot.
    public init(decoding bytes: [UInt8]) throws(BreakerError) {
        var r = ByteReader(bytes: bytes)
        guard try r.uvarint() == 1 else { throw BreakerError(.storeCorrupt, "snapshot has an unknown format version") }
        let keyCount = try r.count()
        var keys: [Key] = []
        keys.reserveCapacity(keyCount)
        for _ in 0..<keyCount {
            let tenant = TenantID(unchecked: try r.string())
            let tool = ToolID(unchecked: try r.string())
            let stateIndex = Int(try r.uvarint())
            guard stateIndex < CircuitState.allCases.count else { throw BreakerError(.storeCorrupt, "snapshot has a bad state") }
            let generation = try r.uvarint()
            let opened = try r.svarint()
            let timeout = try r.svarint()
            var state = KeyState(openTimeoutMs: timeout)
            state.state = CircuitState.allCases[stateIndex]
            state.generation = generation
            state.openedAt = opened == Int64.min ? nil : Timestamp(milliseconds: opened)
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
            keys.append(Key(key: BreakerKey(tenant: tenant, tool: tool), state: state))
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
        self.init(keys: keys, tools: tools)
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
