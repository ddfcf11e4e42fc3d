import BreakerCore
import BreakerOwner
import BreakerRuntime
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// An application that embeds the breaker as the README shows: it owns a store through
/// `StoreOwner`, makes tool calls through the owner's breaker, and stops on SIGTERM.
/// Tests spawn it to check that CLI operator actions reach an embedding application.
///
///     breaker-embedding-example --db PATH
@main enum Main {
    static func main() async {
        let arguments = CommandLine.arguments
        guard let i = arguments.firstIndex(of: "--db"), i + 1 < arguments.count else {
            FileHandle.standardError.write(Data("usage: breaker-embedding-example --db PATH\n".utf8))
            exit(64)
        }
        do {
            var options = StoreOwner.Options()
            options.logger = Logger(label: "embedding-example", factory: { _ in SwiftLogNoOpLogHandler() })
            let owner = try StoreOwner(path: arguments[i + 1], options: options)
            FileHandle.standardOutput.write(Data("ready pid \(ProcessInfo.processInfo.processIdentifier)\n".utf8))
            try await owner.run(alongside: [.init(service: Agent(breaker: owner.breaker))], gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(1)
        }
    }
}

/// A toy agent: one web search every 20 ms for tenant acme until shutdown.
struct Agent: Service {
    let breaker: CircuitBreaker

    func run() async throws {
        var turn = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            turn += 1
            _ = try await breaker.call(tenant: "acme", tool: "web_search", turn: "turn-\(turn)") { "results" }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
