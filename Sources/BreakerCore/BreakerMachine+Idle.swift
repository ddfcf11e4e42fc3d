extension BreakerMachine {
    /// Gives back the memory of idle keys among those numbered in `range`, and returns them.
    ///
    /// A key is idle at `now` when it is CLOSED, nothing of it is in flight, and its newest window
    /// entry (if any) is older than its window. Its window buffer is cut to exactly the entries it
    /// holds — no state changes: SPEC §3 and §5 keep those entries until the key's next outcome
    /// drops them (a later configuration with a longer window would count them), so the key comes
    /// back as a replay of the log has it. What stays is the key's slot: its names by number,
    /// generation, open timeout and counters.
    public mutating func compactIdleKeys(at now: Timestamp, in range: Range<Int>) -> [KeyRef] {
        var out: [KeyRef] = []
        for i in range.clamped(to: 0..<table.count) {
            let ref = KeyRef(UInt32(i))
            let s = table[ref]
            guard s.seen, s.state == .closed, s.inFlight == 0, s.probesInFlight == 0 else { continue }
            if s.window.count > 0 && s.window.newestTime >= now.milliseconds - settings[s.settings].windowMs { continue }
            if s.window.fitCapacity < s.window.capacity { table.writable(ref).pointee.window.shrinkToFit() }
            out.append(ref)
        }
        return out
    }

    /// Bytes held by window buffers (for `bench keys`).
    public var windowBufferBytes: Int {
        var total = 0
        for i in 0..<table.count { total += table[KeyRef(UInt32(i))].window.bufferBytes }
        return total
    }

    /// Where the machine's bytes go, by part (for `bench keys`): slots, the key index, the key
    /// lists by tenant and tool, window buffers, and the name tables (names counted at 32 bytes
    /// with their dictionary entry: a small string inline, or its pointer and storage header).
    public var memoryBreakdown: [(part: String, bytes: Int)] {
        [
            ("key slots", table.chunks.count * KeyChunk.capacity * MemoryLayout<KeySlot>.stride),
            ("key index and lists", table.bytes - table.chunks.count * KeyChunk.capacity * MemoryLayout<KeySlot>.stride),
            ("window buffers", windowBufferBytes),
            ("names", (table.tenants.names.count + table.tools.names.count) * (MemoryLayout<TenantID>.stride * 2 + 16)),
        ]
    }

    /// Keys interned (seen or not).
    public var internedKeyCount: Int { table.count }
}
