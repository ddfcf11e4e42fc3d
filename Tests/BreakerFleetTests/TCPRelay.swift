import BreakerCore
import BreakerTestSupport
import Foundation

/// A TCP relay on an ephemeral loopback port to `127.0.0.1:target`: one node's path to the fleet's
/// PostgreSQL, which a test can cut without touching the server or the other nodes.
///
/// ``pause()`` stalls the path as a broken network does: connections stay open, nothing they send
/// arrives, nothing comes back, and new connections are accepted but carry nothing either.
/// ``resume()`` delivers what was held and carries on. ``stop()`` closes everything.
final class TCPRelay: @unchecked Sendable {
    // Safety: the descriptors are set once in init; `state` is under its lock.
    let port: Int
    private let target: Int
    private let listener: Int32
    private let state = Locked(State())

    private struct State {
        var paused = false
        var stopped = false
        var sockets: [Int32] = []
    }

    /// Listens on 127.0.0.1 and relays every connection to `127.0.0.1:target`.
    init(to target: Int) throws {
        self.target = target
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NodeFailure("relay: socket: errno \(errno)") }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw NodeFailure("relay: bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in accepting() }
    }

    /// The fleet URL of `cluster` through this relay.
    func url(of cluster: PostgresCluster) -> String {
        cluster.url.replacingOccurrences(of: "127.0.0.1:\(cluster.port)/", with: "127.0.0.1:\(port)/")
    }

    func pause() { state.withLock { $0.paused = true } }
    func resume() { state.withLock { $0.paused = false } }

    /// Ends the listener and every relayed connection; their threads close the descriptors as
    /// they end, under the lock that `stop` shuts them down under, so no number is reused under it.
    func stop() {
        state.withLock { s in
            s.stopped = true
            for socket in s.sockets { shutdown(socket, Int32(SHUT_RDWR)) }
        }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    private func accepting() {
        defer { close(listener) }
        while !stopped {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0,
                state.withLock({ s -> Bool in
                    guard !s.stopped else { return false }
                    s.sockets += [client, server]
                    return true
                })
            else {
                close(client)
                close(server)
                continue
            }
            let pumps = Locked(2)
            let ended: @Sendable () -> Void = { [self] in
                guard
                    pumps.withLock({ n -> Bool in
                        n -= 1
                        return n == 0
                    })
                else { return }
                state.withLock { s in
                    s.sockets.removeAll { $0 == client || $0 == server }
                    close(client)
                    close(server)
                }
            }
            Thread.detachNewThread { [self] in
                pump(from: client, to: server)
                ended()
            }
            Thread.detachNewThread { [self] in
                pump(from: server, to: client)
                ended()
            }
        }
    }

    /// Copies bytes from one side to the other; while paused, what was read is held, not written.
    /// A side that has gone is an end, not a SIGPIPE for the test process (`MSG_NOSIGNAL`).
    private func pump(from source: Int32, to sink: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            while state.withLock({ $0.paused && !$0.stopped }) { usleep(10_000) }
            var sent = 0
            while sent < n {
                let w = buffer.withUnsafeBytes { send(sink, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                guard w > 0 else {
                    finish(source, sink)
                    return
                }
                sent += w
            }
        }
        finish(source, sink)
    }

    /// One side ended: the other is told, so PostgreSQL or the node sees the connection end.
    private func finish(_ a: Int32, _ b: Int32) {
        shutdown(a, Int32(SHUT_RDWR))
        shutdown(b, Int32(SHUT_RDWR))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
