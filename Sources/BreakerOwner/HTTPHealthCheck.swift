public import BreakerCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Runs the configuration's HTTP health checks (SPEC §6) for an owner whose tools live
/// elsewhere: one HTTP/1.1 request, healthy when the answer's status is one the check expects.
///
/// Redirects are not followed (a `301` is unhealthy unless listed); `https` verifies the
/// server's certificate against the system's roots. The connection is closed after the answer's
/// head. The prober cancels a check at its timeout.
public enum HTTPHealthCheck {
    /// Why a check found the tool unhealthy; its type name is the probe's recorded error type.
    public struct UnhealthyStatus: Error, CustomStringConvertible {
        public let status: Int
        public let url: String
        public var description: String { "health check \(url) answered \(status)" }
    }

    /// The connection closed before an answer.
    public struct NoAnswer: Error, CustomStringConvertible {
        public let url: String
        public var description: String { "health check \(url) closed the connection without an answer" }
    }

    /// Runs `spec` once; returns when healthy, throws otherwise.
    public static func run(_ spec: HTTPHealthCheckSpec) async throws {
        let target = spec.target
        let tls: NIOSSLContext? = target.secure ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(spec.timeoutMs ?? 10_000))
        let channel = try await bootstrap.connect(host: target.host, port: target.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls {
                    let serverName = target.host.first?.isNumber == true || target.host.contains(":") ? nil : target.host
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
            }
        }
        let status: Int? = try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: spec.method), uri: target.path)
            let defaultPort = target.secure ? 443 : 80
            let host = target.host.contains(":") ? "[\(target.host)]" : target.host
            head.headers.add(name: "Host", value: target.port == defaultPort ? host : "\(host):\(target.port)")
            head.headers.add(name: "User-Agent", value: "tenant-breaker-health-check")
            head.headers.add(name: "Connection", value: "close")
            if spec.method != "GET" && spec.method != "HEAD" { head.headers.add(name: "Content-Length", value: "0") }
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            for try await part in inbound {
                if case .head(let answer) = part { return Int(answer.status.code) }
            }
            return nil
        }
        guard let status else { throw NoAnswer(url: spec.url) }
        guard spec.accepts(status: status) else { throw UnhealthyStatus(status: status, url: spec.url) }
    }
}
