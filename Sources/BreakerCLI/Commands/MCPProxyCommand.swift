import ArgumentParser
import BreakerCore
import BreakerMCP
import BreakerOwner
import BreakerRuntime
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

struct MCPProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-proxy",
        abstract: "Put the breaker between an agent's MCP client and an MCP server (stdio).",
        discussion: """
            Starts the MCP server COMMAND and speaks MCP on this process's stdin and stdout, so the \
            agent's MCP client launches the proxy in place of the server (SPEC §13). Every tools/call \
            for tool X is a call for key (--tenant, X); the turn is params._meta["tenantbreaker/turn"] \
            when given, else the request id. A rejected call is answered at once with isError: true \
            and the "tool unavailable" signal; tools/list leaves out the tools unavailable to the \
            tenant, and the client gets notifications/tools/list_changed when that set changes.
            Every other message passes through unchanged. The server's stderr is this process's.

            Bounded both ways: each side is read only as fast as the other takes its messages; a \
            message longer than --max-message-bytes is not relayed (a request or an answer gets a \
            JSON-RPC error instead, with a note on stderr); a second request with the id of one in \
            flight gets a JSON-RPC error.

            The breaker: --breaker URL (a running `breakerctl serve`, shared by many proxies), or
            --db PATH (a store this proxy owns). If the serve cannot be reached, calls go through \
            unguarded and the proxy says so on stderr.

            Examples:
              breakerctl mcp-proxy --tenant acme --breaker http://127.0.0.1:8710 \\
                  -- python3 -m my_mcp_server
              breakerctl mcp-proxy --tenant acme --db acme.sqlite \\
                  -- npx -y @modelcontextprotocol/server-everything

            Closing stdin, SIGTERM and SIGINT stop the server, then make the store durable and \
            snapshot it.

            Exit codes: the server's exit status when it exits; 0 when the client closes stdin or \
            on SIGTERM or SIGINT; \
            1 failure (the server cannot start, the store is owned elsewhere); 64 bad arguments.
            """)

    @Option(
        help: ArgumentHelp("The tenant every call of this proxy belongs to.", valueName: "tenant"),
        transform: { try parseName($0) })
    var tenant: TenantID
    @Option(help: ArgumentHelp("The URL of a running `breakerctl serve`.", valueName: "url")) var breaker: String?
    @Option(help: ArgumentHelp("File holding the agent token of that serve, if it needs one.", valueName: "file"))
    var tokenFile: String?
    @Option(help: ArgumentHelp("A store this proxy owns, instead of a serve.", valueName: "path")) var db: String?
    @Option(help: ArgumentHelp("With --db: the configuration of a new store (JSON, SPEC §2).", valueName: "file"))
    var config: String?
    @Flag(help: "Count results with isError: true as successes (they are failures by default).")
    var toolErrorsAsSuccess = false
    @Flag(help: "Leave tools/list answers unfiltered.") var listAll = false
    @Option(help: ArgumentHelp("The longest message relayed, in bytes (default: 16 MiB).", valueName: "bytes"))
    var maxMessageBytes = 16 << 20
    @Argument(parsing: .postTerminator, help: ArgumentHelp("The MCP server to start, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the MCP server to start after --, e.g. -- python3 server.py") }
        if (breaker == nil) == (db == nil) { throw ValidationError("give the breaker: --breaker URL (a running serve) or --db PATH") }
        if config != nil && db == nil { throw ValidationError("--config configures the store of --db; a serve has its own") }
        if maxMessageBytes < 1024 { throw ValidationError("--max-message-bytes must be at least 1024") }
        if let breaker, URL(string: breaker)?.scheme?.hasPrefix("http") != true {
            throw ValidationError("--breaker \(breaker) is not an http:// URL")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let tenantID = tenant
            var options = MCPProxy.Options(tenant: tenantID)
            options.toolErrorsAsSuccess = toolErrorsAsSuccess
            options.listAll = listAll
            options.maxMessageBytes = maxMessageBytes
            if let breaker {
                let token = try tokenFile.map { try ServeCommand.token(from: $0, option: "--token-file") }.map {
                    String(decoding: $0, as: UTF8.self)
                }
                let proxy = MCPProxy(
                    breaker: RemoteProxyBreaker(url: URL(string: breaker)!, tenant: tenantID, token: token), options: options)
                Self.exit(with: try await proxy.run(command: command, stopOnSignals: true))
            }
            let configuration = try loadConfiguration(config)
            var ownerOptions = StoreOwner.Options(configuration: configuration)
            ownerOptions.logger = quietLogger
            let owner = try StoreOwner(path: db!, options: ownerOptions)
            if config != nil && owner.breaker.configuration != configuration {
                printError(
                    "note: \(db!) keeps its configuration in force; --config applies to new stores only (change it with `breakerctl configure`)"
                )
            }
            let running = Task { try await owner.run() }
            let proxy = MCPProxy(breaker: LocalProxyBreaker(breaker: owner.breaker, tenant: tenantID), options: options)
            // SIGTERM, SIGINT or the client closing stdin: the server stops, then the store.
            let status = try await proxy.run(command: command, stopOnSignals: true)
            // Cancelling the owner closes its writer: everything is durable, a snapshot written.
            running.cancel()
            try await running.value
            Self.exit(with: status)
        }
    }

    static func exit(with status: Int32) -> Never {
        Glibc.exit(status)
    }
}
