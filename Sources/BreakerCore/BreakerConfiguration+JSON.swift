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
        try self.init(value: root)
    }

    /// Reads a configuration from a parsed JSON object (see ``init(json:)``).
    public init(value root: JSONValue) throws(BreakerError) {
        guard case .object(let members) = root else {
            throw BreakerError(.invalidConfiguration, "configuration must be a JSON object, not \(root.typeName)")
        }
        var defaults = SettingsOverride()
        var tools: [ToolID: SettingsOverride] = [:]
        var tenants: [TenantID: [ToolID: SettingsOverride]] = [:]
        var runtime = RuntimeSettings()
        var limits = LimitSettings()
        var fleet = FleetSettings()
        var slo: ServiceLevelObjective?
        var tenantSettings: [TenantID: TenantSettings] = [:]
        var toolProfiles: [ToolID: ToolProfile] = [:]
        for (key, value) in members {
            switch key {
            case "defaults":
                defaults = try Self.parseOverride(value, at: "defaults")
            case "tools":
                for (tool, v) in try Self.object(value, at: "tools") {
                    let id: ToolID = try Self.name(tool, at: "tools")
                    // The tool's profile (SPEC §6) sits beside its settings.
                    var profile = ToolProfile()
                    var settings: [(key: String, value: JSONValue)] = []
                    for (k, inner) in try Self.object(v, at: "tools.\(tool)") {
                        switch k {
                        case "sideEffects": profile.sideEffects = try Self.bool(inner, at: "tools.\(tool).sideEffects")
                        case "healthCheck": profile.healthCheck = try Self.parseHealthCheck(inner, at: "tools.\(tool).healthCheck")
                        default: settings.append((k, inner))
                        }
                    }
                    tools[id] = try Self.parseOverride(.object(settings), at: "tools.\(tool)", profileKeys: true)
                    if !profile.isEmpty { toolProfiles[id] = profile }
                }
            case "tenants":
                for (tenant, v) in try Self.object(value, at: "tenants") {
                    var byTool: [ToolID: SettingsOverride] = [:]
                    var entry = TenantSettings()
                    for (k, inner) in try Self.object(v, at: "tenants.\(tenant)") {
                        switch k {
                        case "tools":
                            for (tool, o) in try Self.object(inner, at: "tenants.\(tenant).tools") {
                                byTool[try Self.name(tool, at: "tenants.\(tenant).tools")] = try Self.parseOverride(
                                    o, at: "tenants.\(tenant).tools.\(tool)")
                            }
                        case "enforce": entry.enforce = try Self.bool(inner, at: "tenants.\(tenant).enforce")
                        case "slo": entry.slo = try Self.parseObjective(inner, at: "tenants.\(tenant).slo")
                        default:
                            throw BreakerError(
                                .invalidConfiguration,
                                "unknown key \"tenants.\(tenant).\(k)\"; a tenant entry holds \"tools\", \"enforce\" and \"slo\"",
                                context: ["key": "tenants.\(tenant).\(k)"])
                        }
                    }
                    let id: TenantID = try Self.name(tenant, at: "tenants")
                    if !byTool.isEmpty { tenants[id] = byTool }
                    if !entry.isEmpty { tenantSettings[id] = entry }
                }
            case "slo":
                slo = try Self.parseObjective(value, at: "slo")
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
            case "limits":
                for (k, v) in try Self.object(value, at: "limits") {
                    switch k {
                    case "maxKeys":
                        if case .null = v {
                            limits.maxKeys = nil
                        } else {
                            let n = try Self.integer(v, at: "limits.maxKeys")
                            guard n >= 1 else {
                                throw BreakerError(
                                    .invalidConfiguration, "limits.maxKeys must be at least 1, or null for no bound; got \(n)",
                                    context: ["key": "limits.maxKeys"])
                            }
                            limits.maxKeys = Int(n)
                        }
                    default:
                        throw BreakerError(
                            .invalidConfiguration, "unknown key \"limits.\(k)\"; allowed: maxKeys", context: ["key": "limits.\(k)"])
                    }
                }
            case "fleet":
                for (k, v) in try Self.object(value, at: "fleet") {
                    guard fleet.set(k, try Self.integer(v, at: "fleet.\(k)")) else {
                        throw BreakerError(
                            .invalidConfiguration,
                            "unknown key \"fleet.\(k)\"; allowed: \(FleetSettings.names.joined(separator: ", "))",
                            context: ["key": "fleet.\(k)"])
                    }
                }
            default:
                throw BreakerError(
                    .invalidConfiguration,
                    "unknown top-level key \"\(key)\"; allowed: defaults, tools, tenants, runtime, limits, fleet, slo",
                    context: ["key": key])
            }
        }
        try self.init(
            defaults: defaults, tools: tools, tenants: tenants, runtime: runtime, limits: limits, fleet: fleet, slo: slo,
            tenantSettings: tenantSettings, toolProfiles: toolProfiles)
    }

    /// A health check (SPEC §6): `{"url": "https://…", "method": "GET", "expectStatus": [200], "timeoutMs": 2000}`,
    /// `url` required.
    private static func parseHealthCheck(_ v: JSONValue, at path: String) throws(BreakerError) -> HTTPHealthCheckSpec {
        var url: String?
        var method = "GET"
        var expectStatus: [Int]?
        var timeoutMs: Int64?
        for (key, value) in try object(v, at: path) {
            let p = "\(path).\(key)"
            switch key {
            case "url", "method":
                guard case .string(let text) = value else {
                    throw BreakerError(
                        .invalidConfiguration, "\(p) must be a string, not \(value.typeName) \(render(value))", context: ["key": p])
                }
                if key == "url" { url = text } else { method = text }
            case "expectStatus":
                guard case .array(let items) = value else {
                    throw BreakerError(
                        .invalidConfiguration, "\(p) must be an array of HTTP statuses, like [200], not \(value.typeName)",
                        context: ["key": p])
                }
                var statuses: [Int] = []
                for item in items { statuses.append(Int(clamping: try integer(item, at: p))) }
                expectStatus = statuses
            case "timeoutMs": timeoutMs = try integer(value, at: p)
            default:
                throw BreakerError(
                    .invalidConfiguration, "unknown key \"\(p)\"; allowed: url, method, expectStatus, timeoutMs", context: ["key": p])
            }
        }
        guard let url else {
            throw BreakerError(
                .invalidConfiguration, "\(path).url is missing: the http:// or https:// address to probe",
                context: ["key": "\(path).url"])
        }
        return try HTTPHealthCheckSpec(url: url, method: method, expectStatus: expectStatus, timeoutMs: timeoutMs, at: path)
    }

    /// The setting names accepted in an override, in SPEC §2's order.
    public static let settingNames = [
        "failureThreshold", "failureRateThreshold", "minimumCalls", "successThreshold", "windowMs", "openTimeoutMs",
        "latencyThresholdMs", "callTimeoutMs", "halfOpenMaxInFlight", "openTimeoutMultiplier", "maxOpenTimeoutMs",
        "globalOutageTenants", "autoPropagateGlobalOutage", "fleetQuorum", "enforce",
    ]

    /// An objective (SPEC §16): `{"objective": 99.5, "windowDays": 30, "bad": "blocked", "minTurns": 10}`,
    /// `objective` required.
    private static func parseObjective(_ v: JSONValue, at path: String) throws(BreakerError) -> ServiceLevelObjective {
        var objective: Double?
        var o = ServiceLevelObjective(objective: 0)
        for (key, value) in try object(v, at: path) {
            let p = "\(path).\(key)"
            switch key {
            case "objective": objective = try number(value, at: p)
            case "windowDays": o.windowDays = Int(clamping: try integer(value, at: p))
            case "minTurns": o.minTurns = Int(clamping: try integer(value, at: p))
            case "bad":
                guard case .string(let text) = value, let bad = ServiceLevelObjective.BadTurns(rawValue: text) else {
                    throw BreakerError(
                        .invalidConfiguration, "\(p) must be \"blocked\" or \"degraded\", not \(value.typeName) \(render(value))",
                        context: ["key": p])
                }
                o.bad = bad
            default:
                throw BreakerError(
                    .invalidConfiguration, "unknown key \"\(p)\"; allowed: objective, windowDays, bad, minTurns", context: ["key": p])
            }
        }
        guard let objective else {
            throw BreakerError(
                .invalidConfiguration, "\(path).objective is missing: the promised percentage of good turns, like 99.5",
                context: ["key": "\(path).objective"])
        }
        o.objective = objective
        return o
    }

    private static func bool(_ v: JSONValue, at path: String) throws(BreakerError) -> Bool {
        guard case .bool(let b) = v else {
            throw BreakerError(
                .invalidConfiguration, "\(path) must be true or false, not \(v.typeName) \(render(v))", context: ["key": path])
        }
        return b
    }

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

    private static func parseOverride(_ v: JSONValue, at path: String, profileKeys: Bool = false) throws(BreakerError)
        -> SettingsOverride
    {
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
            case "autoPropagateGlobalOutage": o.autoPropagateGlobalOutage = try bool(value, at: p)
            case "enforce": o.enforce = try bool(value, at: p)
            case "fleetQuorum":
                let i = try integer(value, at: p)
                guard i >= 1, i <= 1000 else { throw range(p, "\(i)", "an integer from 1 to 1000") }
                o.fleetQuorum = Int(i)
            case "sideEffects", "healthCheck":
                throw BreakerError(
                    .invalidConfiguration,
                    "\(p): \(key) belongs to the tool as a whole; set it under \"tools\", like \"tools\": {\"web_search\": {\"\(key)\": …}}",
                    context: ["key": p])
            default:
                let allowed = settingNames + (profileKeys ? ["sideEffects", "healthCheck"] : [])
                throw BreakerError(
                    .invalidConfiguration,
                    "unknown setting \"\(p)\"; allowed: \(allowed.joined(separator: ", "))",
                    context: ["key": p])
            }
        }
        return o
    }
}

