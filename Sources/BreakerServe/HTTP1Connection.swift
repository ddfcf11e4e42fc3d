import BreakerCore
import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The open connections of one server, at most `limit` (SPEC §12 Limits: a connection beyond it
/// is closed at once, so that the process keeps descriptors for its store and its own work).
final class ConnectionCount: Sendable {
    let limit: Int
    private let open = Locked(0)

    init(limit: Int) { self.limit = limit }

    /// Counts one more connection; `false` (and nothing counted) when `limit` are open.
    func admit() -> Bool {
        open.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func release() { open.withLock { $0 -= 1 } }

    var current: Int { open.withLock { $0 } }

    private let refusals = Locked((count: 0, noted: ContinuousClock.Instant.now - .seconds(2)))

    /// Counts one refused connection; returns how many were refused since the last note when
    /// a second has passed since it (one log line per second under a flood, not one per connection).
    func refused() -> Int? {
        refusals.withLock { r in
            r.count += 1
            guard ContinuousClock.now - r.noted >= .seconds(1) else { return nil }
            defer { r = (0, .now) }
            return r.count
        }
    }
}

extension Channel {
    /// Calls `body` once the client has closed its side of this connection, or it is gone.
    func whenClientGone(_ body: @escaping @Sendable () -> Void) {
        closeFuture.whenComplete { _ in body() }
        eventLoop.execute {
            guard let guardHandler = try? self.pipeline.syncOperations.handler(type: HTTP1Guard.self) else { return }
            guardHandler.onClientGone(body)
        }
    }
}

/// The process's file-descriptor limit (SPEC §12 Limits).
public enum DescriptorLimit {
    /// Raises the soft limit on open files to the hard limit and returns the soft limit now.
    @discardableResult
    public static func raise() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == rlim_t.max ? Int(Int32.max) : Int(min(UInt64(limit.rlim_cur), UInt64(Int32.max)))
    }
}

/// Hummingbird's HTTP/1.1 child channel with ``HTTP1Guard`` between NIO's HTTP/1 parser and the
/// HTTP types the responder sees: the guard still knows the request's version and method.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let connections: ConnectionCount
    let idleTimeout: Duration
    /// A request's body must arrive within this of its head (a `408` otherwise).
    var bodyTimeout: Duration = .seconds(10)
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: .init())
            try sync.addHandler(HTTP1Guard(connections: connections, bodyTimeout: bodyTimeout, logger: self.logger))
            try sync.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try sync.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

