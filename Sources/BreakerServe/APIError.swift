import BreakerCore
import Hummingbird

/// A request the service refuses, answered `{"error": message}` with `status` (SPEC §12).
struct APIError: Error, Sendable {
    let status: HTTPResponse.Status
    let message: String
    /// The methods a path allows, for a `405`.
    var allow: String?

    init(_ status: HTTPResponse.Status, _ message: String, allow: String? = nil) {
        self.status = status
        self.message = message
        self.allow = allow
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// A bad name (SPEC §1) in `field`.
    static func badName(_ error: BreakerError, field: String) -> APIError {
        APIError(.badRequest, "\(field): \(error.message)")
    }
}
