import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Bytes read from one side but not yet handled, bounded: the reader waits for the relay before
/// it reads more, so a side that sends faster than the other takes is read at the other's pace
/// (the operating system's pipe then holds the sender back).
final class Credit: @unchecked Sendable {
    // Safety: `outstanding` and `closed` are only touched under `condition`.
    private let condition = NSCondition()
    private var outstanding = 0
    private var closed = false
    /// Bytes that may wait for the relay (one longer line is let through alone).
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Waits until `n` more bytes may wait; `false` once closed.
    func acquire(_ n: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !closed && outstanding > 0 && outstanding + n > limit { condition.wait() }
        guard !closed else { return false }
        outstanding += n
        return true
    }

    /// The relay handled `n` bytes.
    func release(_ n: Int) {
        condition.lock()
        outstanding -= n
        condition.broadcast()
        condition.unlock()
    }

    /// Wakes the reader for good (the relay has stopped).
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Reads newline-delimited messages from a file descriptor on a thread of its own (stdio MCP:
/// one JSON-RPC message a line), each at most `maxBytes` long.
enum LineReader {
    /// How much of a line longer than the limit is kept, to find its id.
    static let keptOfLongLine = 65_536

    /// Calls `line` with each line (without its newline) read from `fd`, after `credit` lets it
    /// wait for the relay; `tooLong` with the start of a line longer than `maxBytes` and its
    /// length (the rest is read and dropped, never held); then `end` at end of file.
    static func start(
        fd: Int32, name: String, maxBytes: Int, credit: Credit, line: @escaping @Sendable ([UInt8]) -> Void,
        tooLong: @escaping @Sendable (_ start: [UInt8], _ length: Int) -> Void, end: @escaping @Sendable () -> Void
    ) {
        let thread = Thread {
            var pending: [UInt8] = []
            var length = 0  // of the line being read, with what was dropped
            var buffer = [UInt8](repeating: 0, count: 65_536)
            func take(_ bytes: ArraySlice<UInt8>) {
                length += bytes.count
                if length <= maxBytes {
                    pending.append(contentsOf: bytes)
                } else if pending.count < keptOfLongLine {
                    pending.append(contentsOf: bytes.prefix(keptOfLongLine - pending.count))
                }
            }
            /// Hands on the line read; `false` when the relay has stopped.
            func finish() -> Bool {
                defer {
                    pending.removeAll(keepingCapacity: pending.capacity <= 1 << 20)
                    length = 0
                }
                if length > maxBytes {
                    tooLong(pending, length)
                    return true
                }
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                guard !pending.isEmpty else { return true }
                guard credit.acquire(pending.count) else { return false }
                line(pending)
                return true
            }
            reading: while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                var start = 0
                for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                    take(buffer[start..<i])
                    start = i + 1
                    guard finish() else { break reading }
                }
                take(buffer[start..<n])
            }
            if length > 0 { _ = finish() }
            end()
        }
        thread.name = name
        thread.start()
    }
}

/// The top-level `"id"` of a JSON-RPC message from the start of its text (a line too long to be
/// parsed whole), as JSON text: a number or a string; `nil` when the start does not hold it.
enum LeadingID {
    static func find(in bytes: [UInt8]) -> String? {
        var depth = 0
        var i = 0
        var lastString: Range<Int>?
        func skipString(_ at: Int) -> Int? {
            var j = at + 1
            while j < bytes.count {
                if bytes[j] == UInt8(ascii: "\\") {
                    j += 2
                    continue
                }
                if bytes[j] == UInt8(ascii: "\"") { return j + 1 }
                j += 1
            }
            return nil
        }
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                guard let end = skipString(i) else { return nil }
                lastString = i..<end
                i = end
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ":"):
                if depth == 1, let key = lastString, bytes[key].elementsEqual(#""id""#.utf8) {
                    var j = i + 1
                    while j < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[j]) { j += 1 }
                    guard j < bytes.count else { return nil }
                    if bytes[j] == UInt8(ascii: "\"") {
                        guard let end = skipString(j) else { return nil }
                        return String(decoding: bytes[j..<end], as: UTF8.self)
                    }
                    var k = j
                    while k < bytes.count, bytes[k] == UInt8(ascii: "-") || (bytes[k] >= 0x30 && bytes[k] <= 0x39) { k += 1 }
                    guard k > j, k < bytes.count else { return nil }
                    return String(decoding: bytes[j..<k], as: UTF8.self)
                }
            default: break
            }
            lastString = b == UInt8(ascii: ",") || b == UInt8(ascii: "{") ? nil : lastString
            i += 1
        }
        return nil
    }
}

/// Writes whole lines to a file descriptor, one writer at a time.
final class LineWriter: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var closed = false

    init(fd: Int32) {
        self.fd = fd
    }

    /// Writes `bytes` and a newline; `false` when the other end is gone.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return false }
        var data = bytes
        data.append(UInt8(ascii: "\n"))
        var sent = 0
        while sent < data.count {
            let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + sent, $0.count - sent) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                closed = true
                return false
            }
            sent += n
        }
        return true
    }

    func write(_ text: String) { write(Array(text.utf8)) }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        if !closed {
            closed = true
            Glibc.close(fd)
        }
    }
}
