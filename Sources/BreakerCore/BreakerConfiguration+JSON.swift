extension BreakerConfiguration {
    /// Loads the JSON file format of SPEC §2:
    /// `{"defaults": {…}, "tools": {"code_exec": {…}}, "tenants": {"acme": {"tools": {"web_search": {…}}}}, "runtime": {…}}`.
    ///
    /// - Throws: ``BreakerError`` (`invalid_configuration`, or `malformed_json`) naming the key,
    ///   the value and what is allowed, for unknown keys, wrong types and out-of-range values.
    public init(json text: String) throws(BreakerError) {
        let root: JSONValue
        do {
            root = try JSONValue.parse(text)
        } catch {
            throw BreakerError(.invalidConfiguration, "configuration is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = root else {
            throw BreakerError(.invalidConfiguration, "configuration must be a JSON object, not \(root.typeName)")
        }
        var defaults = SettingsOverride()
        var tools: [ToolID: SettingsOverride] = [:]
        var tenants: [TenantID: [ToolID: SettingsOverride]] = [:]
        var runtime = RuntimeSettings()
        for (key, value) in members {
            switch key {
            case "defaults":
                defaults = try Self.parseOverride(value, at: "defaults")
            case "tools":
                for (tool, v) in try Self.object(value, at: "tools") {
                    tools[try Self.name(tool, at: "tools")] = try Self.parseOverride(v, at: "tools.\(tool)")
                }
            case "tenants":
                for (tenant, v) in try Self.object(value, at: "tenants") {
                    var byTool: [ToolID: SettingsOverride] = [:]
                    for (k, inner) in try Self.object(v, at: "tenants.\(tenant)") {
                        guard k == "tools" else {
                            throw BreakerError(
                                .invalidConfiguration,
                                "unknown key \"tenants.\(tenant).\(k)\"; a tenant entry holds only \"tools\"",
                                context: ["key": "tenants.\(tenant).\(k)"])
                        }
                        for (tool, o) in try Self.object(inner, at: "tenants.\(tenant).tools") {
                            byTool[try Self.name(tool, at: "tenants.\(tenant).tools")] = try Self.parseOverride(
                                o, at: "tenants.\(tenant).tools.\(tool)")
                        }
                    }
                    tenants[try Self.name(tenant, at: "tenants")] = byTool
                }
            case "runtime":
                for (k, v) in try Self.object(value, at: "runtime") {
                    switch k {
                    case "probeIntervalMs": runtime.probeIntervalMs = try Self.integer(v, at: "runtime.probeIntervalMs")
                    case "flushIntervalMs": runtime.flushIntervalMs = try Self.integer(v, at: "runtime.flushIntervalMs")
                    default:
                        throw BreakerError(
                            .invalidConfiguration,
                            "unknown key \"runtime.\(k)\"; allowed: probeIntervalMs, flushIntervalMs",
                            context: ["key": "runtime.\(k)"])
                    }
                }
            default:
                throw BreakerError(
                    .invalidConfiguration,
                    "unknown top-level key \"\(key)\"; allowed: defaults, tools, tenants, runtime",
                    context: ["key": key])
            }
        }
        try self.init(defaults: defaults, tools: tools, tenants: tenants, runtime: runtime)
    }

    /// The setting names accepted in an override, in SPEC §2's order.
    public static let settingNames = [
        "failureThreshold", "failureRateThreshold", "minimumCalls", "successThreshold", "windowMs", "openTimeoutMs",
        "latencyThresholdMs", "callTimeoutMs", "halfOpenMaxInFlight", "openTimeoutMultiplier", "maxOpenTimeoutMs",
        "globalOutageTenants", "autoPropagateGlobalOutage",
    ]

    /// A tenant or tool name used as an object key, validated (SPEC §1).
    private static func name<Kind>(_ text: String, at path: String) throws(BreakerError) -> Name<Kind> {
        do {
            return try Name<Kind>(text)
        } catch {
            throw BreakerError(.invalidConfiguration, "\(path): \(error.message)", context: ["key": path])
        }
    }

    private static func object(_ v: JSONValue, at path: String) throws(BreakerError) -> [(key: String, value: JSONValue)] {
        guard case .object(let m) = v else {
            throw BreakerError(.invalidConfiguration, "\(path) must be an object, not \(v.typeName)", context: ["key": path])
        }
        return m
    }

    private static func integer(_ v: JSONValue, at path: String) throws(BreakerError) -> Int64 {
        guard case .integer(let i) = v else {
            throw BreakerError(
                .invalidConfiguration, "\(path) must be an integer, not \(v.typeName) \(render(v))", context: ["key": path])
        }
        return i
    }

    private static func number(_ v: JSONValue, at path: String) throws(BreakerError) -> Double {
        switch v {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default:
            throw BreakerError(
                .invalidConfiguration, "\(path) must be a number, not \(v.typeName) \(render(v))", context: ["key": path])
        }
    }

    private static func render(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return String(reflecting: s)
        case .bool(let b): return String(b)
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        default: return ""
        }
    }

    private static func parseOverride(_ v: JSONValue, at path: String) throws(BreakerError) -> SettingsOverride {
        var o = SettingsOverride()
        for (key, value) in try object(v, at: path) {
            let p = "\(path).\(key)"
            func count() throws(BreakerError) -> Int {
                let i = try integer(value, at: p)
                guard i >= 1, i <= Int64(maxCount) else { throw range(p, "\(i)", "an integer from 1 to \(maxCount)") }
                return Int(i)
            }
            func ms() throws(BreakerError) -> Int64 {
                let i = try integer(value, at: p)
                guard i >= 1, i <= maxMs else { throw range(p, "\(i)", "an integer number of ms from 1 to \(maxMs)") }
                return i
            }
            switch key {
            case "failureThreshold": o.failureThreshold = try count()
            case "failureRateThreshold":
                switch value {
                case .null:
                    o.failureRateThreshold = nil
                    o.removesFailureRateThreshold = true
                default: o.failureRateThreshold = try number(value, at: p)
                }
            case "minimumCalls": o.minimumCalls = try count()
            case "successThreshold": o.successThreshold = try count()
            case "windowMs": o.windowMs = try ms()
            case "openTimeoutMs": o.openTimeoutMs = try ms()
            case "latencyThresholdMs": o.latencyThresholdMs = try ms()
            case "callTimeoutMs": o.callTimeoutMs = try ms()
            case "halfOpenMaxInFlight": o.halfOpenMaxInFlight = try count()
            case "openTimeoutMultiplier": o.openTimeoutMultiplier = try number(value, at: p)
            case "maxOpenTimeoutMs": o.maxOpenTimeoutMs = try ms()
            case "globalOutageTenants": o.globalOutageTenants = try count()
            case "autoPropagateGlobalOutage":
                guard case .bool(let b) = value else {
                    throw BreakerError(
                        .invalidConfiguration, "\(p) must be true or false, not \(value.typeName) \(render(value))",
                        context: ["key": p])
                }
                o.autoPropagateGlobalOutage = b
            default:
                throw BreakerError(
                    .invalidConfiguration,
                    "unknown setting \"\(p)\"; allowed: \(settingNames.joined(separator: ", "))",
                    context: ["key": p])
            }
        }
        return o
    }
}

