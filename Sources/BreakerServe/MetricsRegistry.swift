import BreakerCore
public import CoreMetrics
import Synchronization

/// The metrics `serve` shows at `/metrics`, in Prometheus's text format (version 0.0.4), made
/// through swift-metrics: pass the registry as the owner's metrics factory.
///
/// Every key has five series (the runtime's metrics, SPEC §12, labelled by tenant and tool),
/// made when the key is first called and destroyed when it goes idle, so a busy node makes and
/// destroys series all the time. Making or destroying one costs the same whatever the number of
/// series: each family keeps its series in one table changed in place. Counters, gauges and
/// timers are what the breaker uses; a timer is a histogram in seconds, an aggregating recorder
/// a histogram of its values, a gauge or meter its last value.
public final class MetricsRegistry: MetricsFactory, Sendable {
    /// Histogram bucket bounds: for timers in seconds, for aggregating recorders in their unit.
    public static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    enum Kind: String {
        case counter, gauge, histogram
    }

    /// One metric name and its series, by rendered labels compared as bytes (SPEC §1: `café` in
    /// NFC and in NFD are two tenants, so two series). Only touched under the registry's lock.
    final class Family {
        let kind: Kind
        var series: [ByteString: Series] = [:]
        init(kind: Kind) { self.kind = kind }
    }

    private struct State {
        var families: [String: Family] = [:]
        /// The labels last rendered, kept so that a key's five series share one copy of them.
        var lastLabels = ByteString("")
    }

    private let state = Mutex(State())

    public init() {}

