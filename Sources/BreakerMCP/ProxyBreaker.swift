public import BreakerCore
import BreakerOwner
import BreakerReports
public import BreakerRuntime
public import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The breaker the MCP proxy asks (SPEC §13): a store it owns, or a `serve` many proxies share.
public protocol ProxyBreaker: Sendable {
    /// Admits or rejects one call of `tool` for the proxy's tenant.
    func admit(tool: ToolID, turn: TurnID) async -> ProxyAdmission
    /// Records how an admitted call ended (a timeout at its deadline).
    func complete(_ permit: ProxyPermit, _ ending: CallEnding) async
    /// The tools unavailable to the proxy's tenant now (names compared by bytes, SPEC §1).
    func unavailableTools() async -> Set<ToolID>
    /// Whether a timed-out call must be recorded by the proxy (a `serve` records its own).
    var recordsTimeouts: Bool { get }
}

/// An admitted call, as the proxy keeps it.
public struct ProxyPermit: Sendable {
    /// The local breaker's call in flight, or the `serve` permit string.
    enum Handle: Sendable {
        case local(InFlightCall)
        case remote(String)
    }

    let handle: Handle
    /// The call timeout it was admitted with, ms.
    public let callTimeoutMs: Int64
}

public enum ProxyAdmission: Sendable {
    case admitted(ProxyPermit)
    /// Rejected: the §5 signal to answer the call with.
    case rejected(DegradationSignal)
    /// The breaker could not be asked (an unreachable `serve`): the call goes through unguarded.
    case unguarded(reason: String)
}

/// The breaker of a store the proxy owns (`--db`).
public struct LocalProxyBreaker: ProxyBreaker {
    let breaker: CircuitBreaker
    let tenant: TenantID

    public init(breaker: CircuitBreaker, tenant: TenantID) {
        self.breaker = breaker
        self.tenant = tenant
    }

    public var recordsTimeouts: Bool { true }

    public func admit(tool: ToolID, turn: TurnID) async -> ProxyAdmission {
        switch await breaker.begin(tenant: tenant, tool: tool, turn: turn) {
        case .admitted(let call):
            return .admitted(ProxyPermit(handle: .local(call), callTimeoutMs: call.callTimeoutMs))
        case .rejected(let r):
            return .rejected(DegradationSignal(tool: tool, rejection: r))
        case .untracked:
            return .unguarded(reason: "the store holds limits.maxKeys keys and (\(tenant), \(tool)) would be a new one")
        }
    }

    public func complete(_ permit: ProxyPermit, _ ending: CallEnding) async {
        guard case .local(let call) = permit.handle else { return }
        await breaker.end(call, ending)
    }

    public func unavailableTools() async -> Set<ToolID> {
        Set(breaker.unavailableTools(tenant: tenant).map(\.tool))
    }

}

/// The breaker of a `serve` at `url` (`--breaker URL`).
///
/// When the service cannot be reached, calls go through unguarded and the proxy says so on
/// standard error (a documented choice: the breaker being down must not take the tools down).
public final class RemoteProxyBreaker: ProxyBreaker, Sendable {
    let base: URL
    let tenant: TenantID
    let token: String?
    let session: URLSession

    public init(url: URL, tenant: TenantID, token: String?) {
        self.base = url
        self.tenant = tenant
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        self.session = URLSession(configuration: configuration)
    }

    public var recordsTimeouts: Bool { false }

    public func admit(tool: ToolID, turn: TurnID) async -> ProxyAdmission {
        let body: JSONValue = .object([
            ("tenant", .string(tenant.rawValue)), ("tool", .string(tool.rawValue)), ("turn", .string(turn.rawValue)),
        ])
        do {
            let (status, answer) = try await request("POST", "/v1/admit", body.text)
            guard status == 200 else { return .unguarded(reason: "serve answered \(status) to admit: \(answer.text)") }
            if answer["admitted"] == .bool(true), case .string(let permit)? = answer["permit"],
                case .integer(let timeout)? = answer["call_timeout_ms"]
            {
                return .admitted(ProxyPermit(handle: .remote(permit), callTimeoutMs: timeout))
            }
            if let signal = answer["signal"] {
                do {
                    return .rejected(try JSONDecoder().decode(DegradationSignal.self, from: Data(signal.text.utf8)))
                } catch {
                    return .unguarded(reason: "serve's signal for a rejected call is not understood (\(error)): \(signal.text)")
                }
            }
            return .unguarded(reason: "serve's answer to admit is not understood: \(answer.text)")
        } catch {
            return .unguarded(reason: "cannot reach serve at \(base.absoluteString): \(error.localizedDescription)")
        }
    }

    public func complete(_ permit: ProxyPermit, _ ending: CallEnding) async {
        guard case .remote(let token) = permit.handle else { return }
        var members: [(key: String, value: JSONValue)] = [("permit", .string(token))]
        switch ending {
        case .success: members.append(("outcome", .string("success")))
        case .failure(let type):
            members.append(("outcome", .string("failure")))
            members.append(("error_type", .string(type.rawValue)))
        case .cancelled: members.append(("outcome", .string("cancelled")))
        case .timeout: return  // serve records the timeout at the permit's deadline itself
        }
        _ = try? await request("POST", "/v1/complete", JSONValue.object(members).text)
    }

    public func unavailableTools() async -> Set<ToolID> {
        var path = "/v1/tenants/"
        for b in tenant.rawValue.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                path.unicodeScalars.append(Unicode.Scalar(b))
            default:
                path += String(format: "%%%02X", b)
            }
        }
        guard let (status, answer) = try? await request("GET", path + "/unavailable-tools", nil), status == 200,
            case .array(let tools)? = answer["tools"]
        else { return [] }
        return Set(tools.compactMap { if case .string(let name)? = $0["tool_name"] { return try? ToolID(name) } else { return nil } })
    }

    private func request(_ method: String, _ path: String, _ body: String?) async throws -> (Int, JSONValue) {
        var request = URLRequest(url: URL(string: base.absoluteString.trimmingSuffix("/") + path)!)
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let value = (try? JSONValue.parse(bytes: [UInt8](data))) ?? .null
        return (status, value)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
