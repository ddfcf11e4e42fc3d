public import BreakerCore

/// Per key, the time spent out of CLOSED, folded from its transitions in log order: what the SLA
/// report's `open_seconds` (SPEC §9) and the `open_too_long` alert are made of.
public struct NotClosedTracker: Sendable {
    /// Keys out of CLOSED now, with the time (ms) they left it.
    public private(set) var since: [BreakerKey: Int64] = [:]
    /// Finished intervals [left CLOSED, came back) in ms, in the order they ended.
    public private(set) var finished: [(from: Int64, to: Int64)] = []

    public init() {}

    /// Folds one transition.
    public mutating func fold(_ t: TransitionRecord) {
        let key = BreakerKey(tenant: t.tenant, tool: t.tool)
        if t.to == .closed {
            if let from = since.removeValue(forKey: key) { finished.append((from, t.time.milliseconds)) }
        } else if since[key] == nil {
            since[key] = t.time.milliseconds
        }
    }

    /// Every interval out of CLOSED; one still open runs to `end` (ms).
    public func intervals(endingAt end: Int64) -> [(from: Int64, to: Int64)] {
        finished + since.values.map { ($0, Swift.max($0, end)) }
    }
}