extension BreakerConfiguration: Encodable {
    private struct Key: CodingKey {
        let stringValue: String
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// The file format of SPEC §2 (names sorted by their bytes): `init(json:)` reads it back to
    /// an equal value.
    public func encode(to encoder: any Encoder) throws {
        func encode(_ o: SettingsOverride, _ c: inout KeyedEncodingContainer<Key>) throws {
            if let v = o.failureThreshold { try c.encode(v, forKey: Key("failureThreshold")) }
            if o.removesFailureRateThreshold {
                try c.encodeNil(forKey: Key("failureRateThreshold"))
            } else if let v = o.failureRateThreshold {
                try c.encode(v, forKey: Key("failureRateThreshold"))
            }
            if let v = o.minimumCalls { try c.encode(v, forKey: Key("minimumCalls")) }
            if let v = o.successThreshold { try c.encode(v, forKey: Key("successThreshold")) }
            if let v = o.windowMs { try c.encode(v, forKey: Key("windowMs")) }
            if let v = o.openTimeoutMs { try c.encode(v, forKey: Key("openTimeoutMs")) }
            if let v = o.latencyThresholdMs { try c.encode(v, forKey: Key("latencyThresholdMs")) }
            if let v = o.callTimeoutMs { try c.encode(v, forKey: Key("callTimeoutMs")) }
            if let v = o.halfOpenMaxInFlight { try c.encode(v, forKey: Key("halfOpenMaxInFlight")) }
            if let v = o.openTimeoutMultiplier { try c.encode(v, forKey: Key("openTimeoutMultiplier")) }
            if let v = o.maxOpenTimeoutMs { try c.encode(v, forKey: Key("maxOpenTimeoutMs")) }
            if let v = o.globalOutageTenants { try c.encode(v, forKey: Key("globalOutageTenants")) }
            if let v = o.autoPropagateGlobalOutage { try c.encode(v, forKey: Key("autoPropagateGlobalOutage")) }
            if let v = o.fleetQuorum { try c.encode(v, forKey: Key("fleetQuorum")) }
            if let v = o.enforce { try c.encode(v, forKey: Key("enforce")) }
        }
        func encode(_ o: ServiceLevelObjective, _ c: inout KeyedEncodingContainer<Key>) throws {
            try c.encode(o.objective, forKey: Key("objective"))
            try c.encode(o.windowDays, forKey: Key("windowDays"))
            try c.encode(o.bad.rawValue, forKey: Key("bad"))
            try c.encode(o.minTurns, forKey: Key("minTurns"))
        }
        var root = encoder.container(keyedBy: Key.self)
        var d = root.nestedContainer(keyedBy: Key.self, forKey: Key("defaults"))
        try encode(defaults, &d)
        var t = root.nestedContainer(keyedBy: Key.self, forKey: Key("tools"))
        for tool in Set(tools.keys).union(toolProfiles.keys).sorted() {
            var c = t.nestedContainer(keyedBy: Key.self, forKey: Key(tool.rawValue))
            try encode(tools[tool] ?? SettingsOverride(), &c)
            if let profile = toolProfiles[tool] {
                if profile.sideEffects { try c.encode(true, forKey: Key("sideEffects")) }
                if let check = profile.healthCheck {
                    var h = c.nestedContainer(keyedBy: Key.self, forKey: Key("healthCheck"))
                    try h.encode(check.url, forKey: Key("url"))
                    try h.encode(check.method, forKey: Key("method"))
                    if let statuses = check.expectStatus { try h.encode(statuses, forKey: Key("expectStatus")) }
                    if let ms = check.timeoutMs { try h.encode(ms, forKey: Key("timeoutMs")) }
                }
            }
        }
        var n = root.nestedContainer(keyedBy: Key.self, forKey: Key("tenants"))
        for tenant in Set(tenants.keys).union(tenantSettings.keys).sorted() {
            var entry = n.nestedContainer(keyedBy: Key.self, forKey: Key(tenant.rawValue))
            if let enforce = tenantSettings[tenant]?.enforce { try entry.encode(enforce, forKey: Key("enforce")) }
            if let slo = tenantSettings[tenant]?.slo {
                var c = entry.nestedContainer(keyedBy: Key.self, forKey: Key("slo"))
                try encode(slo, &c)
            }
            var byTool = entry.nestedContainer(keyedBy: Key.self, forKey: Key("tools"))
            for tool in (tenants[tenant] ?? [:]).keys.sorted() {
                var c = byTool.nestedContainer(keyedBy: Key.self, forKey: Key(tool.rawValue))
                try encode(tenants[tenant]![tool]!, &c)
            }
        }
        var r = root.nestedContainer(keyedBy: Key.self, forKey: Key("runtime"))
        try r.encode(runtime.probeIntervalMs, forKey: Key("probeIntervalMs"))
        try r.encode(runtime.flushIntervalMs, forKey: Key("flushIntervalMs"))
        var l = root.nestedContainer(keyedBy: Key.self, forKey: Key("limits"))
        if let maxKeys = limits.maxKeys { try l.encode(maxKeys, forKey: Key("maxKeys")) } else { try l.encodeNil(forKey: Key("maxKeys")) }
        // Written only when it is not the default, so that a store outside any fleet keeps its text.
        if fleet != FleetSettings() {
            var f = root.nestedContainer(keyedBy: Key.self, forKey: Key("fleet"))
            for (name, value) in fleet.fields { try f.encode(value, forKey: Key(name)) }
        }
        if let slo {
            var c = root.nestedContainer(keyedBy: Key.self, forKey: Key("slo"))
            try encode(slo, &c)
        }
    }
}

extension BreakerConfiguration {
    /// The configuration in the file format of SPEC §2, keys sorted; `init(json:)` reads it back
    /// to an equal value.
    public var jsonText: String {
        func override(_ o: SettingsOverride) -> String {
            "{" + o.fieldTexts.map { "\"\($0.name)\": \($0.json)" }.joined(separator: ", ") + "}"
        }
        let quote = JSONValue.quote
        let tools = Set(self.tools.keys).union(toolProfiles.keys).sorted().map { tool in
            var fields = (self.tools[tool] ?? SettingsOverride()).fieldTexts.map { "\"\($0.name)\": \($0.json)" }
            if let profile = toolProfiles[tool] {
                if profile.sideEffects { fields.append("\"sideEffects\": true") }
                if let check = profile.healthCheck { fields.append("\"healthCheck\": \(check.jsonText)") }
            }
            return "\(quote(tool.rawValue)): {\(fields.joined(separator: ", "))}"
        }.joined(separator: ", ")
        let tenants = Set(self.tenants.keys).union(tenantSettings.keys).sorted().map { tenant in
            let byTool = self.tenants[tenant] ?? [:]
            let inner = byTool.keys.sorted().map { "\(quote($0.rawValue)): \(override(byTool[$0]!))" }.joined(separator: ", ")
            let own = tenantSettings[tenant]
            let enforce = own?.enforce.map { "\"enforce\": \($0), " } ?? ""
            let slo = own?.slo.map { "\"slo\": \($0.jsonText), " } ?? ""
            return "\(quote(tenant.rawValue)): {\(enforce)\(slo)\"tools\": {\(inner)}}"
        }.joined(separator: ", ")
        return
            "{\"defaults\": \(override(defaults)), \"tools\": {\(tools)}, \"tenants\": {\(tenants)}, \"runtime\": {\"probeIntervalMs\": \(runtime.probeIntervalMs), \"flushIntervalMs\": \(runtime.flushIntervalMs)}, \"limits\": {\"maxKeys\": \(limits.maxKeys.map(String.init) ?? "null")}\(fleetText)\(slo.map { ", \"slo\": \($0.jsonText)" } ?? "")}"
    }

    /// `, "fleet": {…}` when the fleet settings are not the defaults, else nothing.
    var fleetText: String {
        guard fleet != FleetSettings() else { return "" }
        return ", \"fleet\": {" + fleet.fields.map { "\"\($0.name)\": \($0.value)" }.joined(separator: ", ") + "}"
    }
}

