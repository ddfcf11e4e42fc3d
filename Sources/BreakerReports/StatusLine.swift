package import BreakerCore
package import BreakerStore

/// One key of `status`: the JSON object (SPEC §11: tenant, tool, state, generation and more) and
/// the table row.
package struct StatusLine: Encodable, Sendable {
    package init(key: BreakerKey, status: KeyStatus, enforce: Bool = true, episode: KeyEpisode? = nil) {
        self.key = key
        self.status = status
        self.enforce = enforce
        self.episode = status.state == .closed ? nil : episode
    }

    package let key: BreakerKey
    package let status: KeyStatus
    /// The key's `enforce` setting: `false` for a key in shadow (SPEC §15), which blocks nothing.
    package let enforce: Bool
    /// For a key not CLOSED: when and why it left CLOSED, and the probes failed since.
    package let episode: KeyEpisode?

    enum Keys: String, CodingKey {
        case tenant, tool, state, generation, enforce
        case openedAt = "opened_at"
        case openTimeoutMs = "open_timeout_ms"
        case probeSuccesses = "probe_successes"
        case windowCalls = "window_calls"
        case windowFailures = "window_failures"
        case since, cause
        case failedProbes = "failed_probes"
        case failures, calls
        case p95Us = "p95_us"
    }

    /// When it opened; none for a CLOSED key.
    package var openedAt: Timestamp? { status.state == .closed ? nil : status.openedAt }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(key.tenant.rawValue, forKey: .tenant)
        try c.encode(key.tool.rawValue, forKey: .tool)
        try c.encode(status.state.name, forKey: .state)
        try c.encode(status.generation, forKey: .generation)
        try c.encode(openedAt?.iso8601, forKey: .openedAt)
        try c.encode(status.currentOpenTimeoutMs, forKey: .openTimeoutMs)
        try c.encode(status.probeSuccesses, forKey: .probeSuccesses)
        try c.encode(status.windowCalls, forKey: .windowCalls)
        try c.encode(status.windowFailures, forKey: .windowFailures)
        try c.encode(enforce, forKey: .enforce)
        // Why it is not CLOSED (null for a CLOSED key, or one whose opening the log no longer has).
        try c.encode(episode?.since.iso8601, forKey: .since)
        try c.encode(episode?.cause.name, forKey: .cause)
        try c.encode(episode?.failedProbes, forKey: .failedProbes)
        try c.encode(episode?.failures, forKey: .failures)
        try c.encode(episode?.calls, forKey: .calls)
        try c.encode(episode?.p95Us, forKey: .p95Us)
    }

    package static let header = ["TENANT", "TOOL", "STATE", "GEN", "OPENED AT", "OPEN TIMEOUT", "WINDOW CALLS", "FAILURES"]

    package var cells: [String] {
        [
            key.tenant.rawValue, key.tool.rawValue, status.state.name + (enforce ? "" : " (shadow)"), String(status.generation),
            openedAt?.iso8601 ?? "-",
            "\(status.currentOpenTimeoutMs) ms", String(status.windowCalls), String(status.windowFailures),
        ]
    }
}
