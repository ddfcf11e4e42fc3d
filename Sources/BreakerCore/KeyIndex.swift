/// Finds a key's slot: an open-addressing table over the names' cached hashes.
///
/// Looking a key up costs a multiply, one or two probes and one comparison of the key,
/// instead of hashing both names again on every call.
struct KeyIndex: Sendable {
    /// Per bucket: the key's 32-bit hash in the high half and slot + 1 in the low half; 0 empty.
    private var buckets: [UInt64] = []
    private var count = 0

    init() {}

    @inline(__always)
    private static func hash(_ key: BreakerKey) -> UInt64 {
        let h = UInt64(bitPattern: Int64(key.tenant.hash)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(key.tool.hash))
        return (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
    }

    /// The slot of `key`, or `nil`. `keys` is the machine's slot → key table.
    @inline(__always)
    func slot(of key: BreakerKey, keys: [BreakerKey]) -> Int? {
        guard !buckets.isEmpty else { return nil }
        let h = Self.hash(key)
        let tag = h >> 32
        let mask = buckets.count - 1
        var b = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = buckets[b]
            if entry == 0 { return nil }
            if entry >> 32 == tag {
                let slot = Int(entry & 0xFFFF_FFFF) - 1
                if keys[slot] == key { return slot }
            }
            b = (b + 1) & mask
        }
    }

    /// Records `key` at `slot`; the key must not be present.
    mutating func insert(_ key: BreakerKey, slot: Int, keys: [BreakerKey]) {
        if (count + 1) * 2 > buckets.count {
            var grown = KeyIndex()
            grown.buckets = Array(repeating: 0, count: Swift.max(16, buckets.count * 2))
            for (i, k) in keys.enumerated() where i != slot { grown.place(k, slot: i) }
            self = grown
        }
        place(key, slot: slot)
    }

    private mutating func place(_ key: BreakerKey, slot: Int) {
        let h = Self.hash(key)
        let mask = buckets.count - 1
        var b = Int(truncatingIfNeeded: h) & mask
        while buckets[b] != 0 { b = (b + 1) & mask }
        buckets[b] = (h >> 32) << 32 | UInt64(slot + 1)
        count += 1
    }
}