extension BreakerConfiguration {
    /// The configuration in the file format of SPEC §2, keys sorted; `init(json:)` reads it back
    /// to an equal value.
    public var jsonText: String {
        func override(_ o: SettingsOverride) -> String {
            var parts: [String] = []
            func add(_ k: String, _ v: String?) { if let v { parts.append("\"\(k)\": \(v)") } }
            add("failureThreshold", o.failureThreshold.map { String($0) })
            add("failureRateThreshold", o.removesFailureRateThreshold ? "null" : o.failureRateThreshold.map { String($0) })
            add("minimumCalls", o.minimumCalls.map { String($0) })
            add("successThreshold", o.successThreshold.map { String($0) })
            add("windowMs", o.windowMs.map { String($0) })
            add("openTimeoutMs", o.openTimeoutMs.map { String($0) })
            add("latencyThresholdMs", o.latencyThresholdMs.map { String($0) })
            add("callTimeoutMs", o.callTimeoutMs.map { String($0) })
            add("halfOpenMaxInFlight", o.halfOpenMaxInFlight.map { String($0) })
            add("openTimeoutMultiplier", o.openTimeoutMultiplier.map { String($0) })
            add("maxOpenTimeoutMs", o.maxOpenTimeoutMs.map { String($0) })
            add("globalOutageTenants", o.globalOutageTenants.map { String($0) })
            add("autoPropagateGlobalOutage", o.autoPropagateGlobalOutage.map { String($0) })
            return "{" + parts.joined(separator: ", ") + "}"
        }
        let quote = JSONValue.quote
        let tools = self.tools.keys.sorted().map { "\(quote($0.rawValue)): \(override(self.tools[$0]!))" }.joined(separator: ", ")
        let tenants = self.tenants.keys.sorted().map { tenant in
            let byTool = self.tenants[tenant]!
            let inner = byTool.keys.sorted().map { "\(quote($0.rawValue)): \(override(byTool[$0]!))" }.joined(separator: ", ")
            return "\(quote(tenant.rawValue)): {\"tools\": {\(inner)}}"
        }.joined(separator: ", ")
        return
            "{\"defaults\": \(override(defaults)), \"tools\": {\(tools)}, \"tenants\": {\(tenants)}, \"runtime\": {\"probeIntervalMs\": \(runtime.probeIntervalMs), \"flushIntervalMs\": \(runtime.flushIntervalMs)}}"
    }
}
