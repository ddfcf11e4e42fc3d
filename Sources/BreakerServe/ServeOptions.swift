public import BreakerFleet
public import Logging
public import NIOCore

/// How `breakerctl serve` listens and whom it lets in (SPEC §12).
public struct ServeOptions: Sendable {
    /// The address to bind; anything but loopback needs both tokens.
    public var host = "127.0.0.1"
    /// The port; 0 picks a free one (tests).
    public var port = 8710
    /// The operator token (`--operator-token-file`); without it operator endpoints answer `403`.
    public var operatorToken: [UInt8]?
    /// The agent token (`--agent-token-file`); with it every endpoint but `/livez` and `/readyz`
    /// needs a token.
    public var agentToken: [UInt8]?
    /// A connection with nothing read or written for this long is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// A request body that takes longer than this to arrive is refused with `408`.
    public var bodyTimeout: Duration = .seconds(10)
    /// An event-stream subscriber whose connection buffer stays full this long is disconnected
    /// (it resumes with `Last-Event-ID`).
    public var eventWriteTimeout: Duration = .seconds(10)
    /// Connections beyond this many are closed at once (`--max-connections`); `nil`: half the
    /// process's file-descriptor limit.
    public var maxConnections: Int?
    /// A report or audit covering more rows than this is refused with `400` (`--max-report-rows`).
    public var maxReportRows = 1_000_000
    /// One line per request problem; tokens are never in it.
    public var logger = Logger(label: "tenant-breaker.serve")
    /// The node's fleet service, when the node is in a fleet (`/readyz`'s `fleet`, `GET /v1/fleet`).
    public var fleet: FleetNode?
    /// Called once the server listens, with the port it got.
    public var onListening: (@Sendable (_ host: String, _ port: Int) -> Void)?

    public init() {}

    /// Whether `host` resolves to a loopback address (the only kind that may run without tokens),
    /// decided on the address it resolves to as the server binds it, not on its spelling.
    public static func isLoopback(_ host: String) -> Bool {
        guard let address = try? SocketAddress.makeAddressResolvingHost(host, port: 0) else { return false }
        return isLoopback(address)
    }

    /// Whether `address` is on the loopback interface: 127.0.0.0/8, `::1`, or 127/8 mapped into IPv6.
    public static func isLoopback(_ address: SocketAddress) -> Bool {
        guard let ip = address.ipAddress else { return false }
        switch address.protocol {
        case .inet: return ip.hasPrefix("127.")
        case .inet6: return ip == "::1" || ip.lowercased().hasPrefix("::ffff:127.")
        default: return false
        }
    }
}
