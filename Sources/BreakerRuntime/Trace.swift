public import BreakerCore

/// A simulation trace (SPEC §10): one JSON object a line, calls and operator actions.
public struct Trace: Sendable {
    /// One line of a trace.
    public enum Line: Sendable, Hashable {
        case call(TraceCall)
        case operatorAction(TraceOperatorAction)
        /// `{"at", "op": "configure", "config": {…}, "reason"?, "actor"?}` (SPEC §2, §10).
        case configure(TraceConfigure)
        /// `{"at", "op": "fleet", "tenant", "tool", "votes", "nodes": […]}`: a fleet episode reaching
        /// this node (SPEC §10, §14).
        case fleet(FleetRecord, line: Int)

        /// When the line happens.
        public var at: Timestamp {
            switch self {
            case .call(let c): c.at
            case .operatorAction(let o): o.at
            case .configure(let c): c.at
            case .fleet(let r, _): r.time
            }
        }
    }

    /// How a simulated call ends.
    public enum Result: Sendable, Hashable {
        case ok
        case error(type: ErrorType)
        case hang
        /// Not known: a rejection replayed by a what-if (SPEC §15). Never read from a trace file.
        /// Admitted, the call ends at once as cancelled: it is never in the window and frees
        /// its probe slot.
        case unknown
    }

    /// `{"at", "tenant", "tool", "turn", "latency_ms", "result", "error"?}`.
    public struct TraceCall: Sendable, Hashable {
        public var at: Timestamp
        public var tenant: TenantID
        public var tool: ToolID
        public var turn: TurnID
        /// ms; `nil` only for `hang`.
        public var latencyMs: Int64?
        public var result: Result
        /// 1-based line number in the file.
        public var line: Int
        /// The latency to the microsecond, when known more exactly than `latencyMs` (a what-if
        /// replays recorded latencies): the outcome carries it; the call still ends at
        /// `at + latencyMs`, so `latencyMs` is this value in whole milliseconds, rounded down.
        public var latencyUs: Int64?

        public init(
            at: Timestamp, tenant: TenantID, tool: ToolID, turn: TurnID, latencyMs: Int64?, result: Result, line: Int,
            latencyUs: Int64? = nil
        ) {
            self.latencyUs = latencyUs
            self.at = at
            self.tenant = tenant
            self.tool = tool
            self.turn = turn
            self.latencyMs = latencyMs
            self.result = result
            self.line = line
        }
    }

    /// `{"at", "op", "tool", "tenant"?, "hold"?, "reason"?, "actor"?}`.
    public struct TraceOperatorAction: Sendable, Hashable {
        public var at: Timestamp
        public var action: OperatorAction
        public var line: Int

        public init(at: Timestamp, action: OperatorAction, line: Int) {
            self.at = at
            self.action = action
            self.line = line
        }
    }

    /// A configuration change of a trace.
    public struct TraceConfigure: Sendable, Hashable {
        public var at: Timestamp
        public var configuration: BreakerConfiguration
        public var actor: String
        public var reason: String
        public var line: Int

        public init(at: Timestamp, configuration: BreakerConfiguration, actor: String, reason: String, line: Int) {
            self.at = at
            self.configuration = configuration
            self.actor = actor
            self.reason = reason
            self.line = line
        }
    }

    /// The lines, in file order (blank lines skipped).
    public var lines: [Line]

    public init(lines: [Line]) { self.lines = lines }