/// What HTTP/1 clients expect of a server beyond what the responder decides (SPEC §12 Limits):
/// - a connection beyond ``ConnectionCount/limit`` is closed at once;
/// - a response has the request's version (an HTTP/1.0 client gets HTTP/1.0), and the
///   connection closes after it when the request did not ask to keep it alive;
/// - `Expect: 100-continue` gets `100 Continue` before the body is read;
/// - `CONNECT` gets `405` with a length, and the connection is closed;
/// - a request whose body has not all arrived within the body timeout of its head gets `408`,
///   and the connection is closed (a slow client cannot hold a request open). The deadline is a
///   timer on the connection's event loop, set at the head and cancelled at the end: no task
///   and no wake-up per request.
final class HTTP1Guard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let connections: ConnectionCount
    private let logger: Logger
    private var counted = false
    /// The version of the request being answered.
    private var version = HTTPVersion.http1_1
    /// Whether the connection closes once the current response ends.
    private var closeAfterResponse = false
    /// Set once the connection is refused: nothing more is read.
    private var refusing = false
    /// Whether the client closed its side (or the connection is gone).
    private var clientGone = false
    private var whenClientGone: [@Sendable () -> Void] = []
    private let bodyTimeout: TimeAmount
    /// The deadline of the request whose body is arriving.
    private var bodyDeadline: Scheduled<Void>?

    init(connections: ConnectionCount, bodyTimeout: Duration, logger: Logger) {
        self.connections = connections
        self.bodyTimeout = TimeAmount(bodyTimeout)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = connections.admit()
        if !counted {
            refusing = true
            if context.channel.isActive { refuseConnection(context) }
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        guard counted else {
            refuseConnection(context)
            return
        }
        context.fireChannelActive()
    }

    /// Closes a connection beyond the limit at once.
    private func refuseConnection(_ context: ChannelHandlerContext) {
        if let n = connections.refused() {
            logger.warning("closed \(n) connection(s) at once: \(connections.limit) are open (--max-connections)")
        }
        context.close(promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        bodyDeadline?.cancel()
        bodyDeadline = nil
        if counted {
            counted = false
            connections.release()
        }
    }

    /// Calls `body` once the client has closed its side of the connection or the connection is
    /// gone (at once if that has happened): a stream being written to it can stop. On the
    /// connection's event loop.
    func onClientGone(_ body: @escaping @Sendable () -> Void) {
        if clientGone { body() } else { whenClientGone.append(body) }
    }

    private func noteClientGone() {
        guard !clientGone else { return }
        clientGone = true
        let callbacks = whenClientGone
        whenClientGone = []
        for c in callbacks { c() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { noteClientGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        noteClientGone()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusing else { return }
        let part = unwrapInboundIn(data)
        if case .head(let head) = part {
            version = head.version
            closeAfterResponse = !head.isKeepAlive
            if head.method == .CONNECT {
                refuse(context, version: head.version)
                return
            }
            if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            let version = head.version
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            bodyDeadline?.cancel()
            bodyDeadline = context.eventLoop.scheduleTask(in: bodyTimeout) {
                let (guardHandler, context) = loopBound.value
                guardHandler.bodyTimedOut(context, version: version)
            }
        } else if case .end = part {
            bodyDeadline?.cancel()
            bodyDeadline = nil
        }
        context.fireChannelRead(data)
    }

    /// The body of the current request did not all arrive in time: `408`, written whole below
    /// the encoder (the responder is still waiting for the body), and the connection closes.
    private func bodyTimedOut(_ context: ChannelHandlerContext, version: HTTPVersion) {
        bodyDeadline = nil
        let seconds = bodyTimeout.nanoseconds / 1_000_000_000
        let message = "the body did not arrive within \(seconds) seconds; send it at once"
        writeWhole(context, version: version, status: "408 Request Timeout", body: #"{"error":"\#(message)"}"#)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            head.version = version
            if closeAfterResponse && version == .http1_1 { head.headers.replaceOrAdd(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterResponse:
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        default:
            context.write(data, promise: promise)
        }
    }

    /// Answers `CONNECT` with `405` and closes: the service is no proxy. NIO's encoder frames
    /// every answer to `CONNECT` without a body, as a tunnel's; this one is written below it,
    /// whole, so that the client reads the refusal and its length.
    private func refuse(_ context: ChannelHandlerContext, version: HTTPVersion) {
        writeWhole(
            context, version: version, status: "405 Method Not Allowed",
            body: #"{"error":"CONNECT is not served: this service is no proxy"}"#, extraHeaders: "allow: GET, HEAD, POST\r\n")
    }

    /// Writes a whole JSON answer below the encoder, reads nothing more, and closes.
    private func writeWhole(
        _ context: ChannelHandlerContext, version: HTTPVersion, status: String, body: String, extraHeaders: String = ""
    ) {
        refusing = true
        let text =
            "HTTP/\(version.major).\(version.minor) \(status)\r\ncontent-type: application/json\r\n"
            + "content-length: \(body.utf8.count)\r\n\(extraHeaders)connection: close\r\n\r\n" + body
        let channel = context.channel
        guard let below = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) else {
            channel.close(promise: nil)
            return
        }
        below.writeAndFlush(NIOAny(channel.allocator.buffer(string: text))).whenComplete { _ in channel.close(promise: nil) }
    }
}
