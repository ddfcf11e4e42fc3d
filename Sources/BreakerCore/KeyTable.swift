/// Every key a machine has interned, with its slot, found by name in one probe.
///
/// Keys are numbered from 0 in the order they are interned (``KeyRef``) and never removed: a key
/// that goes idle keeps its slot (88 bytes; its window buffer cut to its entries, and one entry
/// needs none), so it comes back exactly as it left. Names are interned once per machine; a slot
/// holds their numbers.
@usableFromInline struct KeyTable: Sendable {
    var chunks: [KeyChunk] = []
    @usableFromInline private(set) var count = 0
    /// Per bucket: the key's 32-bit hash in the high half and its number + 1 in the low half; 0 empty.
    private var buckets: [UInt64] = []
    var tenants = NameTable<TenantName>()
    var tools = NameTable<ToolName>()
    /// The keys of each tenant, by tenant number.
    var keysOfTenant: [[UInt32]] = []
    /// The keys of each tool, by tool number.
    var keysOfTool: [[UInt32]] = []

    @inline(__always)
    private static func hash(_ tenant: TenantID, _ tool: ToolID) -> UInt64 {
        let h = UInt64(bitPattern: Int64(tenant.hash)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(tool.hash))
        return (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
    }

    /// The number of `key`, or `nil` if never interned.
    @inline(__always)
    func ref(of key: BreakerKey) -> KeyRef? {
        guard !buckets.isEmpty else { return nil }
        let h = Self.hash(key.tenant, key.tool)
        let tag = h >> 32
        let mask = buckets.count - 1
        var b = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = buckets[b]
            if entry == 0 { return nil }
            if entry >> 32 == tag {
                let ref = KeyRef(UInt32(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1)
                let s = self[ref]
                if tools.names[Int(s.tool)] == key.tool && tenants.names[Int(s.tenant)] == key.tenant { return ref }
            }
            b = (b + 1) & mask
        }
    }

    /// The slot of `ref`, read in place (no copy of the slot).
    @inline(__always)
    subscript(ref: KeyRef) -> KeySlot {
        unsafeAddress { UnsafePointer(chunks[Int(ref.index) >> KeyChunk.shift].slots + (Int(ref.index) & (KeyChunk.capacity - 1))) }
    }

    /// A pointer to the slot of `ref` for writing: the chunk is made this table's own first.
    @inline(__always)
    mutating func writable(_ ref: KeyRef) -> UnsafeMutablePointer<KeySlot> {
        let c = Int(ref.index) >> KeyChunk.shift
        if !isKnownUniquelyReferenced(&chunks[c]) { chunks[c] = chunks[c].cloned() }
        return chunks[c].slots + (Int(ref.index) & (KeyChunk.capacity - 1))
    }

    /// The keys of tool number `tool` (none for a tool only registered or named by a signal).
    func keys(ofTool tool: Int) -> [UInt32] { tool < keysOfTool.count ? keysOfTool[tool] : [] }

    /// The key numbered `ref`.
    func key(_ ref: KeyRef) -> BreakerKey {
        let s = self[ref]
        return BreakerKey(tenant: tenants.names[Int(s.tenant)], tool: tools.names[Int(s.tool)])
    }

    /// Interns `key` with `slot` (its names' numbers filled in here); the key must be new.
    mutating func append(_ key: BreakerKey, _ slot: KeySlot) -> KeyRef {
        let ref = KeyRef(UInt32(count))
        if count == chunks.count * KeyChunk.capacity {
            chunks.append(KeyChunk())
        } else if !isKnownUniquelyReferenced(&chunks[chunks.count - 1]) {
            chunks[chunks.count - 1] = chunks[chunks.count - 1].cloned()
        }
        chunks[chunks.count - 1].append(slot)
        count += 1
        while keysOfTenant.count <= Int(slot.tenant) { keysOfTenant.append([]) }
        keysOfTenant[Int(slot.tenant)].append(ref.index)
        // A tool may have a number before its first key (registered, or named by a signal).
        while keysOfTool.count <= Int(slot.tool) { keysOfTool.append([]) }
        keysOfTool[Int(slot.tool)].append(ref.index)
        if count * 2 > buckets.count {
            let size = Swift.max(16, buckets.count * 2)
            buckets = Array(repeating: 0, count: size)
            for i in 0..<count { place(KeyRef(UInt32(i))) }
        } else {
            place(ref)
        }
        return ref
    }

    private mutating func place(_ ref: KeyRef) {
        let s = self[ref]
        let h = Self.hash(tenants.names[Int(s.tenant)], tools.names[Int(s.tool)])
        let mask = buckets.count - 1
        var b = Int(truncatingIfNeeded: h) & mask
        while buckets[b] != 0 { b = (b + 1) & mask }
        buckets[b] = (h >> 32) << 32 | UInt64(ref.index + 1)
    }

    /// Bytes this table holds beyond the slots' window buffers: slots, index, key lists.
    var bytes: Int {
        chunks.count * KeyChunk.capacity * MemoryLayout<KeySlot>.stride + buckets.count * 8
            + keysOfTenant.reduce(0) { $0 + $1.capacity * 4 } + keysOfTool.reduce(0) { $0 + $1.capacity * 4 }
    }
}

/// Names of one kind, interned: each has a number, its index in ``names``.
struct NameTable<Kind: NameKind> {
    private(set) var names: [Name<Kind>] = []
    private var numbers: [Name<Kind>: UInt32] = [:]

    /// The number of `name`, if interned.
    @inline(__always)
    func number(of name: Name<Kind>) -> UInt32? { numbers[name] }

    /// The number of `name`, interning it first if needed.
    mutating func intern(_ name: Name<Kind>) -> UInt32 {
        if let n = numbers[name] { return n }
        let n = UInt32(names.count)
        names.append(name)
        numbers[name] = n
        return n
    }
}
