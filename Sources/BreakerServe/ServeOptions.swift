public import Logging

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
    /// How often `/v1/events` looks for new records.
    public var eventInterval: Duration = .milliseconds(100)
    /// One line per request problem; tokens are never in it.
    public var logger = Logger(label: "tenant-breaker.serve")
    /// Called once the server listens, with the port it got.
    public var onListening: (@Sendable (_ host: String, _ port: Int) -> Void)?

    public init() {}

    /// Whether `host` is a loopback address (the only kind that may run without tokens).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
