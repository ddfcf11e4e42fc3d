import Hummingbird
import HummingbirdCore
public import Logging
public import ServiceLifecycle

/// The ceiling of `serve`'s HTTP: the same server stack (Hummingbird with `serve`'s HTTP/1.1
/// channel, its connection guard and idle timeout) answering `{}` to every request without
/// touching a breaker. `bench serve --compare-http` drives it beside `serve` in one run.
public struct MinimalHTTPService: Service {
    let host: String
    let port: Int
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    /// A loopback server on `port` (0: any free port, told to `onListening`).
    public init(host: String = "127.0.0.1", port: Int = 0, logger: Logger, onListening: @escaping @Sendable (Int) -> Void) {
        self.host = host
        self.port = port
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let (logger, onListening, port) = (self.logger, self.onListening, self.port)
        let connections = ConnectionCount(limit: 4096)
        let guarded = HTTPServerBuilder { responder in
            GuardedHTTP1Channel(responder: responder, connections: connections, idleTimeout: .seconds(30), logger: logger)
        }
        let app = Application(
            responder: CallbackResponder { (_: Request, _: ServeContext) in HTTPAnswer.jsonText("{}") },
            server: guarded,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        try await app.run()
    }
}
