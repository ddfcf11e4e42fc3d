package import ArgumentParser
package import BreakerCore
package import BreakerFleet
import Foundation

/// `--fleet URL` and `--fleet-password-file F` (SPEC §14): the fleet's PostgreSQL.
package struct FleetOptions: ParsableArguments {
    package init() {}

    @Option(
        help: ArgumentHelp(
            "The fleet's PostgreSQL, postgres://USER@HOST[:PORT]/DB, with ?sslmode=disable or ?sslmode=require (default: $BREAKER_FLEET_URL).",
            valueName: "url"))
    package var fleet: String?

    @Option(help: ArgumentHelp("File holding the fleet's PostgreSQL password (never on the command line).", valueName: "file"))
    package var fleetPasswordFile: String?

    /// The endpoint given, or `nil` when neither the option nor the variable names one.
    package func endpoint() throws(BreakerError) -> FleetEndpoint? {
        let (url, field): (String?, String) =
            fleet != nil
            ? (fleet, "--fleet")
            : (ProcessInfo.processInfo.environment["BREAKER_FLEET_URL"].flatMap { $0.isEmpty ? nil : $0 }, "$BREAKER_FLEET_URL")
        guard let url else { return nil }
        return try FleetEndpoint(url: url, field: field).withPassword(fromFile: fleetPasswordFile)
    }

    /// The endpoint, which the command needs.
    package func requiredEndpoint() throws(BreakerError) -> FleetEndpoint {
        guard let endpoint = try endpoint() else {
            throw BreakerError(.invalidArgument, "no fleet named: give --fleet postgres://USER@HOST/DB or set $BREAKER_FLEET_URL")
        }
        return endpoint
    }
}

/// `--fleet URL` and `--scope fleet|node` on an operator command (SPEC §14): with a fleet named, the
/// action is a fleet action every node applies, unless `--scope node`.
struct FleetScopeOptions: ParsableArguments {
    enum Scope: String, ExpressibleByArgument, CaseIterable {
        case fleet, node
    }

    @OptionGroup var fleet: FleetOptions

    @Option(
        help: ArgumentHelp(
            "With a fleet named: fleet (every node applies it, the default) or node (only the store of --db).", valueName: "scope"))
    var scope: Scope = .fleet

    /// The fleet that takes the action, or `nil` when it goes to the store of `--db`.
    package func endpoint() throws(BreakerError) -> FleetEndpoint? {
        scope == .node ? nil : try fleet.endpoint()
    }
}

/// `--fleet URL` on a reading command (`report`, `audit`): read the fleet's PostgreSQL instead of
/// one store. Only the option says so; `$BREAKER_FLEET_URL` never turns a reading of a store into
/// a reading of the fleet.
struct FleetReadOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read the whole fleet (the nodes' published facts and rollups) instead of --db: postgres://USER@HOST[:PORT]/DB[?sslmode=…].",
            valueName: "url"))
    package var fleet: String?

    @Option(help: ArgumentHelp("File holding the fleet's PostgreSQL password (never on the command line).", valueName: "file"))
    package var fleetPasswordFile: String?

    /// The fleet to read, or `nil` to read the store.
    package func endpoint() throws(BreakerError) -> FleetEndpoint? {
        guard let fleet else { return nil }
        return try FleetEndpoint(url: fleet, field: "--fleet").withPassword(fromFile: fleetPasswordFile)
    }
}
