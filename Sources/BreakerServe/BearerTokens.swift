import Hummingbird

/// The service's bearer tokens (SPEC §12), compared in constant time and never logged.
struct BearerTokens: Sendable {
    /// Needed for the operator endpoints; without it they answer `403`.
    let operatorToken: [UInt8]?
    /// Needed (or the operator token) for every endpoint but `/livez` and `/readyz`, when set.
    let agentToken: [UInt8]?

    enum Role { case agent, `operator` }

    /// Whether `request` carries a token good for `role`; throws the answer when not.
    func check(_ request: Request, for role: Role) throws(APIError) {
        switch role {
        case .operator:
            guard let operatorToken else {
                throw APIError(.forbidden, "operator actions are disabled: start serve with --operator-token-file")
            }
            guard let given = Self.bearer(request), Self.same(given, operatorToken) else {
                throw APIError(.unauthorized, "operator actions need Authorization: Bearer <operator token>")
            }
        case .agent:
            guard let agentToken else { return }
            guard let given = Self.bearer(request),
                Self.same(given, agentToken) || operatorToken.map({ Self.same(given, $0) }) == true
            else {
                throw APIError(.unauthorized, "this service needs Authorization: Bearer <agent token>")
            }
        }
    }

    /// The token of an `Authorization: Bearer …` header.
    static func bearer(_ request: Request) -> [UInt8]? {
        guard let header = request.headers[.authorization] else { return nil }
        let bytes = Array(header.utf8)
        let prefix = Array("Bearer ".utf8)
        guard bytes.count > prefix.count, bytes[..<prefix.count].elementsEqual(prefix) else { return nil }
        return Array(bytes[prefix.count...])
    }

    /// Compares `a` with the secret `b` in time that depends only on their lengths, not on where
    /// they first differ.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count {
            diff |= b[i] ^ (i < a.count ? a[i] : ~b[i])
        }
        return diff == 0
    }
}
