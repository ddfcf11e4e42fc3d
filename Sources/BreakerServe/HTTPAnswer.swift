import BreakerReports
import Hummingbird
import NIOCore

/// Responses of the service: JSON (encoded one way everywhere, ``JSONText``), CSV, text.
enum HTTPAnswer {
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        // Every value the service answers has finite numbers only: encoding cannot fail.
        text(try! JSONText.encode(value), type: "application/json", status: status)
    }

    static func jsonText(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
        text(json, type: "application/json", status: status)
    }

    static func error(_ e: APIError) -> Response {
        var r = json(["error": e.message], status: e.status)
        if e.status == .methodNotAllowed, let allow = e.allow { r.headers[.allow] = allow }
        return r
    }

    static func text(_ body: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func bytes(_ body: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
