import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension FleetDrills {
    /// Real processes: a PostgreSQL cluster of the test's own and `breakerctl serve` nodes (SPEC §14).
    @Suite(.temporaryDirectory, .serialized, .enabled(if: PostgresCluster.isAvailable, "needs Debian's postgresql"))
    struct FleetPeerTests {
        /// Opens after two failures, stays open for an hour: what a test looks at does not move. The
        /// backstop poll is a minute, so an episode that arrives within seconds came by notification.
        static let config =
            #"{"defaults": {"failureThreshold": 2, "openTimeoutMs": 3600000}, "fleet": {"heartbeatMs": 200, "leaseMs": 3000, "pollMs": 60000}}"#

        @Test func aToolFailingOnOneNodeOpensNothingElsewhereAndOnTwoOpensItOnTheThird() async throws {
            try await onQueueOfItsOwn("fleet") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let nodes = try await ServeNode.joined(["n1", "n2", "n3"], fleet: pg, dir: scratchDirectory, config: Self.config)
                defer { for n in nodes { n.kill() } }

                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                #expect(try await nodes[0].isRejected(tenant: "acme", tool: "search"), "n1 opened on its own evidence")
                // Long enough for a vote to be published and counted several times over.
                try await Task.sleep(for: .seconds(2))
                #expect(!(try await nodes[2].isRejected(tenant: "acme", tool: "search")), "one node's trouble opens nothing elsewhere")
                #expect(try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'episode'") == "0\n")

                try await nodes[1].fail(tenant: "acme", tool: "search", times: 2)
                let opened = ContinuousClock.now
                // Within one propagation: by notification, well before the minute's poll (the time it
                // takes is `bench fleet`'s figure; a loaded test machine only bounds it).
                try await waitUntil("n3 to reject acme/search", within: .seconds(20), poll: .milliseconds(20)) {
                    try await nodes[2].isRejected(tenant: "acme", tool: "search")
                }
                print("fleet: the episode reached n3 \(ContinuousClock.now - opened) after n2 opened")
                #expect(!(try await nodes[2].isRejected(tenant: "globex", tool: "search")), "the episode is one key's, not the tool's")

                let n3 = try nodes[2].export()
                #expect(
                    n3.contains {
                        $0["kind"] as? String == "fleet" && $0["votes"] as? Int == 2 && $0["nodes"] as? [String] == ["n1", "n2"]
                    })
                #expect(n3.contains { $0["kind"] as? String == "transition" && $0["cause"] as? String == "fleet_quorum" })
                let episodes = try pg.psql("SELECT tenant, tool, votes, array_to_string(nodes, ',') FROM fleet_log WHERE kind = 'episode'")
                #expect(episodes == "acme|search|2|n1,n2\n", "one episode, begun once")
            }
        }

        @Test func aFleetOfOneNodeUnderQuorumTwoNeverFormsAnEpisode() async throws {
            try await onQueueOfItsOwn("fleet-one") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let node = try ServeNode.start("solo", fleet: pg.url, dir: scratchDirectory, config: Self.config)
                defer { node.kill() }
                try await node.waitForLog("joined the fleet")
                try await node.fail(tenant: "acme", tool: "search", times: 2)
                try await waitUntil("solo's vote to be published", within: .seconds(10)) {
                    try pg.psql("SELECT count(*) FROM fleet_votes") == "1\n"
                }
                try await Task.sleep(for: .seconds(1))
                #expect(try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'episode'") == "0\n")
                #expect(!(try node.export().contains { $0["kind"] as? String == "fleet" }))
            }
        }

        @Test func aNodeNameReusedWithAnotherStoreIsRefusedNamingBothUntilForgotten() async throws {
            try await onQueueOfItsOwn("fleet-names") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let first = try ServeNode.start("n1", fleet: pg.url, dir: scratchDirectory + "/a", config: Self.config)
                try await first.waitForLog("joined the fleet")
                first.kill()
                let second = try ServeNode.start("n1", fleet: pg.url, dir: scratchDirectory + "/b", config: Self.config)
                defer { second.kill() }
                try await waitForExit(second.process, "a node with a name in use to stop")
                #expect(second.process.terminationStatus != 0)
                let said = second.log
                #expect(
                    said.contains("node name n1 is in use") && said.contains(scratchDirectory + "/a/")
                        && said.contains(scratchDirectory + "/b/"), "\(said)")

                let forget = try await CLI.run(async: ["fleet", "forget-node", "n1", "--fleet", pg.url])
                #expect(forget.status == 0 && forget.stderr.contains("forgot node n1"), "\(forget.stderr)")
                let third = try ServeNode.start("n1", fleet: pg.url, dir: scratchDirectory + "/b", config: Self.config)
                defer { third.kill() }
                try await third.waitForLog("joined the fleet")
            }
        }
    }

    /// Fleet actions (SPEC §14): given to one node or the CLI, applied by every node once, in order.
    @Suite(.temporaryDirectory, .serialized, .enabled(if: PostgresCluster.isAvailable, "needs Debian's postgresql"))
    struct FleetActionTests {
        /// The operator records of `node`'s export, as (op, tool, tenant or "*").
        static func operatorRecords(_ node: ServeNode) throws -> [String] {
            try node.export().filter { $0["kind"] as? String == "operator" }.map {
                "\($0["op"] as? String ?? "?") \($0["tool"] as? String ?? "?") \($0["tenant"] as? String ?? "*")"
            }
        }

        @Test func anActionGivenToOneNodeIsAppliedOnceByEveryNodeAlsoOneThatWasDown() async throws {
            try await onQueueOfItsOwn("fleet-actions") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                var nodes = try ["n1", "n2", "n3"].map {
                    try ServeNode.start($0, fleet: pg.url, dir: scratchDirectory, config: FleetDrills.FleetPeerTests.config)
                }
                defer { for n in nodes { n.kill() } }
                for n in nodes { try await n.waitForLog("joined the fleet") }
                nodes[2].kill()

                let (status, answer) = try await nodes[0].post(
                    "/v1/operator/force-open", ["tool": "search", "hold": true, "actor": "oncall", "reason": "vendor down"])
                // Fleet action 1 is n1's configuration file, which became the fleet's.
                #expect(status == 200 && answer["fleet_seq"] as? Int == 2, "\(answer)")
                // The answer comes once the answering node's own record is durable.
                #expect(try Self.operatorRecords(nodes[0]) == ["force_open_hold search *"])
                try await waitUntil("n2 to apply the fleet action", within: .seconds(20), poll: .milliseconds(50)) {
                    try await nodes[1].isRejected(tenant: "acme", tool: "search")
                }

                // n3 was down: restarted, it applies what it missed before it is ready.
                nodes[2] = try ServeNode.start("n3", fleet: pg.url, dir: scratchDirectory, config: FleetDrills.FleetPeerTests.config)
                try await nodes[2].waitForLog("joined the fleet")
                try await waitUntil("n3 to be ready", within: .seconds(20)) { try await nodes[2].readiness().0 == 200 }
                #expect(try await nodes[2].isRejected(tenant: "globex", tool: "search"), "applied before ready")

                // scope node: only the answering node.
                let (local, localAnswer) = try await nodes[1].post(
                    "/v1/operator/release", ["tool": "search", "actor": "oncall", "reason": "try n2", "scope": "node"])
                #expect(local == 200 && localAnswer["fleet_seq"] == nil)
                try await Task.sleep(for: .milliseconds(500))
                #expect(try Self.operatorRecords(nodes[0]) == ["force_open_hold search *"], "a node-scoped action stays on its node")

                // The CLI with --fleet: a fleet action too, recorded once in PostgreSQL.
                let cli = try await CLI.run(async: [
                    "release", "--tool", "search", "--actor", "oncall", "--reason", "vendor back", "--fleet", pg.url, "--wait", "20",
                ])
                #expect(cli.status == 0 && cli.stderr.contains("recorded as fleet action 3"), "\(cli.stderr)")
                #expect(cli.stderr.contains("applied by n1, n2, n3"), "\(cli.stderr)")

                // Restarted, a node applies nothing twice.
                nodes[0].kill()
                nodes[0] = try ServeNode.start("n1", fleet: pg.url, dir: scratchDirectory, config: FleetDrills.FleetPeerTests.config)
                try await nodes[0].waitForLog("joined the fleet")
                try await waitUntil("n1 to be ready", within: .seconds(20)) { try await nodes[0].readiness().0 == 200 }
                for n in nodes {
                    let records = try Self.operatorRecords(n)
                    let expected =
                        n.name == "n2"
                        ? ["force_open_hold search *", "release search *", "release search *"]
                        : ["force_open_hold search *", "release search *"]
                    #expect(records == expected, "\(n.name): each fleet action once, in order")
                }
                #expect(try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'action'") == "2\n")
            }
        }

        @Test func aFleetConfigureReachesEveryNode() async throws {
            try await onQueueOfItsOwn("fleet-configure") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let nodes = try await ServeNode.joined(
                    ["n1", "n2"], fleet: pg, dir: scratchDirectory, config: FleetDrills.FleetPeerTests.config)
                defer { for n in nodes { n.kill() } }
                let config = #"{"defaults": {"failureThreshold": 7}, "fleet": {"heartbeatMs": 200, "leaseMs": 3000, "pollMs": 60000}}"#
                let (status, answer) = try await nodes[1].post(
                    "/v1/operator/configure",
                    ["config": try JSONSerialization.jsonObject(with: Data(config.utf8)), "actor": "oncall", "reason": "calmer"])
                #expect(status == 200 && answer["applied"] as? String == "configure", "\(answer)")
                try await waitUntil("n1 to record the fleet's configuration", within: .seconds(20)) {
                    let shown = try CLI.process(["config", "--db", nodes[0].db]).text
                    return shown.contains(#""failureThreshold": 7"#) || shown.contains(#""failureThreshold":7"#)
                }
            }
        }
    }
}