extension SettingsOverride {
    /// The settings this override sets, as (name, JSON text), in the order of SPEC §2's table;
    /// a removed rate rule is `failureRateThreshold: null`.
    public var fieldTexts: [(name: String, json: String)] {
        var out: [(name: String, json: String)] = []
        func add(_ k: String, _ v: String?) { if let v { out.append((k, v)) } }
        add("failureThreshold", failureThreshold.map { String($0) })
        add("failureRateThreshold", removesFailureRateThreshold ? "null" : failureRateThreshold.map { String($0) })
        add("minimumCalls", minimumCalls.map { String($0) })
        add("successThreshold", successThreshold.map { String($0) })
        add("windowMs", windowMs.map { String($0) })
        add("openTimeoutMs", openTimeoutMs.map { String($0) })
        add("latencyThresholdMs", latencyThresholdMs.map { String($0) })
        add("callTimeoutMs", callTimeoutMs.map { String($0) })
        add("halfOpenMaxInFlight", halfOpenMaxInFlight.map { String($0) })
        add("openTimeoutMultiplier", openTimeoutMultiplier.map { String($0) })
        add("maxOpenTimeoutMs", maxOpenTimeoutMs.map { String($0) })
        add("globalOutageTenants", globalOutageTenants.map { String($0) })
        add("autoPropagateGlobalOutage", autoPropagateGlobalOutage.map { String($0) })
        add("fleetQuorum", fleetQuorum.map { String($0) })
        add("enforce", enforce.map { String($0) })
        return out
    }
}

