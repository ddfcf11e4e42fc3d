import BreakerCore
import BreakerFleet
public import BreakerOwner
import BreakerRuntime
import BreakerStore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
public import ServiceLifecycle

/// `breakerctl serve` (SPEC §12): the HTTP face of a ``StoreOwner`` for agents in any language.
///
/// Run ``service`` alongside the owner — `owner.run(alongside: [.init(service: server.service)])`
/// — so that on graceful shutdown the server stops accepting and answers the requests in flight
/// first, and the owner then makes everything durable and writes its snapshot.
public final class BreakerServer: Sendable {
    let owner: StoreOwner
    let registry: MetricsRegistry
    let options: ServeOptions
    let tokens: BearerTokens
    let permits: PermitTable
    /// The owner's store, whose pool reads beside the writer (reports, audits, the event stream).
    /// Never a second `EventStore.openReader` in this process: opening and closing the file
    /// outside SQLite would drop the owner's POSIX locks on it.
    var reader: EventStore { owner.store }
    /// Set once the work before readiness is done (a configuration file recorded).
    let ready = Locked(false)
    /// Set when graceful shutdown begins: streamed answers end.
    let stopping = Locked(false)
    /// The event-stream subscribers, ended when graceful shutdown begins.
    let subscribers: Subscribers
    /// What the event streams carry, read once for all of them.
    let feed: EventFeed
    private let beforeReady: @Sendable () async throws -> Void

    /// A server for `owner` whose `/metrics` shows `registry` (the registry the owner's metrics
    /// factory writes to). `beforeReady` runs once the owner's writer runs and before `/readyz`
    /// answers `200` and the port accepts requests.
    public init(
        owner: StoreOwner, registry: MetricsRegistry, options: ServeOptions,
        beforeReady: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.owner = owner
        let breaker = owner.breaker
        self.permits = PermitTable(now: { breaker.monotonicNow() })
        self.registry = registry
        self.subscribers = Subscribers(
            gauge: registry.makeRecorder(label: "agent_circuit_breaker_event_subscribers", dimensions: [], aggregate: false))
        self.feed = EventFeed(owner.store)
        self.options = options
        self.tokens = BearerTokens(operatorToken: options.operatorToken, agentToken: options.agentToken)
        self.beforeReady = beforeReady
    }

    /// The HTTP server as a service.
    public var service: some Service { ServerService(server: self) }

    /// Answers one request; never throws (every problem is an answer, SPEC §12).
    func respond(to request: Request, channel: any Channel) async -> Response {
        do {
            return try await route(request, channel: channel)
        } catch let e as APIError {
            return HTTPAnswer.error(e)
        } catch let e as BreakerError {
            options.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(e.message)"])
            return HTTPAnswer.error(APIError(.serviceUnavailable, e.message))
        } catch {
            options.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return HTTPAnswer.error(APIError(.serviceUnavailable, "\(error)"))
        }
    }

    /// Finds the endpoint for `request` (404 for an unknown path, 405 for a wrong method) and
    /// checks its token.
    private func route(_ request: Request, channel: any Channel) async throws -> Response {
        let path = request.uri.path
        let method = request.method
        func allow(_ allowed: HTTPRequest.Method, role: BearerTokens.Role?) throws(APIError) {
            guard method == allowed || (allowed == .get && method == .head) else {
                throw APIError(.methodNotAllowed, "\(path) answers \(allowed.rawValue) only", allow: allowed.rawValue)
            }
            if let role { try tokens.check(request, for: role) }
            if allowed == .post { try Self.checkJSONContent(request) }
        }
        try checkSite(request)
        switch path {
        case "/livez":
            try allow(.get, role: nil)
            return HTTPAnswer.json(["status": "live"])
        case "/readyz":
            try allow(.get, role: nil)
            return readiness()
        case "/v1/admit":
            try allow(.post, role: .agent)
            return try await admit(request)
        case "/v1/complete":
            try allow(.post, role: .agent)
            return try await complete(request)
        case "/v1/status":
            try allow(.get, role: .agent)
            return try status(request)
        case "/v1/operator/force-open", "/v1/operator/release", "/v1/operator/reset":
            try allow(.post, role: .operator)
            return try await operatorAction(request, path: path)
        case "/v1/operator/configure":
            try allow(.post, role: .operator)
            return try await configure(request)
        case "/v1/report.csv", "/v1/report.json":
            try allow(.get, role: .agent)
            return try await report(request, json: path == "/v1/report.json")
        case "/v1/audit.csv":
            try allow(.get, role: .agent)
            return try await audit(request)
        case "/v1/events":
            try allow(.get, role: .agent)
            return try events(request, channel: channel)
        case "/v1/fleet":
            try allow(.get, role: .agent)
            return try await fleetStatus()
        case "/v1/slo":
            try allow(.get, role: .agent)
            return try await objectives(request)
        case "/metrics":
            try allow(.get, role: .agent)
            return HTTPAnswer.bytes(registry.emitted() + objectiveMetrics(), type: "text/plain; version=0.0.4; charset=utf-8")
        case "/":
            try allow(.get, role: nil)
            return HTTPAnswer.bytes(PackageResources.dashboard_html, type: "text/html; charset=utf-8")
        case "/openapi.json":
            try allow(.get, role: nil)
            return HTTPAnswer.bytes(PackageResources.openapi_json, type: "application/json")
        default:
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 5, parts[1] == "v1", parts[2] == "tenants", parts[4] == "unavailable-tools" {
                try allow(.get, role: .agent)
                return try unavailableTools(tenantSegment: parts[3])
            }
            throw APIError(.notFound, "no endpoint \(path); see /openapi.json")
        }
    }

