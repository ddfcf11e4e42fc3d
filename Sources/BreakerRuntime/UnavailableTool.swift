import BreakerCore

/// A tool a tenant cannot use right now, for the agent's planner and system prompt.
public struct UnavailableTool: Sendable, Hashable, Encodable {
    /// The tool's name.
    public let tool: String
    /// `open`, `forced_open` or `half_open` (awaiting a health probe).
    public let state: String
    /// The rejection reason a call would get now.
    public let reason: String
    /// Seconds until a call may be admitted (rounded up, at least 1).
    public let retryAfterSeconds: Int64

    enum CodingKeys: String, CodingKey {
        case tool, state, reason
        case retryAfterSeconds = "retry_after_seconds"
    }

    static func list(in machine: BreakerMachine, tenant: TenantID, at now: Timestamp) -> [UnavailableTool] {
        var out: [ToolID: UnavailableTool] = [:]
        for key in machine.keys(of: tenant) {
            guard let st = machine.status(of: key) else { continue }
            let settings = machine.settings(for: key)
            func add(_ state: CircuitState, _ reason: RejectionReason, _ ms: Int64) {
                out[key.tool] = UnavailableTool(
                    tool: key.tool.rawValue, state: state.name, reason: reason.name,
                    retryAfterSeconds: max(1, (ms + 999) / 1000))
            }
            switch st.state {
            case .closed:
                break
            case .open:
                let remaining = (st.openedAt ?? now).milliseconds + st.currentOpenTimeoutMs - now.milliseconds
                if remaining > 0 { add(.open, .circuitOpen, remaining) }
            case .forcedOpen:
                add(.forcedOpen, .forcedOpen, settings.openTimeoutMs)
            case .halfOpen:
                let traits = machine.traits(of: key.tool)
                if traits.sideEffects && traits.hasHealthCheck {
                    add(.halfOpen, .awaitingHealthProbe, machine.configuration.runtime.probeIntervalMs)
                }
            }
        }
        // Tools under a tool-wide force-open that this tenant has not called yet.
        for tool in machine.knownTools where out[tool] == nil {
            guard let signal = machine.signal(for: tool), machine.status(of: BreakerKey(tenant: tenant, tool: tool)) == nil
            else { continue }
            let settings = machine.settings(for: BreakerKey(tenant: tenant, tool: tool))
            if signal.hold {
                out[tool] = UnavailableTool(
                    tool: tool.rawValue, state: CircuitState.forcedOpen.name, reason: RejectionReason.forcedOpen.name,
                    retryAfterSeconds: max(1, (settings.openTimeoutMs + 999) / 1000))
            } else {
                let remaining = signal.at.milliseconds + settings.openTimeoutMs - now.milliseconds
                if remaining > 0 {
                    out[tool] = UnavailableTool(
                        tool: tool.rawValue, state: CircuitState.open.name, reason: RejectionReason.circuitOpen.name,
                        retryAfterSeconds: max(1, (remaining + 999) / 1000))
                }
            }
        }
        return out.values.sorted { $0.tool.precedesInBytes($1.tool) }
    }

    /// The note for the system prompt naming `tools`, or `nil` when the list is empty.
    public static func systemPromptNote(for tools: [UnavailableTool]) -> String? {
        guard !tools.isEmpty else { return nil }
        let names = tools.map { "\($0.tool) (retry in about \($0.retryAfterSeconds) s)" }.joined(separator: ", ")
        return
            "Tools temporarily unavailable: \(names). Do not call them; plan without them, and if the task needs them, tell the user that this capability is limited right now."
    }
}
