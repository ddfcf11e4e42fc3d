import Hummingbird

// SPEC §12 Limits: a web page cannot drive the service from a browser. A cross-site page can send
// requests that need no preflight (a form, `fetch` in `no-cors` mode): they carry an `Origin` that
// is not the service's own, or a body that is not `application/json`. A page that rebinds its own
// name to 127.0.0.1 sends its own name as `Host`.

extension BreakerServer {
    /// Refuses a request from another site: `421` for a `Host` that is not a loopback name or
    /// address while agent tokens are off, `403` for an `Origin` other than the service's own.
    func checkSite(_ request: Request) throws(APIError) {
        let authority = request.head.authority
        if tokens.agentToken == nil, let authority, !Self.isLoopback(authority: authority) {
            throw APIError(
                .misdirectedRequest,
                "Host \(authority) is not a loopback address: without --agent-token-file the service answers only requests addressed to 127.0.0.1, [::1] or localhost"
            )
        }
        if let origin = request.headers[.origin] {
            let own = authority.map { $0.lowercased() }
            let given = origin.lowercased()
            guard let own, given == "http://" + own || given == "https://" + own else {
                throw APIError(.forbidden, "requests from a web page at \(origin) are refused: only the service's own pages may call it")
            }
        }
    }

    /// Refuses a `POST` whose body is not declared `application/json` with `415`.
    static func checkJSONContent(_ request: Request) throws(APIError) {
        let type = request.headers[.contentType] ?? ""
        guard !isJSONMediaType(type) else { return }
        let given = type.isEmpty ? "no Content-Type" : "Content-Type \(type)"
        throw APIError(.unsupportedMediaType, "the body must be JSON sent with Content-Type: application/json, not \(given)")
    }

    /// Whether a `Content-Type` value is `application/json` (any case, parameters and blanks
    /// around it allowed), read as bytes: it runs on every `POST`.
    static func isJSONMediaType(_ type: String) -> Bool {
        var utf8 = type.utf8[...]
        if let semicolon = utf8.firstIndex(of: UInt8(ascii: ";")) { utf8 = utf8[..<semicolon] }
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let first = utf8.firstIndex(where: { !blank($0) }), let last = utf8.lastIndex(where: { !blank($0) }) else { return false }
        let media = utf8[first...last]
        let expected = "application/json".utf8
        return media.count == expected.count && zip(media, expected).allSatisfy { a, e in (a >= 0x41 && a <= 0x5A ? a | 0x20 : a) == e }
    }

    /// Whether a `Host` value (`name[:port]`) names this machine's loopback interface.
    static func isLoopback(authority: String) -> Bool {
        // The spellings a local client sends, without allocating: they come with every request.
        for fast in ["127.0.0.1", "localhost", "[::1]"] {
            let a = authority.utf8
            if a.starts(with: fast.utf8) {
                let rest = a.dropFirst(fast.utf8.count)
                if rest.isEmpty || (rest.first == UInt8(ascii: ":") && rest.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }) {
                    return true
                }
            }
        }
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            host = host[host.index(after: host.startIndex)..<close]
            return host == "::1"
        }
        if let colon = host.lastIndex(of: ":") {
            guard host[host.index(after: colon)...].allSatisfy(\.isASCIIDigit) else { return false }
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCIIDigit) && Int(p)! <= 255 }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
