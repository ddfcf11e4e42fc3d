public import BreakerCore

extension ExportLine {
    /// Reads back an exported line of one of the kinds a fleet node shares (SPEC §14: `transition`,
    /// `operator`, `global_outage`, `config`, `fleet`), as ``ExportLine/encode(to:)`` wrote it: the
    /// fleet's audit folds the nodes' published facts with the one ``AuditTimeline``.
    /// - Throws: ``BreakerError`` (`malformed_json`) naming the field that is missing or wrong, or
    ///   the kind when it is not one of those.
    public init(parsingFact text: String) throws(BreakerError) {
        let v = try JSONValue.parse(text)
        func field(_ name: String) throws(BreakerError) -> JSONValue {
            guard let value = v[name] else { throw Self.malformed("has no \"\(name)\"", text) }
            return value
        }
        func string(_ name: String) throws(BreakerError) -> String {
            guard case .string(let s) = try field(name) else { throw Self.malformed("\"\(name)\" is not a string", text) }
            return s
        }
        func optionalString(_ name: String) throws(BreakerError) -> String? {
            if case .null = try field(name) { return nil }
            return try string(name)
        }
        func integer(_ name: String) throws(BreakerError) -> Int64 {
            guard case .integer(let i) = try field(name) else { throw Self.malformed("\"\(name)\" is not an integer", text) }
            return i
        }
        func optionalInteger(_ name: String) throws(BreakerError) -> Int64? {
            if case .null = try field(name) { return nil }
            return try integer(name)
        }
        func named<T>(_ name: String, _ make: (String) -> T?) throws(BreakerError) -> T {
            let s = try string(name)
            guard let t = make(s) else { throw Self.malformed("\"\(name)\" is not a known value: \(s)", text) }
            return t
        }
        let time = Timestamp(milliseconds: try integer("ts"))
        let event: BreakerEvent
        switch try string("kind") {
        case "transition":
            event = .transition(
                TransitionRecord(
                    time: time, tenant: try TenantID(string("tenant")), tool: try ToolID(string("tool")),
                    from: try named("from", CircuitState.init(name:)), to: try named("to", CircuitState.init(name:)),
                    cause: try named("cause", TransitionCause.init(name:)), generation: UInt64(try integer("generation")),
                    failures: try optionalInteger("failures").map { Int($0) }, calls: try optionalInteger("calls").map { Int($0) },
                    p95Us: try optionalInteger("p95_us"), actor: try optionalString("actor"), reason: try optionalString("reason")))
        case "operator":
            event = .operatorAction(
                OperatorRecord(
                    time: time, tenant: try optionalString("tenant").map { (s: String) throws(BreakerError) in try TenantID(s) },
                    tool: try ToolID(string("tool")), op: try named("op", OperatorOp.init(name:)), actor: try string("actor"),
                    reason: try string("reason")))
        case "global_outage":
            event = .globalOutage(GlobalOutageRecord(time: time, tool: try ToolID(string("tool")), tenants: Int(try integer("tenants"))))
        case "config":
            event = .configuration(
                ConfigurationRecord(
                    time: time, configuration: try BreakerConfiguration(value: try field("config")), actor: try string("actor"),
                    reason: try string("reason")))
        case "fleet":
            guard case .array(let names) = try field("nodes") else { throw Self.malformed("\"nodes\" is not an array", text) }
            var nodes: [NodeID] = []
            for n in names {
                guard case .string(let s) = n else { throw Self.malformed("\"nodes\" holds a value that is not a name", text) }
                nodes.append(try NodeID(s))
            }
            event = .fleet(
                FleetRecord(
                    time: time, tenant: try TenantID(string("tenant")), tool: try ToolID(string("tool")), votes: Int(try integer("votes")),
                    nodes: nodes))
        case let kind:
            throw Self.malformed("is of kind \(kind), which a fleet node does not share", text)
        }
        self.init(seq: try integer("seq"), event: event)
    }

    static func malformed(_ what: String, _ text: String) -> BreakerError {
        BreakerError(.malformedJSON, "the exported record \(what): \(text.prefix(200))")
    }
}