extension FleetDrills.FleetActionTests {
    @Test func theFirstNodesFileBecomesTheFleetsConfigurationAnotherFileIsRefusedAndANodeWithoutOneTakesIt() async throws {
        try await onQueueOfItsOwn("fleet-config-join") {
            let pg = try PostgresCluster()
            defer { pg.destroy() }
            let n1 = try ServeNode.start("n1", fleet: pg.url, dir: scratchDirectory, config: FleetDrills.FleetPeerTests.config)
            defer { n1.kill() }
            try await n1.waitForLog("is the fleet's configuration now")
            #expect(try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'configure'") == "1\n")

            let other = #"{"defaults": {"failureThreshold": 9}, "fleet": {"heartbeatMs": 200, "leaseMs": 3000, "pollMs": 60000}}"#
            let refused = try ServeNode.start("n2", fleet: pg.url, dir: scratchDirectory + "/refused", config: other)
            defer { refused.kill() }
            do {
                try await waitForExit(refused.process, "a node whose --config differs from the fleet's to stop")
            } catch {
                Issue.record("\(error): \(refused.log)")
                return
            }
            #expect(refused.process.terminationStatus != 0)
            #expect(
                refused.log.contains("--config differs from the fleet's configuration (fleet → file: defaults.failureThreshold: 2 → 9)"),
                "\(refused.log)")

            // Without --config, a new node takes the fleet's configuration before it is ready.
            var n3 = try ServeNode.start("n3", fleet: pg.url, dir: scratchDirectory, config: nil)
            defer { n3.kill() }
            try await n3.waitForLog("joined the fleet")
            try await waitUntil("n3 to be ready", within: .seconds(20)) { try await n3.readiness().0 == 200 }
            var shown = try CLI.process(["config", "--db", n3.db]).text
            #expect(shown.contains(#""failureThreshold": 2"#) || shown.contains(#""failureThreshold":2"#), "\(shown)")

            // Changed on n3 alone, its configuration differs from the fleet's: restarted, it takes the fleet's.
            let mine = #"{"defaults": {"failureThreshold": 5}}"#
            let (local, _) = try await n3.post(
                "/v1/operator/configure",
                [
                    "config": try JSONSerialization.jsonObject(with: Data(mine.utf8)), "actor": "oncall", "reason": "n3 only",
                    "scope": "node",
                ])
            #expect(local == 200)
            n3.kill()
            n3 = try ServeNode.start("n3", fleet: pg.url, dir: scratchDirectory, config: nil)
            try await n3.waitForLog("recorded the fleet's configuration")
            let configurations = try n3.export().filter { $0["kind"] as? String == "config" }
            #expect(
                configurations.last?["actor"] as? String == "fleet" && configurations.last?["reason"] as? String == "fleet configuration")
            shown = try CLI.process(["config", "--db", n3.db]).text
            #expect(shown.contains(#""failureThreshold": 2"#) || shown.contains(#""failureThreshold":2"#), "\(shown)")
        }
    }
}
