import BreakerCore
import Hummingbird

/// A request's query parameters, decoded to exact bytes; an unknown or repeated parameter is a
/// `400` that names it.
struct Query: Sendable {
    private let values: [String: String]

    init(_ request: Request, allowed: Set<String>) throws(APIError) {
        guard let pairs = URLText.query(request.uri.query) else {
            throw .badRequest("the query is not percent-encoded UTF-8")
        }
        var values: [String: String] = [:]
        for (name, value) in pairs {
            guard allowed.contains(name) else {
                let known = allowed.isEmpty ? "this endpoint takes none" : "the parameters are \(allowed.sorted().joined(separator: ", "))"
                throw .badRequest("unknown query parameter \(JSONValue.quote(name)); \(known)")
            }
            guard values[name] == nil else { throw .badRequest("query parameter \(name) is given twice; give it once") }
            values[name] = value
        }
        self.values = values
    }

    subscript(name: String) -> String? { values[name] }

    /// The name in parameter `name` (SPEC §1), `nil` when absent.
    func name<Kind>(_ name: String) throws(APIError) -> Name<Kind>? {
        guard let text = values[name] else { return nil }
        do {
            return try Name<Kind>(text)
        } catch {
            throw .badName(error, field: name)
        }
    }

    /// The whole UTC hour in parameter `name` (the SLA report's range, as `report --from` reads it).
    func hour(_ name: String) throws(APIError) -> Timestamp? {
        guard let text = values[name] else { return nil }
        do {
            return try Timestamp.parseHour(text, field: name)
        } catch {
            throw .badRequest(error.message)
        }
    }

    /// The time in parameter `name`: a UTC time like 2026-11-28T10:05:00Z, or epoch ms.
    func time(_ name: String) throws(APIError) -> Timestamp? {
        guard let text = values[name] else { return nil }
        do {
            return try Timestamp.parseTime(text, field: name)
        } catch {
            throw .badRequest(error.message)
        }
    }

    /// `from` before `to` when both are given.
    static func checkRange(_ from: Timestamp?, _ to: Timestamp?) throws(APIError) {
        if let from, let to, from >= to { throw .badRequest("from must be before to") }
    }
}
