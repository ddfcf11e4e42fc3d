import BreakerCore
import BreakerReports
import BreakerRuntime
import Foundation

/// The proxy's state between the two ends: the calls in flight and the requests whose answers
/// it changes. Driven by one loop, so messages are handled in the order they arrive.
struct Relay {
    let proxy: MCPProxy
    let client: LineWriter
    let server: LineWriter
    var inFlight: [String: MCPProxy.InFlight] = [:]
    /// Calls answered by the proxy at their deadline: the server's late answer is dropped.
    var timedOut: Set<String> = []
    var pendingLists: Set<String> = []
    var pendingInitialize: Set<String> = []
    /// The ids of the client's requests passed to the server and not yet answered.
    var openRequests: Set<String> = []
    /// When each kind of note was last written, and how many were held back since.
    var notes: [String: (at: ContinuousClock.Instant, heldBack: Int)] = [:]
    /// The unavailable tools the client last saw left out (`nil` before `initialize` is answered).
    var told: Set<ToolID>?
    var lastListCheck = ContinuousClock.now
    var lastUnguardedNote: ContinuousClock.Instant?
    var calls = 0

    init(proxy: MCPProxy, client: LineWriter, server: LineWriter) {
        self.proxy = proxy
        self.client = client
        self.server = server
    }

    var options: MCPProxy.Options { proxy.options }

    mutating func fromClient(_ line: [UInt8]) async {
        guard let message = try? JSONValue.parse(bytes: line), case .object = message else {
            note(every: "client-garbage", "a line from the client is not a JSON-RPC message; passed on unchanged")
            server.write(line)
            return
        }
        let method = message["method"].flatMap { if case .string(let m) = $0 { m } else { nil } }
        let id = message["id"]
        if method != nil, let id {
            // JSON-RPC: an id names one request in flight; a second with it could not be told apart.
            guard !openRequests.contains(id.text) && inFlight[id.text] == nil else {
                client.write(Self.error(id: id, code: -32600, "a request with id \(id.text) is already in flight; it was not passed on"))
                return
            }
            timedOut.remove(id.text)  // an earlier request with this id was answered at its deadline
        }
        switch (method, id) {
        case ("tools/call"?, let id?):
            await call(message, id: id, line: line)
            return
        case ("tools/list"?, let id?):
            pendingLists.insert(id.text)
        case ("initialize"?, let id?):
            pendingInitialize.insert(id.text)
        case ("notifications/cancelled"?, nil):
            if let request = message["params"]?["requestId"] {
                openRequests.remove(request.text)
                if let call = inFlight.removeValue(forKey: request.text) { await proxy.breaker.complete(call.permit, .cancelled) }
            }
        default:
            break
        }
        if method != nil, let id { openRequests.insert(id.text) }
        server.write(line)
    }

    /// A line from the client longer than `--max-message-bytes`: a request is answered with an
    /// error, anything else dropped; one note either way.
    mutating func clientTooLong(_ start: [UInt8], length: Int) {
        let id = LeadingID.find(in: start).flatMap { try? JSONValue.parse(bytes: Array($0.utf8)) }
        note(
            every: "client-too-long",
            "a message of \(length) bytes from the client is longer than --max-message-bytes (\(options.maxMessageBytes)); "
                + (id == nil ? "dropped" : "answered with an error, not passed on"))
        if let id {
            client.write(
                Self.error(
                    id: id, code: -32600,
                    "the message (\(length) bytes) is longer than the proxy's --max-message-bytes (\(options.maxMessageBytes))"))
        }
    }

    /// An answer from the server longer than `--max-message-bytes`: the client gets an error for
    /// its request instead (a call records a failure), anything else is dropped; one note.
    mutating func serverTooLong(_ start: [UInt8], length: Int) async {
        note(
            every: "server-too-long",
            "a message of \(length) bytes from the server is longer than --max-message-bytes (\(options.maxMessageBytes)); not passed on")
        guard let id = LeadingID.find(in: start).flatMap({ try? JSONValue.parse(bytes: Array($0.utf8)) }) else { return }
        let key = id.text
        if timedOut.remove(key) != nil { return }
        let wasOpen = openRequests.remove(key) != nil
        pendingLists.remove(key)
        pendingInitialize.remove(key)
        if let call = inFlight.removeValue(forKey: key) {
            await proxy.breaker.complete(call.permit, .failure(ErrorType(describing: "message_too_large")))
        } else if !wasOpen {
            return
        }
        client.write(
            Self.error(
                id: id, code: -32603,
                "the server's answer (\(length) bytes) is longer than the proxy's --max-message-bytes (\(options.maxMessageBytes))"))
    }

