import BreakerCore
import BreakerFleet
import BreakerOwner
import BreakerRuntime
import Hummingbird

extension BreakerServer {
    /// `POST /v1/operator/force-open|release|reset` (SPEC §7), answered once the record is durable.
    func operatorAction(_ request: Request, path: String) async throws -> Response {
        let op: String = String(path.dropFirst("/v1/operator/".count))
        var fields: Set<String> = ["tool", "tenant", "actor", "reason", "scope"]
        if op == "force-open" { fields.insert("hold") }
        let body = try await JSONBody.read(request, fields: fields)
        let tool: ToolID = try body.name("tool")
        let tenant: TenantID? = try body.optionalName("tenant")
        let (actor, reason) = try Self.actorAndReason(body)
        let command: OperatorCommand
        switch op {
        case "force-open": command = try body.bool("hold") ? .forceOpenHold(ActionTarget(tenant)) : .forceOpen(ActionTarget(tenant))
        case "release": command = .release(ActionTarget(tenant))
        default:
            guard let tenant else { throw APIError.badRequest("reset needs a tenant: give \"tenant\"") }
            command = .reset(tenant)
        }
        let action = OperatorAction(command, tool: tool, actor: actor, reason: reason)
        if let fleet = try fleet(for: body) {
            return try await applied(command.op.name, byFleet: fleet, .operatorAction(action))
        }
        try await owner.breaker.apply(action)
        return HTTPAnswer.json(["applied": command.op.name])
    }

    /// `POST /v1/operator/configure` (SPEC §2): validated as a whole, recorded, durable on answer.
    func configure(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, fields: ["config", "actor", "reason", "scope"])
        guard let value = body.value["config"] else { throw APIError.badRequest("missing field \"config\" (an object)") }
        let (actor, reason) = try Self.actorAndReason(body)
        let configuration: BreakerConfiguration
        do {
            configuration = try BreakerConfiguration(value: value)
        } catch {
            throw APIError.badRequest("config: \(error.message)")
        }
        if let fleet = try fleet(for: body) {
            return try await applied("configure", byFleet: fleet, .configure(configuration, actor: actor, reason: reason))
        }
        try await owner.breaker.configure(configuration, actor: actor, reason: reason)
        return HTTPAnswer.json(["applied": "configure"])
    }

    /// The fleet that takes the action: on a fleet node, unless `"scope": "node"` (SPEC §14).
    private func fleet(for body: JSONBody) throws(APIError) -> FleetNode? {
        switch try body.string("scope", required: false) {
        case nil, "fleet": return options.fleet
        case "node": return nil
        case let other?: throw APIError.badRequest("field \"scope\" must be \"fleet\" or \"node\", not \(String(reflecting: other))")
        }
    }

    /// Records `action` as a fleet action and answers once this node's record of it is durable.
    private func applied(_ name: String, byFleet fleet: FleetNode, _ action: FleetAction) async throws -> Response {
        do {
            let seq = try await fleet.submit(action)
            return HTTPAnswer.json(FleetApplied(applied: name, fleetSeq: seq))
        } catch {
            throw APIError(.serviceUnavailable, "\(error.message); give \"scope\": \"node\" to act on this node alone")
        }
    }

    private static func actorAndReason(_ body: JSONBody) throws(APIError) -> (String, String) {
        let actor = try body.string("actor")!
        let reason = try body.string("reason")!
        for (field, text) in [("actor", actor), ("reason", reason)] {
            guard !text.isEmpty, text.utf8.count <= 1024, !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else {
                throw .badRequest("field \"\(field)\" must be 1–1024 bytes without control characters")
            }
        }
        return (actor, reason)
    }
}

/// The answer to a fleet action: what was applied and its fleet sequence number.
struct FleetApplied: Encodable {
    var applied: String
    var fleetSeq: Int64

    enum CodingKeys: String, CodingKey {
        case applied
        case fleetSeq = "fleet_seq"
    }
}
