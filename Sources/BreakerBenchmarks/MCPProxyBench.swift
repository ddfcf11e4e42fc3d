import ArgumentParser
import BreakerCLI
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct MCPProxyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-proxy",
        abstract: "What mcp-proxy adds to a tools/call: the same stdio MCP server direct and through the proxy.",
        discussion: """
            Runs --calls sequential tools/call requests against an MCP server started directly, then \
            against the same server started through `breakerctl mcp-proxy --db` (a new store; every \
            call admitted, durably logged and completed), in one run. Prints the p50 of each and what \
            the proxy adds at p50 and p99. The server is the benchmark's own minimal one unless
            --server names another (e.g. "python3 Tests/MCPClients/mcp_test_server.py", tool ping).
            """)

    @Option(help: "Calls per half.") var calls = 2000
    @Option(help: ArgumentHelp("The MCP server command (default: a minimal built-in one).", valueName: "command")) var server: String?
    @Option(help: "The tool to call.") var tool = "ping"

    func validate() throws {
        guard (10...1_000_000).contains(calls) else { throw ValidationError("--calls must be from 10 to 1000000") }
    }

    func run() async throws {
        try await reportingErrors {
            let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let command = server.map { $0.split(separator: " ").map(String.init) } ?? [me, "bench", "mcp-echo-server"]
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let direct = try Self.measure(command, calls: calls, tool: tool)
            let proxied = try Self.measure(
                [me, "mcp-proxy", "--tenant", "bench", "--db", dir + "/proxy.sqlite", "--"] + command, calls: calls, tool: tool)
            let (d50, d99) = (Self.percentile(direct, 0.5), Self.percentile(direct, 0.99))
            let (p50, p99) = (Self.percentile(proxied, 0.5), Self.percentile(proxied, 0.99))
            writeOut(
                "{\"scenario\":\"mcp-proxy\",\"calls\":\(calls),\"direct_p50_us\":\(d50),\"proxied_p50_us\":\(p50),\"added_p50_us\":\(p50 - d50),\"added_p99_us\":\(p99 - d99)}\n"
            )
        }
    }

    static func percentile(_ values: [Int], _ q: Double) -> Int {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
    }

    /// Starts `command`, initializes a session, and times `calls` tools/call round trips (µs).
    static func measure(_ command: [String], calls: Int, tool: String) throws -> [Int] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var reader = LineFD(fd: output.fileHandleForReading.fileDescriptor)
        func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }
        func answer(to id: Int) throws {
            while let line = reader.next() {
                if line.contains("\"id\":\(id),") || line.contains("\"id\":\(id)}") || line.contains("\"id\": \(id),") { return }
            }
            throw BenchError("the MCP server closed its output before answering request \(id)")
        }
        send(
            #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#
        )
        try answer(to: 0)
        send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        var out: [Int] = []
        out.reserveCapacity(calls)
        for i in 1...calls {
            let start = ContinuousClock.now
            send(#"{"jsonrpc":"2.0","id":\#(i),"method":"tools/call","params":{"name":"\#(tool)","arguments":{}}}"#)
            try answer(to: i)
            let d = (ContinuousClock.now - start).components
            out.append(Int(d.seconds * 1_000_000 + d.attoseconds / 1_000_000_000_000))
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        return out
    }
}

/// Lines from a file descriptor, blocking.
struct LineFD {
    let fd: Int32
    var pending: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)

    init(fd: Int32) { self.fd = fd }

    mutating func next() -> String? {
        while true {
            if let i = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<i], as: UTF8.self)
                pending.removeFirst(i + 1)
                return line
            }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            guard n > 0 else { return nil }
            pending.append(contentsOf: buffer[0..<n])
        }
    }
}

/// `breakerctl bench mcp-echo-server`: the smallest stdio MCP server, for `bench mcp-proxy`:
/// answers initialize, tools/list (one tool, `ping`) and tools/call; ignores notifications.
struct MCPEchoServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-echo-server", abstract: "A minimal stdio MCP server for bench mcp-proxy.", shouldDisplay: false)

    func run() throws {
        var reader = LineFD(fd: 0)
        while let line = reader.next() {
            guard let idStart = line.range(of: "\"id\":") else { continue }
            let rest = line[idStart.upperBound...]
            let id = rest.prefix { $0 != "," && $0 != "}" }
            let result: String
            if line.contains("\"method\":\"initialize\"") {
                result =
                    #"{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"echo","version":"1"}}"#
            } else if line.contains("\"method\":\"tools/list\"") {
                result = #"{"tools":[{"name":"ping","inputSchema":{"type":"object"}}]}"#
            } else {
                result = #"{"content":[{"type":"text","text":"pong"}]}"#
            }
            let answer = "{\"jsonrpc\":\"2.0\",\"id\":\(id),\"result\":\(result)}\n"
            _ = answer.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress!, $0.count - 1) }
        }
    }
}
