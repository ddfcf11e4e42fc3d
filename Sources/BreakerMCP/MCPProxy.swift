public import BreakerCore
import Foundation
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `breakerctl mcp-proxy` (SPEC §13): relays stdio MCP between an agent's client (this
/// process's stdin and stdout) and the server it starts, with a breaker on every `tools/call`.
///
/// It parses only what it must: the method, id and params of requests, and the answers to the
/// requests it watches (`initialize`, `tools/list`, `tools/call`). Every other message, in either
/// direction and of any protocol version, is passed on byte for byte.
public final class MCPProxy: Sendable {
    public struct Options: Sendable {
        public var tenant: TenantID
        /// Count `isError` results as successes.
        public var toolErrorsAsSuccess = false
        /// Leave `tools/list` answers unfiltered.
        public var listAll = false
        /// How often the unavailable tools are compared with those the client was last told.
        public var listCheckInterval: Duration = .seconds(1)
        /// The longest message (line) relayed; a longer one is answered with an error when its id
        /// can be found, else dropped, with a note on standard error.
        public var maxMessageBytes = 16 << 20
        /// Bytes read from one side and not yet handled, at most (beyond one message).
        public var bufferBytes = 4 << 20
        public var logger = Logger(label: "tenant-breaker.mcp-proxy")

        public init(tenant: TenantID) {
            self.tenant = tenant
        }
    }

    enum Event: Sendable {
        case client([UInt8])
        case server([UInt8])
        case clientTooLong([UInt8], Int)
        case serverTooLong([UInt8], Int)
        case clientClosed
        case serverClosed
        /// SIGTERM or SIGINT: stop as when the client leaves.
        case stopSignal
        case tick
    }

    /// A `tools/call` forwarded to the server and not yet answered.
    struct InFlight {
        let id: JSONValue
        let tool: ToolID
        let permit: ProxyPermit
        let deadline: ContinuousClock.Instant
    }

    let breaker: any ProxyBreaker
    let options: Options

    public init(breaker: any ProxyBreaker, options: Options) {
        self.breaker = breaker
        self.options = options
    }

    /// Starts `command` and relays until one side ends. Returns the exit status: the server's
    /// when it exits, 0 when the client closes its end or the proxy is asked to stop.
    ///
    /// With `stopOnSignals`, SIGTERM and SIGINT stop the proxy as the client's leaving does: the
    /// server's input is closed (then SIGTERM, then SIGKILL), its last answers still relayed, and
    /// `run` returns 0 once it has exited — so the caller can make its store durable.
    public func run(
        command: [String], clientInput: Int32 = 0, clientOutput: Int32 = 1, stopOnSignals: Bool = false
    ) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let toServer = Pipe()
        let fromServer = Pipe()
        process.standardInput = toServer
        process.standardOutput = fromServer
        // The server's standard error is the proxy's (inherited).
        try process.run()
        let server = LineWriter(fd: toServer.fileHandleForWriting.fileDescriptor)
        let client = LineWriter(fd: clientOutput)
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        // Each side is read only as fast as the relay hands its messages on.
        let clientCredit = Credit(limit: options.bufferBytes)
        let serverCredit = Credit(limit: options.bufferBytes)
        defer {
            clientCredit.close()
            serverCredit.close()
        }
        LineReader.start(
            fd: clientInput, name: "mcp-client", maxBytes: options.maxMessageBytes, credit: clientCredit,
            line: { sink.yield(.client($0)) }, tooLong: { sink.yield(.clientTooLong($0, $1)) }, end: { sink.yield(.clientClosed) })
        LineReader.start(
            fd: fromServer.fileHandleForReading.fileDescriptor, name: "mcp-server", maxBytes: options.maxMessageBytes,
            credit: serverCredit, line: { sink.yield(.server($0)) }, tooLong: { sink.yield(.serverTooLong($0, $1)) },
            end: { sink.yield(.serverClosed) })
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(10))
                sink.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        let signals = stopOnSignals ? Self.watch([SIGTERM, SIGINT]) { sink.yield(.stopSignal) } : []
        defer { for source in signals { source.cancel() } }
        var relay = Relay(proxy: self, client: client, server: server)
        var stopping: Task<Void, Never>?
        for await event in events {
            switch event {
            case .client(let line):
                await relay.fromClient(line)
                clientCredit.release(line.count)
            case .server(let line):
                await relay.fromServer(line)
                serverCredit.release(line.count)
            case .clientTooLong(let start, let length): relay.clientTooLong(start, length: length)
            case .serverTooLong(let start, let length): await relay.serverTooLong(start, length: length)
            case .tick: await relay.tick()
            case .serverClosed:
                await relay.serverExited()
                await stopping?.value
                process.waitUntilExit()
                // The client left first: the proxy stopped the server, and ends as asked (0).
                if stopping != nil { return 0 }
                return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
            case .clientClosed, .stopSignal:
                // The server's last answers still go out while it stops.
                guard stopping == nil else { continue }
                server.close()
                stopping = Task { await Self.stop(process) }
            }
        }
        return 0
    }

    /// Runs `handler` on each of `signals` instead of their default action (ending the process
    /// with the store's last records still queued).
    static func watch(_ signals: [Int32], _ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    /// Stops the server as the stdio transport says: its input closed, then SIGTERM, then SIGKILL.
    static func stop(_ process: Process) async {
        for (wait, signal) in [(2.0, SIGTERM), (2.0, SIGKILL)] {
            let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(wait * 1000)))
            while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            guard process.isRunning else { return }
            kill(process.processIdentifier, signal)
        }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }
}
