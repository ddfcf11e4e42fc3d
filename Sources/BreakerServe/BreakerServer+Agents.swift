import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerStore
import Hummingbird

extension BreakerServer {
    /// `POST /v1/admit`: admit or reject one call (SPEC §4), answered once any transition it
    /// caused is durable.
    func admit(_ request: Request) async throws(APIError) -> Response {
        let body = try await JSONBody.read(request, fields: ["tenant", "tool", "turn"])
        let tenant: TenantID = try body.name("tenant")
        let tool: ToolID = try body.name("tool")
        let turn: TurnID = try body.name("turn")
        let breaker = owner.breaker
        switch await breaker.begin(tenant: tenant, tool: tool, turn: turn) {
        case .admitted(let call):
            let token = permits.issue(call)
            return HTTPAnswer.json(
                Admitted(permit: token, callTimeoutMs: call.callTimeoutMs, probe: call.permit.probe, shadow: call.permit.shadow?.name))
        case .rejected(let rejection):
            return HTTPAnswer.json(Rejected(signal: DegradationSignal(tool: tool, rejection: rejection)))
        case .untracked:
            let max = breaker.configuration.limits.maxKeys.map(String.init) ?? "no"
            throw APIError(
                .tooManyRequests,
                "the breaker holds its limit of \(max) keys (limits.maxKeys) and this would be a new one: nothing was recorded; run the call unguarded"
            )
        }
    }

    /// `POST /v1/complete`: how an admitted call ended (SPEC §5, §12).
    func complete(_ request: Request) async throws(APIError) -> Response {
        let body = try await JSONBody.read(request, fields: ["permit", "outcome", "error_type"])
        let token = try body.string("permit")!
        let outcome = try body.string("outcome")!
        let errorText = try body.string("error_type", required: false)
        // Everything is checked before the permit is taken: a refused request records nothing.
        let ending: CallEnding
        switch outcome {
        case "success", "cancelled":
            if errorText != nil { throw .badRequest("error_type goes with outcome \"failure\" only") }
            ending = outcome == "success" ? .success : .cancelled
        case "failure":
            do {
                ending = .failure(try ErrorType(errorText ?? "Error"))
            } catch {
                throw .badName(error, field: "error_type")
            }
        default:
            throw .badRequest("field \"outcome\" must be \"success\", \"failure\" or \"cancelled\", not \(JSONValue.quote(outcome))")
        }
        let call: InFlightCall
        switch permits.take(token) {
        case .live(let c): call = c
        case .expired: return HTTPAnswer.json(["recorded": "timeout"], status: .conflict)
        case .unknown:
            throw APIError(.notFound, "unknown permit: never issued, already completed, or issued before the service restarted")
        }
        // A completion that arrives after the deadline is recorded as a timeout, as `call` would.
        let end = await owner.breaker.end(call, ending)
        if end.recording.isTimeout { return HTTPAnswer.json(["recorded": "timeout"], status: .conflict) }
        let c = end.completion
        return HTTPAnswer.json(
            Completed(
                recorded: outcome, stale: c.stale, state: c.state.name,
                retryAfterSeconds: c.retryAfterMs <= 0 ? 0 : (c.retryAfterMs + 999) / 1000))
    }

    /// `GET /v1/status[?tenant=T]`: the array of `breakerctl status --format json`.
    func status(_ request: Request) throws(APIError) -> Response {
        let query = try Query(request, allowed: ["tenant"])
        let only: TenantID? = try query.name("tenant")
        let machine = owner.breaker.machine
        let keys = machine.keys.filter { only == nil || $0.tenant == only }.sorted()
        let episodes = (try? reader.episodes(of: Set(keys.filter { machine.status(of: $0)?.state != .closed }))) ?? [:]
        let lines = keys.map {
            StatusLine(
                key: $0, status: machine.status(of: $0)!, enforce: machine.configuration.settings(for: $0).enforce, episode: episodes[$0])
        }
        return HTTPAnswer.jsonText("[" + lines.map { try! JSONText.encode($0) }.joined(separator: ",\n") + "]\n")
    }

    /// `GET /v1/tenants/{tenant}/unavailable-tools`: what the agent's planner and system prompt
    /// need (SPEC §5).
    func unavailableTools(tenantSegment: Substring) throws(APIError) -> Response {
        guard let text = URLText.decode(tenantSegment) else {
            throw .badRequest("tenant: the path segment is not percent-encoded UTF-8")
        }
        let tenant: TenantID
        do {
            tenant = try TenantID(text)
        } catch {
            throw .badName(error, field: "tenant")
        }
        let tools = owner.breaker.unavailableTools(tenant: tenant)
        return HTTPAnswer.json(
            UnavailableAnswer(
                tools: tools.map { .init(toolName: $0.tool.rawValue, reason: $0.reason.name, retryAfterSeconds: $0.retryAfterSeconds) },
                systemPromptNote: UnavailableTool.systemPromptNote(for: tools)))
    }
}

struct Admitted: Encodable {
    let admitted = true
    let permit: String
    let callTimeoutMs: Int64
    let probe: Bool
    /// A key in shadow (SPEC §15): the rejection this call stands in for; absent otherwise.
    let shadow: String?

    enum CodingKeys: String, CodingKey {
        case admitted, permit
        case callTimeoutMs = "call_timeout_ms"
        case probe, shadow
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(admitted, forKey: .admitted)
        try c.encode(permit, forKey: .permit)
        try c.encode(callTimeoutMs, forKey: .callTimeoutMs)
        try c.encode(probe, forKey: .probe)
        try c.encodeIfPresent(shadow, forKey: .shadow)
    }
}

struct Rejected: Encodable {
    let admitted = false
    let signal: DegradationSignal

    enum CodingKeys: String, CodingKey { case admitted, signal }
}

struct Completed: Encodable {
    let recorded: String
    let stale: Bool
    let state: String
    /// 0 while the key is CLOSED, else seconds until a probe: what a failure's signal says (SPEC §5).
    let retryAfterSeconds: Int64

    enum CodingKeys: String, CodingKey {
        case recorded, stale, state
        case retryAfterSeconds = "retry_after_seconds"
    }
}

struct UnavailableAnswer: Encodable {
    struct Tool: Encodable {
        let toolName: String
        let reason: String
        let retryAfterSeconds: Int64

        enum CodingKeys: String, CodingKey {
            case toolName = "tool_name"
            case reason
            case retryAfterSeconds = "retry_after_seconds"
        }
    }

    let tools: [Tool]
    let systemPromptNote: String?

    enum CodingKeys: String, CodingKey {
        case tools
        case systemPromptNote = "system_prompt_note"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tools, forKey: .tools)
        try c.encode(systemPromptNote, forKey: .systemPromptNote)
    }
}
