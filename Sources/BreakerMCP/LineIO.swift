import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads newline-delimited messages from a file descriptor on a thread of its own (stdio MCP:
/// one JSON-RPC message a line, of any size).
enum LineReader {
    /// Calls `line` with each line (without its newline) read from `fd`, then `end` at end of file.
    static func start(fd: Int32, name: String, line: @escaping @Sendable ([UInt8]) -> Void, end: @escaping @Sendable () -> Void) {
        let thread = Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                var start = 0
                for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                    pending.append(contentsOf: buffer[start..<i])
                    if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                    if !pending.isEmpty { line(pending) }
                    pending.removeAll(keepingCapacity: true)
                    start = i + 1
                }
                pending.append(contentsOf: buffer[start..<n])
            }
            if !pending.isEmpty { line(pending) }
            end()
        }
        thread.name = name
        thread.start()
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
