public import BreakerCore

/// A tool a tenant cannot use right now, for the agent's planner and system prompt: what an
/// admission of its key would answer now (``BreakerMachine/prospect(of:at:)``).
///
/// Encodes as `{"tool", "state", "reason", "retry_after_seconds"}` with the names of SPEC §5.
public struct UnavailableTool: Sendable, Hashable, Encodable {
    /// The tool.
    public let tool: ToolID
    /// `open`, `forced_open` or `half_open` (awaiting a health probe).
    public let state: CircuitState
    /// The rejection reason a call would get now.
    public let reason: RejectionReason
    /// Seconds until a call may be admitted (rounded up, at least 1).
    public let retryAfterSeconds: Int64

    enum CodingKeys: String, CodingKey {
        case tool, state, reason
        case retryAfterSeconds = "retry_after_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tool.rawValue, forKey: .tool)
        try c.encode(state.name, forKey: .state)
        try c.encode(reason.name, forKey: .reason)
        try c.encode(retryAfterSeconds, forKey: .retryAfterSeconds)
    }

    /// The tools of `tenant`'s keys, and the tools under a tool-wide signal it has not called,
    /// whose admission would be rejected now — except a HALF_OPEN key whose probes are all in
    /// flight: it is testing the tool and may close within a call timeout. Sorted by name bytes.
    static func list(in machine: BreakerMachine, tenant: TenantID, at now: Timestamp) -> [UnavailableTool] {
        var tools = Set(machine.keys(of: tenant).map(\.tool))
        for tool in machine.knownTools where machine.signal(for: tool) != nil { tools.insert(tool) }
        var out: [UnavailableTool] = []
        for tool in tools {
            guard case .rejected(let state, let reason, let ms) = machine.prospect(of: BreakerKey(tenant: tenant, tool: tool), at: now),
                reason != .halfOpenProbeInFlight
            else { continue }
            out.append(UnavailableTool(tool: tool, state: state, reason: reason, retryAfterSeconds: max(1, (ms + 999) / 1000)))
        }
        return out.sorted { $0.tool.rawValue.precedesInBytes($1.tool.rawValue) }
    }

    /// The note for the system prompt naming `tools`, or `nil` when the list is empty.
    public static func systemPromptNote(for tools: [UnavailableTool]) -> String? {
        guard !tools.isEmpty else { return nil }
        let names = tools.map { "\($0.tool.rawValue) (retry in about \($0.retryAfterSeconds) s)" }.joined(separator: ", ")
        return
            "Tools temporarily unavailable: \(names). Do not call them; plan without them, and if the task needs them, tell the user that this capability is limited right now."
    }
}