    // MARK: - MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        register(label, .counter, dimensions) { CounterSeries(name: $0, labels: $1) }
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if aggregate {
            return register(label, .histogram, dimensions) { HistogramSeries(name: $0, labels: $1, unit: 1) }
        }
        return register(label, .gauge, dimensions) { GaugeSeries(name: $0, labels: $1) }
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        register(label, .histogram, dimensions) { HistogramSeries(name: $0, labels: $1, unit: 1e9) }
    }

    public func destroyCounter(_ handler: any CounterHandler) { unregister(handler) }
    public func destroyRecorder(_ handler: any RecorderHandler) { unregister(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { unregister(handler) }

    /// The series of `name` with `dimensions`: the existing one, or a new one made by `make`. A
    /// name already used for another kind of metric gets a series that is not shown.
    private func register<S: Series>(
        _ label: String, _ kind: Kind, _ dimensions: [(String, String)], make: (String, ByteString) -> S
    ) -> S {
        let name = Self.metricName(label)
        let rendered = ByteString(Self.render(dimensions))
        return state.withLock { state in
            if state.lastLabels != rendered { state.lastLabels = rendered }
            let labels = state.lastLabels
            let family: Family
            if let f = state.families[name] {
                family = f
            } else {
                family = Family(kind: kind)
                state.families[name] = family
            }
            guard family.kind == kind else { return make(name, labels) }
            if let existing = family.series[labels] as? S { return existing }
            let series = make(name, labels)
            family.series[labels] = series
            return series
        }
    }

    private func unregister(_ handler: Any) {
        guard let series = handler as? Series else { return }
        state.withLock { state in
            guard let family = state.families[series.name], family.series[series.labels] === series else { return }
            family.series[series.labels] = nil
            if family.series.isEmpty { state.families[series.name] = nil }
        }
    }

    /// Series now shown, over all names.
    public var seriesCount: Int { state.withLock { $0.families.values.reduce(0) { $0 + $1.series.count } } }

    // MARK: - Exposition

    /// What each family of the project measures (the scrape's `# HELP` lines; README "Monitoring"
    /// lists the same).
    public static let helpTexts: [String: String] = [
        "agent_circuit_breaker_keys": "Keys of the tool in each circuit state (closed, half_open, open, forced_open).",
        "agent_circuit_breaker_open_total": "Entries of the tool's keys into OPEN or FORCED_OPEN.",
        "agent_circuit_breaker_recovery_total": "Entries of the tool's keys into CLOSED.",
        "agent_tool_call_blocked_total": "Admissions of the tool's keys that were rejected.",
        "agent_tool_call_would_block_total": "Calls of the tool's keys in shadow mode that enforcing would have rejected.",
        "agent_tool_call_latency_seconds": "Latency of every completed call of the tool, in seconds.",
        "agent_circuit_breaker_state": "State of a key that is not CLOSED: 1 half-open, 2 open, 3 forced open.",
        "agent_circuit_breaker_blocked_total": "Rejected admissions of a key that is not CLOSED, since it left CLOSED.",
        "agent_circuit_breaker_untracked_calls_total": "Calls run unguarded because their key would be beyond limits.maxKeys.",
        "agent_circuit_breaker_log_errors_total": "Failed attempts to write the event log.",
        "agent_circuit_breaker_log_dropped_total": "Call records dropped while the event log could not be written.",
        "agent_circuit_breaker_event_subscribers": "Streams of /v1/events open now.",
        "agent_tenant_slo_budget_remaining": "Share of the tenant's error budget left (1 whole, 0 spent, below 0 overspent).",
        "agent_tenant_slo_burn_rate": "How fast the tenant spends its error budget over the window (1: as fast as it accrues).",
    ]

    /// The `# HELP` text of `name`.
    static func help(_ name: String) -> String { helpTexts[name] ?? "TenantBreaker metric \(name)." }

    /// The text of a scrape: per name, sorted, `# HELP` and `# TYPE` lines and its series sorted by labels.
    /// The series are listed under the lock and rendered after it, so a scrape does not hold up
    /// a key's first call.
    public func emit(into buffer: inout [UInt8]) {
        let listed = state.withLock { state in
            state.families.map { (name: $0.key, kind: $0.value.kind, series: Array($0.value.series.values)) }
        }
        for family in listed.sorted(by: { $0.name < $1.name }) {
            buffer.append(contentsOf: "# HELP \(family.name) \(Self.help(family.name))\n".utf8)
            buffer.append(contentsOf: "# TYPE \(family.name) \(family.kind.rawValue)\n".utf8)
            for series in family.series.sorted(by: { $0.labels < $1.labels }) {
                series.emit(into: &buffer)
            }
        }
    }

    /// The text of a scrape.
    public func emitted() -> [UInt8] {
        var buffer: [UInt8] = []
        emit(into: &buffer)
        return buffer
    }

    /// `label` with every character outside `[a-zA-Z0-9_:]` replaced by `_` (and a leading
    /// digit prefixed with `_`), as Prometheus requires of a metric name.
    static func metricName(_ label: String) -> String {
        func allowed(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x3A
        }
        let bytes = label.utf8
        if let first = bytes.first, !(first >= 0x30 && first <= 0x39), bytes.allSatisfy(allowed) { return label }
        var out = bytes.first.map { $0 >= 0x30 && $0 <= 0x39 } ?? true ? "_" : ""
        for s in label.unicodeScalars { out.unicodeScalars.append(s.isASCII && allowed(UInt8(s.value)) ? s : "_") }
        return out
    }

    /// `name1="value1",name2="value2"` with backslash, double quote and line feed escaped in the
    /// values; label names are the breaker's own (`tenant_id`, `tool_name`).
    static func render(_ dimensions: [(String, String)]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(dimensions.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        for (i, (name, value)) in dimensions.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: metricName(name).utf8)
            out.append(contentsOf: "=\"".utf8)
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN` for the special ones).
    static func text(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }
}

/// One series: its name and rendered labels, and how it writes itself into a scrape.
class Series: @unchecked Sendable {
    // Safety: `name` and `labels` never change; subclasses keep their values in atomics or a Mutex.
    let name: String
    let labels: ByteString

    init(name: String, labels: ByteString) {
        self.name = name
        self.labels = labels
    }

    func emit(into buffer: inout [UInt8]) {}

    /// `name{labels} value\n` (`name value\n` without labels), with `suffix` after the name and
    /// `extra` (already rendered) after the labels.
    final func line(_ buffer: inout [UInt8], suffix: String = "", extra: String = "", value: String) {
        buffer.append(contentsOf: name.utf8)
        buffer.append(contentsOf: suffix.utf8)
        let labels = self.labels.string
        if !labels.isEmpty || !extra.isEmpty {
            buffer.append(UInt8(ascii: "{"))
            buffer.append(contentsOf: labels.utf8)
            if !labels.isEmpty && !extra.isEmpty { buffer.append(UInt8(ascii: ",")) }
            buffer.append(contentsOf: extra.utf8)
            buffer.append(UInt8(ascii: "}"))
        }
        buffer.append(UInt8(ascii: " "))
        buffer.append(contentsOf: value.utf8)
        buffer.append(UInt8(ascii: "\n"))
    }
}

final class CounterSeries: Series, CounterHandler, @unchecked Sendable {
    private let value = Atomic<Int64>(0)

    func increment(by amount: Int64) { value.wrappingAdd(amount, ordering: .relaxed) }
    func reset() { value.store(0, ordering: .relaxed) }

    override func emit(into buffer: inout [UInt8]) { line(&buffer, value: "\(value.load(ordering: .relaxed))") }
}

final class GaugeSeries: Series, RecorderHandler, @unchecked Sendable {
    private let bits = Atomic<UInt64>(0)

    func record(_ value: Int64) { record(Double(value)) }
    func record(_ value: Double) { bits.store(value.bitPattern, ordering: .relaxed) }

    override func emit(into buffer: inout [UInt8]) {
        line(&buffer, value: MetricsRegistry.text(Double(bitPattern: bits.load(ordering: .relaxed))))
    }
}

/// Observations counted into ``MetricsRegistry/buckets`` (after dividing by `unit`: 1e9 turns a
/// timer's nanoseconds into seconds), with their count and sum.
final class HistogramSeries: Series, TimerHandler, RecorderHandler, @unchecked Sendable {
    private struct State {
        /// Observations per bucket (not cumulative), the last one above every bound.
        var counts = [UInt64](repeating: 0, count: MetricsRegistry.buckets.count + 1)
        var sum = 0.0
    }

    private let unit: Double
    private let state = Mutex(State())

    init(name: String, labels: ByteString, unit: Double) {
        self.unit = unit
        super.init(name: name, labels: labels)
    }

    func recordNanoseconds(_ duration: Int64) { observe(Double(duration) / unit) }
    func record(_ value: Int64) { observe(Double(value) / unit) }
    func record(_ value: Double) { observe(value / unit) }

    private func observe(_ value: Double) {
        let bucket = MetricsRegistry.buckets.firstIndex { value <= $0 } ?? MetricsRegistry.buckets.count
        state.withLock { s in
            s.counts[bucket] += 1
            s.sum += value
        }
    }

    override func emit(into buffer: inout [UInt8]) {
        let s = state.withLock { $0 }
        var cumulative: UInt64 = 0
        for (i, bound) in MetricsRegistry.buckets.enumerated() {
            cumulative += s.counts[i]
            line(&buffer, suffix: "_bucket", extra: "le=\"\(bound)\"", value: "\(cumulative)")
        }
        cumulative += s.counts[MetricsRegistry.buckets.count]
        line(&buffer, suffix: "_bucket", extra: "le=\"+Inf\"", value: "\(cumulative)")
        line(&buffer, suffix: "_sum", value: MetricsRegistry.text(s.sum))
        line(&buffer, suffix: "_count", value: "\(cumulative)")
    }
}