    private func readiness() -> Response {
        guard ready.withLock({ $0 }) else {
            return HTTPAnswer.json(["status": "starting"], status: .serviceUnavailable)
        }
        let health = owner.health
        guard !health.failing else {
            return HTTPAnswer.json(
                ["status": "log_failing", "error": health.lastError ?? "the log cannot be written"], status: .serviceUnavailable)
        }
        guard let fleet = options.fleet else { return HTTPAnswer.json(["status": "ready"]) }
        // Deciding on its own evidence, a node cut off from the fleet is still ready (SPEC §14).
        return HTTPAnswer.json(["status": "ready", "fleet": fleet.isConnected ? "connected" : "disconnected"])
    }

    /// `GET /v1/fleet`: the fleet's nodes and episodes, read from its PostgreSQL now.
    private func fleetStatus() async throws -> Response {
        guard let fleet = options.fleet else {
            throw APIError(.notFound, "this node is not in a fleet: start serve with --fleet URL --node NAME")
        }
        do {
            return HTTPAnswer.json(try await fleet.status())
        } catch {
            throw APIError(.serviceUnavailable, "\(error.message); this node decides on its own evidence meanwhile")
        }
    }

    /// Runs the work before readiness, then marks the server ready.
    fileprivate func prepare() async throws {
        try await beforeReady()
        ready.withLock { $0 = true }
    }
}

/// A request's context: Hummingbird's, and the connection it came on (the event stream ends
/// when it closes).
struct ServeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// The Hummingbird application, stopped on graceful shutdown: it stops accepting, answers the
/// requests in flight, and ends the event streams.
struct ServerService: Service {
    let server: BreakerServer

    func run() async throws {
        let server = self.server
        let options = server.options
        let connections = ConnectionCount(limit: options.maxConnections ?? max(1, DescriptorLimit.raise() / 2))
        let misbound = Locked(false)
        let guarded = HTTPServerBuilder { responder in
            GuardedHTTP1Channel(
                responder: responder, connections: connections, idleTimeout: options.idleTimeout, bodyTimeout: options.bodyTimeout,
                logger: options.logger)
        }
        var app = Application(
            responder: CallbackResponder { (request: Request, context: ServeContext) in
                await server.respond(to: request, channel: context.channel)
            },
            server: guarded,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in
                // Loopback is decided on the address bound, whatever --host spelled.
                if server.tokens.agentToken == nil, let bound = channel.localAddress, !ServeOptions.isLoopback(bound) {
                    misbound.withLock { $0 = true }
                    options.logger.critical("bound \(bound), which is not loopback, without an agent token: stopping")
                    channel.close(promise: nil)
                    return
                }
                options.onListening?(options.host, channel.localAddress?.port ?? options.port)
            },
            logger: options.logger)
        app.beforeServerStarts { try await server.prepare() }
        let breaker = server.owner.breaker
        // Permits not completed by their deadline are recorded then as timeouts (SPEC §12).
        let sweeper = Task {
            await server.permits.sweep { call in await breaker.end(call, .timeout) }
        }
        defer { sweeper.cancel() }
        try await withGracefulShutdownHandler {
            try await app.run()
        } onGracefulShutdown: {
            server.stopping.withLock { $0 = true }
            server.subscribers.stopAll()
        }
        sweeper.cancel()
        server.permits.forgetAll()
        if misbound.withLock({ $0 }) {
            throw BreakerError(.invalidArgument, "serve bound a non-loopback address without --agent-token-file; give both token files")
        }
    }
}
