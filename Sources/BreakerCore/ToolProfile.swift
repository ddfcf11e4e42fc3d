/// What the configuration says a tool is like (SPEC §6): whether its calls change the world,
/// and the HTTP health check that probes it for a process whose tools live elsewhere (`serve`).
///
/// `"tools": {"X": {"healthCheck": {"url": "https://…", "method": "GET", "expectStatus": [200],
/// "timeoutMs": 2000}, "sideEffects": true}}`.
public struct ToolProfile: Sendable, Hashable {
    /// Calls change the world (SPEC §6).
    public var sideEffects: Bool
    /// The synthetic request that probes the tool; `nil`: none.
    public var healthCheck: HTTPHealthCheckSpec?

    public init(sideEffects: Bool = false, healthCheck: HTTPHealthCheckSpec? = nil) {
        self.sideEffects = sideEffects
        self.healthCheck = healthCheck
    }

    /// The traits the machine admits by.
    public var traits: ToolTraits { ToolTraits(sideEffects: sideEffects, hasHealthCheck: healthCheck != nil) }

    /// Nothing set: the same as no profile.
    public var isEmpty: Bool { !sideEffects && healthCheck == nil }
}

/// An HTTP health check (SPEC §6): the probe succeeds when the answer's status is one of
/// `expectStatus` within `timeoutMs`; redirects are not followed.
public struct HTTPHealthCheckSpec: Sendable, Hashable {
    /// `http://` or `https://`, with a host.
    public var url: String
    /// The request method, `GET` unless given.
    public var method: String
    /// The statuses that mean healthy; `nil`: any 2xx.
    public var expectStatus: [Int]?
    /// The longest the check may take; `nil`: the key's callTimeoutMs.
    public var timeoutMs: Int64?

    /// The methods a health check may use.
    public static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// - Throws: ``BreakerError`` (`invalid_configuration`) naming the key under `path` for a URL
    ///   that is not `http`/`https` with a host, an unknown method, a status outside 100–599 or a
    ///   timeout out of range.
    public init(
        url: String, method: String = "GET", expectStatus: [Int]? = nil, timeoutMs: Int64? = nil,
        at path: String = "healthCheck"
    ) throws(BreakerError) {
        self.url = url
        self.method = method
        self.expectStatus = expectStatus
        self.timeoutMs = timeoutMs
        guard HTTPTarget(url) != nil else {
            throw BreakerError(
                .invalidConfiguration,
                "\(path).url = \(String(reflecting: url)) is not a health-check URL; allowed: http://host[:port]/path or https://host[:port]/path",
                context: ["key": "\(path).url"])
        }
        guard Self.methods.contains(method) else {
            throw BreakerError(
                .invalidConfiguration,
                "\(path).method = \(String(reflecting: method)) is not allowed; allowed: \(Self.methods.joined(separator: ", "))",
                context: ["key": "\(path).method"])
        }
        if let expectStatus {
            guard !expectStatus.isEmpty else {
                throw BreakerError(
                    .invalidConfiguration, "\(path).expectStatus is empty; list the statuses that mean healthy, like [200]",
                    context: ["key": "\(path).expectStatus"])
            }
            for status in expectStatus where !(100...599).contains(status) {
                throw BreakerConfiguration.range("\(path).expectStatus", "\(status)", "HTTP statuses from 100 to 599")
            }
        }
        if let timeoutMs, timeoutMs < 1 || timeoutMs > BreakerConfiguration.maxMs {
            throw BreakerConfiguration.range(
                "\(path).timeoutMs", "\(timeoutMs)", "an integer number of ms from 1 to \(BreakerConfiguration.maxMs)")
        }
    }

    /// Whether an answer with `status` means healthy.
    public func accepts(status: Int) -> Bool {
        expectStatus.map { $0.contains(status) } ?? (200...299).contains(status)
    }

    /// Where the request goes.
    public var target: HTTPTarget { HTTPTarget(url)! }

    /// The check as configuration JSON, keys in a fixed order.
    public var jsonText: String {
        var parts = ["\"url\": \(JSONValue.quote(url))", "\"method\": \(JSONValue.quote(method))"]
        if let expectStatus { parts.append("\"expectStatus\": [\(expectStatus.map(String.init).joined(separator: ", "))]") }
        if let timeoutMs { parts.append("\"timeoutMs\": \(timeoutMs)") }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}

/// An `http` or `https` URL taken apart: scheme, host, port, and the path with its query.
public struct HTTPTarget: Sendable, Hashable {
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Starts with `/`.
    public var path: String

    /// `nil` unless `url` is `http://` or `https://` (any case) with a host, an optional port
    /// from 1 to 65535, and no spaces or control characters.
    public init?(_ url: String) {
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else { return nil }
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            secure = false
            rest = url.dropFirst(7)
        } else if lower.hasPrefix("https://") {
            secure = true
            rest = url.dropFirst(8)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var tail = String(rest[authorityEnd...])
        if let hash = tail.firstIndex(of: "#") { tail = String(tail[..<hash]) }
        path = tail.hasPrefix("/") ? tail : "/" + tail
        guard !authority.contains("@") else { return nil }
        var hostPart = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1]:8080.
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return nil }
        host = String(hostPart)
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            port = secure ? 443 : 80
        }
    }
}