extension BreakerConfiguration {
    /// What differs from `old`, one line a setting, like
    /// `tools.vector_db.latencyThresholdMs: (inherited) → 5000`, in file order (names by their bytes).
    /// Empty when the two are equal.
    public func changes(from old: BreakerConfiguration) -> [String] {
        var lines: [String] = []
        func compare(_ scope: String, _ before: SettingsOverride?, _ after: SettingsOverride?) {
            let b = Dictionary((before?.fieldTexts ?? []).map { ($0.name, $0.json) }, uniquingKeysWith: { a, _ in a })
            let a = Dictionary((after?.fieldTexts ?? []).map { ($0.name, $0.json) }, uniquingKeysWith: { a, _ in a })
            for name in BreakerConfiguration.settingNames where b[name] != a[name] {
                lines.append("\(scope).\(name): \(b[name] ?? "(inherited)") → \(a[name] ?? "(inherited)")")
            }
        }
        // A name is written bare when it is plain ASCII letters, digits, `_` and `-`, else quoted.
        func part(_ name: String) -> String {
            let plain =
                !name.isEmpty
                && name.utf8.allSatisfy {
                    $0 == 0x5F || $0 == 0x2D || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                }
            return plain ? name : JSONValue.quote(name)
        }
        compare("defaults", old.defaults, defaults)
        func line(_ name: String, _ before: String?, _ after: String?) {
            if before != after { lines.append("\(name): \(before ?? "(none)") → \(after ?? "(none)")") }
        }
        for tool in Set(old.tools.keys).union(tools.keys).union(old.toolProfiles.keys).union(toolProfiles.keys).sorted() {
            compare("tools.\(part(tool.rawValue))", old.tools[tool], tools[tool])
            let (b, a) = (old.toolProfiles[tool], toolProfiles[tool])
            line("tools.\(part(tool.rawValue)).sideEffects", String(b?.sideEffects ?? false), String(a?.sideEffects ?? false))
            line("tools.\(part(tool.rawValue)).healthCheck", b?.healthCheck?.jsonText, a?.healthCheck?.jsonText)
        }
        line("slo", old.slo?.jsonText, slo?.jsonText)
        for tenant in Set(old.tenantSettings.keys).union(tenantSettings.keys).sorted() {
            let (b, a) = (old.tenantSettings[tenant], tenantSettings[tenant])
            line("tenants.\(part(tenant.rawValue)).enforce", b?.enforce.map { String($0) }, a?.enforce.map { String($0) })
            line("tenants.\(part(tenant.rawValue)).slo", b?.slo?.jsonText, a?.slo?.jsonText)
        }
        for tenant in Set(old.tenants.keys).union(tenants.keys).sorted() {
            let before = old.tenants[tenant] ?? [:]
            let after = tenants[tenant] ?? [:]
            for tool in Set(before.keys).union(after.keys).sorted() {
                compare("tenants.\(part(tenant.rawValue)).tools.\(part(tool.rawValue))", before[tool], after[tool])
            }
        }
        if old.runtime.probeIntervalMs != runtime.probeIntervalMs {
            lines.append("runtime.probeIntervalMs: \(old.runtime.probeIntervalMs) → \(runtime.probeIntervalMs)")
        }
        if old.runtime.flushIntervalMs != runtime.flushIntervalMs {
            lines.append("runtime.flushIntervalMs: \(old.runtime.flushIntervalMs) → \(runtime.flushIntervalMs)")
        }
        if old.limits.maxKeys != limits.maxKeys {
            lines.append("limits.maxKeys: \(old.limits.maxKeys.map(String.init) ?? "null") → \(limits.maxKeys.map(String.init) ?? "null")")
        }
        for ((name, before), (_, after)) in zip(old.fleet.fields, fleet.fields) where before != after {
            lines.append("fleet.\(name): \(before) → \(after)")
        }
        return lines
    }
}
