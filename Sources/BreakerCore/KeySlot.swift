/// Everything the machine keeps for one key (SPEC §3): its state, window and counters, with its
/// names and settings by number. 88 bytes, whatever the key's names (the window's bookkeeping
/// first, so that the 32-bit fields fill the space after it).
struct KeySlot {
    var window = WindowRing()
    /// The tenant's number in the machine's name table.
    var tenant: UInt32
    /// The tool's number in the machine's name table.
    var tool: UInt32
    /// The settings' number in the machine's settings table (resolved from the configuration).
    var settings: UInt32
    /// Probes admitted and not completed. Not part of the log: 0 after a rebuild.
    var probesInFlight: UInt32 = 0
    /// Calls admitted and not completed (probes included). Not part of the log.
    var inFlight: UInt32 = 0
    var probeSuccesses: UInt32 = 0
    var state: CircuitState = .closed
    /// The key has been seen by a step (SPEC §7's "first seen"); an interned, unseen key is not a key yet.
    var seen = false
    var generation: UInt64 = 0
    /// When the key last entered OPEN or FORCED_OPEN, ms; `Int64.min` before that, and while CLOSED.
    var openedAt: Int64 = .min
    /// The open timeout now in force, ms.
    var currentOpenTimeoutMs: Int64

    init(tenant: UInt32, tool: UInt32, settings: UInt32, openTimeoutMs: Int64) {
        self.tenant = tenant
        self.tool = tool
        self.settings = settings
        self.currentOpenTimeoutMs = openTimeoutMs
    }
}

/// A fixed block of key slots, shared copy-on-write between a machine and its copies.
///
/// A machine that writes to a slot first makes sure it holds the only reference to its chunk
/// (else it clones it, rings included). A copy of a machine — a snapshot for the writer, a
/// replay in a test — therefore costs nothing until the live machine next writes, and then one
/// chunk at a time: no long stall, no second copy of the state kept by the writer.
final class KeyChunk: @unchecked Sendable {
    // Safety: a chunk is written only by the machine holding its sole reference (checked with
    // isKnownUniquelyReferenced before every write); shared chunks are only read.
    static let shift = 12
    static let capacity = 1 << shift

    let slots: UnsafeMutablePointer<KeySlot>
    private(set) var count = 0

    init() {
        slots = .allocate(capacity: Self.capacity)
    }

    /// Appends a slot (the chunk must not be full).
    func append(_ slot: KeySlot) {
        (slots + count).initialize(to: slot)
        count += 1
    }

    /// A chunk with its own copy of every slot and window.
    func cloned() -> KeyChunk {
        let copy = KeyChunk()
        for i in 0..<count {
            var s = slots[i]
            s.window = s.window.cloned()
            (copy.slots + i).initialize(to: s)
        }
        copy.count = count
        return copy
    }

    deinit {
        for i in 0..<count { slots[i].window.deallocate() }
        slots.deinitialize(count: count)
        slots.deallocate()
    }
}