    /// A `tools/call`: rejected at once with the signal, or forwarded and watched.
    private mutating func call(_ message: JSONValue, id: JSONValue, line: [UInt8]) async {
        calls += 1
        guard case .string(let name)? = message["params"]?["name"], let tool = try? ToolID(name) else {
            server.write(line)  // not a tool name the breaker can key: the server answers it
            return
        }
        let turn = Self.turn(of: message, id: id, call: calls)
        switch await proxy.breaker.admit(tool: tool, turn: turn) {
        case .rejected(let signal):
            let content: JSONValue = .object([("type", .string("text")), ("text", .string(Self.text(of: signal)))])
            let result: JSONValue = .object([("content", .array([content])), ("isError", .bool(true))])
            client.write(Self.response(id: id, result: result))
            await checkList(force: true)
        case .admitted(let permit):
            inFlight[id.text] = MCPProxy.InFlight(
                id: id, tool: tool, permit: permit, deadline: ContinuousClock.now.advanced(by: .milliseconds(permit.callTimeoutMs)))
            server.write(line)
        case .unguarded(let reason):
            let now = ContinuousClock.now
            if lastUnguardedNote.map({ now - $0 > .seconds(10) }) ?? true {
                lastUnguardedNote = now
                note("\(reason); calls go through unguarded until it answers again")
            }
            server.write(line)
        }
    }

    /// The turn of a call: `_meta["tenantbreaker/turn"]` when it is a valid name, else the
    /// request's id (each call its own turn).
    static func turn(of message: JSONValue, id: JSONValue, call: Int) -> TurnID {
        if case .string(let t)? = message["params"]?["_meta"]?["tenantbreaker/turn"], let turn = try? TurnID(t) { return turn }
        let text: String
        if case .string(let s) = id { text = s } else { text = id.text }
        return (try? TurnID(text)) ?? (try! TurnID("request-\(call)"))
    }

    mutating func fromServer(_ line: [UInt8]) async {
        guard let message = try? JSONValue.parse(bytes: line), case .object = message else {
            note(every: "server-garbage", "a line from the server is not a JSON-RPC message; passed on unchanged")
            client.write(line)
            return
        }
        guard message["method"] == nil, let id = message["id"] else {
            client.write(line)  // notifications and the server's own requests (sampling, elicitation, roots)
            return
        }
        let key = id.text
        openRequests.remove(key)
        if timedOut.remove(key) != nil { return }  // answered at its deadline already
        if let call = inFlight.removeValue(forKey: key) {
            await proxy.breaker.complete(call.permit, outcome(of: message))
            client.write(line)
            await checkList(force: true)
        } else if pendingInitialize.remove(key) != nil {
            client.write(Self.announcingListChanges(message).text)
            told = options.listAll ? nil : await proxy.breaker.unavailableTools()
        } else if pendingLists.remove(key) != nil, !options.listAll {
            let unavailable = await proxy.breaker.unavailableTools()
            told = unavailable
            client.write(Self.filtering(message, leavingOut: unavailable).text)
        } else {
            client.write(line)
        }
    }

    /// How the answer to a call ends it (SPEC §13).
    func outcome(of answer: JSONValue) -> CallEnding {
        if let error = answer["error"] {
            if case .integer(let code)? = error["code"] { return .failure(ErrorType(describing: "rpc_error_\(code)")) }
            return .failure(ErrorType(describing: "rpc_error"))
        }
        if answer["result"]?["isError"] == .bool(true) {
            return options.toolErrorsAsSuccess ? .success : .failure(ErrorType(describing: "tool_error"))
        }
        return .success
    }

