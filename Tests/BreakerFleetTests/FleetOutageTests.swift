import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

extension FleetDrills {
    /// Auto-propagation in a fleet (SPEC §14, §7): the tenants open on a tool are counted across the
    /// live nodes, and the fleet force-opens the tool once per outage, never over a hold.
    @Suite(.temporaryDirectory, .serialized, .enabled(if: PostgresCluster.isAvailable, "needs Debian's postgresql"))
    struct FleetOutageTests {
        /// Three tenants open on a tool is an outage; no key is voted open by more than one node here,
        /// so no episode opens anything: what opens the tool is the outage alone.
        static let config = """
            {"defaults": {"failureThreshold": 2, "openTimeoutMs": 3600000, "fleetQuorum": 3, "globalOutageTenants": 3,
            "autoPropagateGlobalOutage": true}, "fleet": {"heartbeatMs": 200, "leaseMs": 3000, "pollMs": 60000}}
            """

        @Test func tenantsOpenOnThreeNodesForceOpenTheToolOnceEverywhereButNeverOverAHold() async throws {
            try await onQueueOfItsOwn("fleet-outage") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let nodes = try await ServeNode.joined(["n1", "n2", "n3"], fleet: pg, dir: scratchDirectory, config: Self.config)
                defer { for n in nodes { n.kill() } }
                func autoActions(_ tool: String) throws -> String {
                    try pg.psql(
                        "SELECT body::json->>'reason' FROM fleet_log WHERE kind = 'action' AND tool = '\(tool)' AND body::json->>'actor' = 'auto'"
                    )
                }

                // Two tenants open, each on a node of its own: below the threshold, nothing happens.
                try await nodes[0].fail(tenant: "a", tool: "search", times: 2)
                try await nodes[1].fail(tenant: "b", tool: "search", times: 2)
                try await Task.sleep(for: .seconds(1))
                #expect(try autoActions("search") == "")
                #expect(!(try await nodes[2].isRejected(tenant: "d", tool: "search")))

                // The third, on the third node: no node has more than one tenant open, the fleet has three.
                try await nodes[2].fail(tenant: "c", tool: "search", times: 2)
                try await waitUntil("the fleet's auto force-open to reach n1", within: .seconds(20), poll: .milliseconds(20)) {
                    try await nodes[0].isRejected(tenant: "e", tool: "search")
                }
                // Every node applies it, each when its own notification wakes it.
                try await waitUntil("the fleet's auto force-open to reach n2", within: .seconds(20), poll: .milliseconds(20)) {
                    try await nodes[1].isRejected(tenant: "f", tool: "search")
                }
                // Counted again and again while it lasts: one action per outage.
                try await Task.sleep(for: .seconds(1))
                #expect(try autoActions("search") == "3 tenants open on 3 nodes\n")
                let n2 = try nodes[1].export()
                #expect(
                    n2.contains {
                        $0["kind"] as? String == "operator" && $0["actor"] as? String == "auto" && $0["tenant"] is NSNull
                            && $0["reason"] as? String == "3 tenants open on 3 nodes"
                    })
                #expect(!n2.contains { $0["kind"] as? String == "global_outage" }, "no node saw an outage of its own")

                // A tool held open fleet-wide: its keys count as open, the outage is noted, nothing more recorded.
                let (held, answer) = try await nodes[0].post(
                    "/v1/operator/force-open", ["tool": "crm", "hold": true, "actor": "oncall", "reason": "vendor down"])
                #expect(held == 200, "\(answer)")
                for (i, n) in nodes.enumerated() { #expect(try await n.isRejected(tenant: "t\(i)", tool: "crm")) }
                try await waitUntil("the fleet to note crm's outage", within: .seconds(20)) {
                    try pg.psql("SELECT tenants, fleet_seq IS NULL FROM fleet_outages WHERE tool = 'crm'") == "3|t\n"
                }
                #expect(try autoActions("crm") == "", "auto never replaces a hold")
            }
        }
    }
}