    /// Parses a whole trace. Nothing is run until every line is valid.
    /// - Throws: ``BreakerError`` (`invalid_trace`) naming the line, the field and the fix.
    public init(text: String) throws(BreakerError) {
        var lines: [Line] = []
        var lineNumber = 0
        var last: Timestamp? = nil
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let rawLine = raw.hasSuffix("\r") ? raw.dropLast() : raw[...]
            if rawLine.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let line = try Self.parseLine(rawLine, number: lineNumber)
            if let last, line.at < last {
                throw Self.error(
                    lineNumber,
                    "\"at\" \(line.at.iso8601) is earlier than the previous line's \(last.iso8601); lines must come in non-decreasing time")
            }
            last = line.at
            lines.append(line)
        }
        self.lines = lines
    }

    static func error(_ line: Int, _ message: String) -> BreakerError {
        BreakerError(.invalidTrace, "trace line \(line): \(message)", context: ["line": String(line)])
    }

    static func parseLine(_ text: Substring, number: Int) throws(BreakerError) -> Line {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw Self.error(number, error.message)
        }
        guard case .object(let members) = value else {
            throw Self.error(number, "expected a JSON object, got \(value.typeName)")
        }
        let f = LineFields(number: number, members: members)
        let at = try f.at()
        switch f.fields["op"] {
        case .string("configure")?: return try parseConfigure(f, at: at)
        case .string("fleet")?: return try parseFleet(f, at: at)
        case _?: return try parseOperator(f, at: at)
        case nil: return try parseCall(f, at: at)
        }
    }

    /// A configure line (SPEC §10): `{"at", "op": "configure", "config", "actor", "reason"}`.
    static func parseConfigure(_ f: LineFields, at: Timestamp) throws(BreakerError) -> Line {
        let allowed: Set<String> = ["at", "op", "config", "reason", "actor"]
        if let unknown = f.members.first(where: { !allowed.contains($0.key) }) {
            throw Self.error(
                f.number, "unknown field \"\(unknown.key)\" in a configure line; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        guard case .object? = f.fields["config"] else {
            throw Trace.error(f.number, "a configure line needs \"config\": an object in the format of SPEC §2")
        }
        let configuration: BreakerConfiguration
        do {
            configuration = try BreakerConfiguration(value: f.fields["config"]!)
        } catch {
            throw Trace.error(f.number, "\"config\": \(error.message)")
        }
        return .configure(
            TraceConfigure(
                at: at, configuration: configuration, actor: try f.string("actor", required: false) ?? "",
                reason: try f.string("reason", required: false) ?? "", line: f.number))
    }

    /// A fleet line (SPEC §10, §14): `{"at", "op": "fleet", "tenant", "tool", "votes", "nodes"}`.
    static func parseFleet(_ f: LineFields, at: Timestamp) throws(BreakerError) -> Line {
        let allowed: Set<String> = ["at", "op", "tenant", "tool", "votes", "nodes"]
        if let unknown = f.members.first(where: { !allowed.contains($0.key) }) {
            throw Self.error(
                f.number, "unknown field \"\(unknown.key)\" in a fleet line; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        let tenant = try f.name("tenant") { (s) throws(BreakerError) in try TenantID(s) }
        let tool = try f.name("tool") { (s) throws(BreakerError) in try ToolID(s) }
        guard case .integer(let votes)? = f.fields["votes"], votes >= 1, votes <= 1000 else {
            throw Trace.error(f.number, "a fleet line needs \"votes\": a whole number of nodes from 1 to 1000")
        }
        guard case .array(let list)? = f.fields["nodes"], list.count == votes else {
            throw Trace.error(f.number, "a fleet line needs \"nodes\": an array of as many node names as \"votes\" (\(votes))")
        }
        var nodes: [NodeID] = []
        for (i, item) in list.enumerated() {
            guard case .string(let s) = item else {
                throw Trace.error(f.number, "\"nodes\"[\(i)] must be a node name (a string), not \(item.typeName)")
            }
            do {
                nodes.append(try NodeID(s))
            } catch {
                throw Trace.error(f.number, "\"nodes\"[\(i)]: \(error.message)")
            }
        }
        return .fleet(FleetRecord(time: at, tenant: tenant, tool: tool, votes: Int(votes), nodes: nodes), line: f.number)
    }

    /// An operator line (SPEC §10): `{"at", "op", "tool", "tenant", "hold", "reason", "actor"}`.
    static func parseOperator(_ f: LineFields, at: Timestamp) throws(BreakerError) -> Line {
        let opValue = f.fields["op"]!
        let allowed: Set<String> = ["at", "op", "tool", "tenant", "hold", "reason", "actor"]
        if let unknown = f.members.first(where: { !allowed.contains($0.key) }) {
            throw Self.error(
                f.number, "unknown field \"\(unknown.key)\" in an operator line; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        guard case .string(let opName) = opValue else {
            throw Trace.error(f.number, "\"op\" must be a string, not \(opValue.typeName)")
        }
        let tool = try f.name("tool") { (s) throws(BreakerError) in try ToolID(s) }
        let tenant: TenantID? =
            f.fields["tenant"] == nil || f.fields["tenant"] == .null
            ? nil : try f.name("tenant") { (s) throws(BreakerError) in try TenantID(s) }
        var hold = false
        if let h = f.fields["hold"] {
            guard case .bool(let b) = h else { throw Trace.error(f.number, "\"hold\" must be true or false, not \(h.typeName)") }
            hold = b
        }
        let reason = try f.string("reason", required: false) ?? ""
        let actor = try f.string("actor", required: false) ?? ""
        let command: OperatorCommand
        switch opName {
        case "force_open": command = hold ? .forceOpenHold(ActionTarget(tenant)) : .forceOpen(ActionTarget(tenant))
        case "release": command = .release(ActionTarget(tenant))
        case "reset":
            guard let tenant else { throw Trace.error(f.number, "\"reset\" needs a \"tenant\"") }
            command = .reset(tenant)
        default:
            throw Trace.error(f.number, "unknown op \(String(reflecting: opName)); allowed: force_open, release, reset, configure, fleet")
        }
        if hold && opName != "force_open" {
            throw Trace.error(f.number, "\"hold\" applies only to force_open")
        }
        return .operatorAction(
            TraceOperatorAction(
                at: at, action: OperatorAction(command, tool: tool, actor: actor, reason: reason),
                line: f.number))
    }

    /// A call line (SPEC §10): `{"at", "tenant", "tool", "turn", "latency_ms", "result", "error"}`.
    static func parseCall(_ f: LineFields, at: Timestamp) throws(BreakerError) -> Line {
        let allowed: Set<String> = ["at", "tenant", "tool", "turn", "latency_ms", "result", "error"]
        if let unknown = f.members.first(where: { !allowed.contains($0.key) }) {
            throw Self.error(
                f.number,
                "unknown field \"\(unknown.key)\" in a call line; allowed: \(allowed.sorted().joined(separator: ", ")) (or \"op\" for an operator line)"
            )
        }
        let tenant = try f.name("tenant") { (s) throws(BreakerError) in try TenantID(s) }
        let tool = try f.name("tool") { (s) throws(BreakerError) in try ToolID(s) }
        let turn = try f.name("turn") { (s) throws(BreakerError) in try TurnID(s) }
        let resultName = try f.string("result")!
        let result: Result
        switch resultName {
        case "ok": result = .ok
        case "hang": result = .hang
        case "error":
            let name = try f.string("error", required: false) ?? "ToolError"
            let type: ErrorType
            do {
                type = try ErrorType(name)
            } catch {
                throw Trace.error(f.number, "\"error\": \(error.message)")
            }
            result = .error(type: type)
        default:
            throw Trace.error(f.number, "unknown result \(String(reflecting: resultName)); allowed: ok, error, hang")
        }
        if f.fields["error"] != nil, resultName != "error" {
            throw Trace.error(f.number, "\"error\" is only allowed with \"result\": \"error\"")
        }
        var latency: Int64? = nil
        switch f.fields["latency_ms"] {
        case nil:
            if result != .hang { throw Trace.error(f.number, "missing field \"latency_ms\" (it may be absent only for \"hang\")") }
        case .integer(let l)?:
            guard l >= 0 else { throw Trace.error(f.number, "\"latency_ms\" must be a non-negative integer, got \(l)") }
            latency = l
        case let v?:
            throw Trace.error(f.number, "\"latency_ms\" must be a non-negative integer, not \(v.typeName)")
        }
        return .call(TraceCall(at: at, tenant: tenant, tool: tool, turn: turn, latencyMs: latency, result: result, line: f.number))
    }

    /// The members of one trace line, and the readings every kind of line shares.
    struct LineFields {
        let number: Int
        let members: [(key: String, value: JSONValue)]
        let fields: [String: JSONValue]

        init(number: Int, members: [(key: String, value: JSONValue)]) {
            self.number = number
            self.members = members
            var fields: [String: JSONValue] = [:]
            for (k, v) in members { fields[k] = v }
            self.fields = fields
        }

        func string(_ key: String, required: Bool = true) throws(BreakerError) -> String? {
            guard let v = fields[key] else {
                if required { throw Trace.error(number, "missing field \"\(key)\"") }
                return nil
            }
            guard case .string(let s) = v else {
                throw Trace.error(number, "\"\(key)\" must be a string, not \(v.typeName)")
            }
            return s
        }

        func name<T>(_ key: String, _ make: (String) throws(BreakerError) -> T) throws(BreakerError) -> T {
            let s = try string(key)!
            do {
                return try make(s)
            } catch {
                throw Trace.error(number, "\"\(key)\": \(error.message)")
            }
        }

        /// The line's `at`: epoch milliseconds or an ISO 8601 UTC string.
        func at() throws(BreakerError) -> Timestamp {
            switch fields["at"] {
            case nil: throw Trace.error(number, "missing field \"at\"")
            case .integer(let ms)?:
                guard ms >= 0 else { throw Trace.error(number, "\"at\" must be non-negative epoch milliseconds, got \(ms)") }
                return Timestamp(milliseconds: ms)
            case .string(let s)?:
                guard let t = Timestamp(iso8601: s) else {
                    throw Trace.error(
                        number,
                        "\"at\" \(String(reflecting: s)) is not an ISO 8601 UTC time like 2026-11-28T10:00:00Z or 2026-11-28T10:00:00.250Z")
                }
                return t
            case let v?:
                throw Trace.error(number, "\"at\" must be integer epoch milliseconds or an ISO 8601 UTC string, not \(v.typeName)")
            }
        }
    }
}