    mutating func tick() async {
        let now = ContinuousClock.now
        for (key, call) in inFlight where call.deadline <= now {
            inFlight[key] = nil
            openRequests.remove(key)
            timedOut.insert(key)
            if proxy.breaker.recordsTimeouts { await proxy.breaker.complete(call.permit, .timeout) }
            // SPEC §13: the same error result as a rejection, its signal saying tool_call_timeout,
            // so that the model re-plans rather than the client raising.
            let signal = DegradationSignal(tool: call.tool, reason: .timeout, retryAfterMs: 0, minimumOneSecond: false)
            let content: JSONValue = .object([("type", .string("text")), ("text", .string(Self.text(of: signal)))])
            client.write(Self.response(id: call.id, result: .object([("content", .array([content])), ("isError", .bool(true))])))
            let cancel: JSONValue = .object([
                ("jsonrpc", .string("2.0")), ("method", .string("notifications/cancelled")),
                ("params", .object([("requestId", call.id), ("reason", .string("timed out after \(call.permit.callTimeoutMs) ms"))])),
            ])
            server.write(cancel.text)
        }
        if now - lastListCheck >= options.listCheckInterval { await checkList(force: true) }
    }

    /// Tells the client `notifications/tools/list_changed` when the tools left out changed.
    mutating func checkList(force: Bool) async {
        lastListCheck = ContinuousClock.now
        guard let told, !options.listAll else { return }
        let now = await proxy.breaker.unavailableTools()
        guard now != told else { return }
        self.told = now
        client.write(#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#)
    }

    /// The server exited: every call in flight fails (`server_exit`) and is answered.
    mutating func serverExited() async {
        for (_, call) in inFlight {
            await proxy.breaker.complete(call.permit, .failure(ErrorType(describing: "server_exit")))
            let error: JSONValue = .object([("code", .integer(-32002)), ("message", .string("the MCP server exited during the call"))])
            client.write(JSONValue.object([("jsonrpc", .string("2.0")), ("id", call.id), ("error", error)]).text)
        }
        inFlight.removeAll()
        openRequests.removeAll()
    }

    static func error(id: JSONValue, code: Int, _ message: String) -> String {
        let error: JSONValue = .object([("code", .integer(Int64(code))), ("message", .string(message))])
        return JSONValue.object([("jsonrpc", .string("2.0")), ("id", id), ("error", error)]).text
    }

    /// The signal's JSON, encoded as `serve` and the CLI encode it (fields in SPEC §5's order).
    static func text(of signal: DegradationSignal) -> String {
        // The signal has no numbers that cannot be encoded.
        try! JSONText.encode(signal)
    }

    static func response(id: JSONValue, result: JSONValue) -> String {
        JSONValue.object([("jsonrpc", .string("2.0")), ("id", id), ("result", result)]).text
    }

    /// The `initialize` answer with `capabilities.tools.listChanged` set to true.
    static func announcingListChanges(_ answer: JSONValue) -> JSONValue {
        guard let result = answer["result"], case .object = result else { return answer }
        let capabilities = result["capabilities"] ?? .object([])
        let tools = (capabilities["tools"] ?? .object([])).setting("listChanged", to: .bool(true))
        return answer.setting("result", to: result.setting("capabilities", to: capabilities.setting("tools", to: tools)))
    }

    /// A `tools/list` answer without the tools in `unavailable`.
    static func filtering(_ answer: JSONValue, leavingOut unavailable: Set<ToolID>) -> JSONValue {
        guard !unavailable.isEmpty, let result = answer["result"], case .array(let tools)? = result["tools"] else { return answer }
        let kept = tools.filter { tool in
            guard case .string(let name)? = tool["name"], let id = try? ToolID(name) else { return true }
            return !unavailable.contains(id)
        }
        return answer.setting("result", to: result.setting("tools", to: .array(kept)))
    }

    func note(_ message: String) {
        FileHandle.standardError.write(Data("mcp-proxy: \(message)\n".utf8))
    }

    /// ``note(_:)`` at most once every 10 s for each `kind`: the first at once, later ones with
    /// the count held back since.
    mutating func note(every kind: String, _ message: String) {
        let now = ContinuousClock.now
        if let last = notes[kind], now - last.at < .seconds(10) {
            notes[kind] = (last.at, last.heldBack + 1)
            return
        }
        let heldBack = notes[kind]?.heldBack ?? 0
        notes[kind] = (now, 0)
        note(heldBack > 0 ? "\(message) (and \(heldBack) more like it since the last note)" : message)
    }
}
