import BreakerCore
import Hummingbird
import NIOCore

/// A request's JSON object, read field by field: a missing, mistyped or unknown field is a `400`
/// that names it.
struct JSONBody: Sendable {
    /// The largest body accepted (SPEC §12); a longer one is a `413`.
    static let limit = 64 * 1024

    let value: JSONValue

    /// Reads and parses the body of `request`, which must be one JSON object whose fields are
    /// all among `fields`.
    static func read(_ request: Request, fields: Set<String>) async throws(APIError) -> JSONBody {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let length = declared, length > limit {
            throw APIError(.contentTooLarge, "the body is over 64 KiB (\(length) bytes); send at most \(limit) bytes")
        }
        let buffer = try await collect(request.body, declaredLength: declared)
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes: Array(buffer.readableBytesView))
        } catch {
            throw .badRequest("the body is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = value else {
            throw .badRequest("the body must be a JSON object, not \(value.typeName)")
        }
        for member in members where !fields.contains(member.key) {
            throw .badRequest(
                "unknown field \(JSONValue.quote(member.key)); the fields are \(fields.sorted().joined(separator: ", "))")
        }
        return JSONBody(value: value)
    }

    /// The body, at most ``limit`` bytes, whole. A client that is slow to send it gets its `408`
    /// from the connection's guard (``HTTP1Guard``), which closes the connection: a timer on the
    /// event loop rather than a task and a timer per request.
    private static func collect(_ body: RequestBody, declaredLength: Int?) async throws(APIError) -> ByteBuffer {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "the body is over 64 KiB; send at most \(limit) bytes")
        } catch {
            throw .badRequest("the body ended before it was whole (\(error)); send it whole")
        }
        // A connection closed mid-body must not pass for a shorter body: nothing is recorded.
        if let length = declaredLength, buffer.readableBytes != length {
            throw .badRequest("the body ended after \(buffer.readableBytes) of its \(length) bytes; send it whole")
        }
        return buffer
    }

    /// The string `field`; `nil` when absent or null and not `required`.
    func string(_ field: String, required: Bool = true) throws(APIError) -> String? {
        switch value[field] {
        case .string(let s): return s
        case nil, .null?:
            if required { throw .badRequest("missing field \"\(field)\" (a string)") }
            return nil
        case let other?: throw .badRequest("field \"\(field)\" must be a string, not \(other.typeName)")
        }
    }

    /// The boolean `field`, `false` when absent.
    func bool(_ field: String) throws(APIError) -> Bool {
        switch value[field] {
        case .bool(let b): return b
        case nil, .null?: return false
        case let other?: throw .badRequest("field \"\(field)\" must be true or false, not \(other.typeName)")
        }
    }

    /// The name `field` (SPEC §1).
    func name<Kind>(_ field: String) throws(APIError) -> Name<Kind> {
        let text = try string(field)!
        do {
            return try Name<Kind>(text)
        } catch {
            throw .badName(error, field: field)
        }
    }

    /// The optional name `field`.
    func optionalName<Kind>(_ field: String) throws(APIError) -> Name<Kind>? {
        guard let text = try string(field, required: false) else { return nil }
        do {
            return try Name<Kind>(text)
        } catch {
            throw .badName(error, field: field)
        }
    }
}
