import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

/// Debian's `faketime` package's library; preloaded, it moves the process's clocks: the wall clock
/// here, as a node whose clock is off has it (`FAKETIME_DONT_FAKE_MONOTONIC`: with the monotonic
/// clock moved too, every timer of the process would fire five minutes late).
private let libfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

extension FleetDrills {
    /// The fleet failing under real `serve` nodes (SPEC §14 "Failures"): PostgreSQL down, stopped,
    /// paused, its listening sessions killed; a node killed.
    @Suite(.temporaryDirectory, .serialized, .enabled(if: PostgresCluster.isAvailable, "needs Debian's postgresql"))
    struct FleetFailureTests {
        static let config = FleetPeerTests.config

        /// The fleet holds each node's shared records exactly once, in node order: on every look the
        /// fleet's seqs (read first) are a prefix of the node's export (read after, so it can only have
        /// grown: a node that applies an episode logs one more shared record, `fleet`, and publishes it
        /// too), and within the deadline the two meet.
        static func expectPublishedExactlyOnce(_ nodes: [ServeNode], _ pg: PostgresCluster) async throws {
            for n in nodes {
                try await waitUntil("\(n.name)'s facts to be published", within: .seconds(20)) {
                    let shared = try pg.psql("SELECT seq FROM fleet_node_facts WHERE node = '\(n.name)' ORDER BY seq")
                        .split(separator: "\n").map { Int($0)! }
                    let local = try n.factSeqs()
                    #expect(local.starts(with: shared), "\(n.name): the fleet has each fact once, in node order")
                    return shared == local
                }
            }
        }

        /// The 99th percentile of `times`.
        static func p99(_ times: [Duration]) -> Duration {
            let sorted = times.sorted()
            return sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        }

        @Test func withPostgreSQLDownAtStartNodesDecideAloneAndPublishEverythingOnceWhenItComes() async throws {
            try await onQueueOfItsOwn("fleet-down-at-start") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                pg.stop()
                let nodes = try ["n1", "n2", "n3"].map {
                    try ServeNode.start($0, fleet: pg.url, dir: scratchDirectory, config: Self.config)
                }
                defer { for n in nodes { n.kill() } }
                for n in nodes { try await n.waitForLog("cannot reach the fleet") }

                let (status, fleet) = try await nodes[0].readiness()
                #expect(status == 200 && fleet == "disconnected", "a node cut off from the fleet is ready, deciding alone")
                #expect(try await nodes[0].metric("agent_circuit_breaker_fleet_connected") == 0)
                #expect((try await nodes[0].metric("agent_circuit_breaker_fleet_errors_total") ?? 0) >= 1)
                let (answer, _) = try await nodes[0].get("/v1/fleet")
                #expect(answer == 503)

                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                try await nodes[1].fail(tenant: "acme", tool: "search", times: 2)
                #expect(try await nodes[0].isRejected(tenant: "acme", tool: "search"), "a node opens on its own evidence without the fleet")
                #expect(!(try await nodes[2].isRejected(tenant: "acme", tool: "search")), "no fleet, no episode")

                try pg.start()
                try await waitUntil("the episode to reach n3 once PostgreSQL is up", within: .seconds(30), poll: .milliseconds(50)) {
                    try await nodes[2].isRejected(tenant: "acme", tool: "search")
                }
                try await Self.expectPublishedExactlyOnce(nodes, pg)
                try await waitUntil("n1 to say it is connected", within: .seconds(10)) {
                    try await nodes[0].readiness().1 == "connected"
                }
                #expect(try await nodes[0].metric("agent_circuit_breaker_fleet_connected") == 1)
                let (ok, body) = try await nodes[2].get("/v1/fleet")
                #expect(ok == 200 && body.contains(#""tenant":"acme","tool":"search","votes":2"#), "\(body)")
            }
        }

        @Test func postgreSQLStoppedForTwentySecondsUnderLoadSlowsNoCallAndLosesNoFact() async throws {
            try await onQueueOfItsOwn("fleet-stopped") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let nodes = try await ServeNode.joined(["n1", "n2", "n3"], fleet: pg, dir: scratchDirectory, config: Self.config)
                defer { for n in nodes { n.kill() } }

                let before = try await nodes[0].load(tenant: "acme", tool: "search", for: .seconds(5))
                pg.stop()
                // Transitions while PostgreSQL is away: they are published once it is back.
                try await nodes[0].fail(tenant: "globex", tool: "crm", times: 2)
                try await nodes[1].fail(tenant: "globex", tool: "crm", times: 2)
                let during = try await nodes[0].load(tenant: "acme", tool: "search", for: .seconds(20))
                try pg.start()

                print("fleet: call p99 \(Self.p99(before)) with PostgreSQL up, \(Self.p99(during)) while it was stopped")
                // A call that waited on PostgreSQL would take its 2 s deadline; the node's own noise is
                // what the 5 s before measured.
                #expect(during.max()! < .seconds(1), "no call waits on PostgreSQL: the slowest took \(during.max()!)")
                #expect(Self.p99(during) <= max(Self.p99(before) * 5, .milliseconds(250)))
                try await Self.expectPublishedExactlyOnce(nodes, pg)
                try await waitUntil("the episode of globex/crm to reach n3", within: .seconds(30), poll: .milliseconds(50)) {
                    try await nodes[2].isRejected(tenant: "globex", tool: "crm")
                }
            }
        }

        @Test func postgreSQLPausedForTenSecondsSlowsNoCallAndItsFactsArePublishedAfter() async throws {
            try await onQueueOfItsOwn("fleet-paused") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let nodes = try await ServeNode.joined(["n1", "n2"], fleet: pg, dir: scratchDirectory, config: Self.config)
                defer { for n in nodes { n.kill() } }

                pg.signal(SIGSTOP)
                var resumed = false
                defer { if !resumed { pg.signal(SIGCONT) } }
                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                let during = try await nodes[0].load(tenant: "acme", tool: "mail", for: .seconds(10))
                #expect(during.max()! < .seconds(1), "a paused PostgreSQL (no answer, no refusal) slows no call: \(during.max()!)")
                try await nodes[0].waitForLog("cannot reach the fleet")
                pg.signal(SIGCONT)
                resumed = true
                try await Self.expectPublishedExactlyOnce(nodes, pg)
            }
        }

        @Test func aListeningSessionEndedByPostgreSQLMissesNoEpisode() async throws {
            try await onQueueOfItsOwn("fleet-listen") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let nodes = try await ServeNode.joined(["n1", "n2", "n3"], fleet: pg, dir: scratchDirectory, config: Self.config)
                defer { for n in nodes { n.kill() } }
                let listening = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
                try await waitUntil("three listening sessions", within: .seconds(10)) { try pg.psql(listening) == "3\n" }

                // The backstop poll is a minute: what n3 learns within seconds came from its listening
                // session, begun again, and the catch-up by cursor after it.
                try pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")
                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                try await nodes[1].fail(tenant: "acme", tool: "search", times: 2)
                try await waitUntil("the episode to reach n3", within: .seconds(20), poll: .milliseconds(50)) {
                    try await nodes[2].isRejected(tenant: "acme", tool: "search")
                }
                try await waitUntil("three listening sessions again", within: .seconds(10)) { try pg.psql(listening) == "3\n" }
            }
        }

        @Test func aKilledNodesVotesStopAtLeaseExpiryAndRestartedItCatchesUp() async throws {
            try await onQueueOfItsOwn("fleet-kill") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                var nodes = try ["n1", "n2", "n3"].map {
                    try ServeNode.start($0, fleet: pg.url, dir: scratchDirectory, config: Self.config)
                }
                defer { for n in nodes { n.kill() } }
                for n in nodes { try await n.waitForLog("joined the fleet") }

                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                try await nodes[1].fail(tenant: "acme", tool: "search", times: 2)
                try await waitUntil("the episode to begin", within: .seconds(10)) {
                    try pg.psql("SELECT count(*) FROM fleet_open_episodes") == "1\n"
                }
                nodes[1].kill()
                let killed = ContinuousClock.now
                // Its lease is 3 s on PostgreSQL's clock: then its vote no longer counts and the episode ends.
                try await waitUntil("the episode to end at n2's lease expiry", within: .seconds(15)) {
                    try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'episode' AND ended_at IS NOT NULL") == "1\n"
                }
                #expect(ContinuousClock.now - killed >= .seconds(2), "a vote counts until the lease expires, not before")

                // While n2 is away, n1 and n3 begin an episode of another key.
                try await nodes[0].fail(tenant: "globex", tool: "crm", times: 2)
                try await nodes[2].fail(tenant: "globex", tool: "crm", times: 2)
                try await waitUntil("the second episode to begin", within: .seconds(10)) {
                    try pg.psql("SELECT count(*) FROM fleet_open_episodes WHERE tenant = 'globex'") == "1\n"
                }

                // Restarted on its store, n2 rebuilds (its acme/search is still OPEN) and applies what it missed.
                nodes[1] = try ServeNode.start("n2", fleet: pg.url, dir: scratchDirectory, config: Self.config)
                try await nodes[1].waitForLog("joined the fleet")
                #expect(try await nodes[1].isRejected(tenant: "acme", tool: "search"), "rebuilt from its own store")
                try await waitUntil("n2 to apply the episode it missed", within: .seconds(20), poll: .milliseconds(50)) {
                    try await nodes[1].isRejected(tenant: "globex", tool: "crm")
                }
                #expect(try nodes[1].export().contains { $0["kind"] as? String == "fleet" && $0["tenant"] as? String == "globex" })
                // Live again with its vote standing, n2 and n1 are a quorum for acme/search once more.
                try await waitUntil("acme/search's second episode", within: .seconds(10)) {
                    try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'episode' AND tenant = 'acme'") == "2\n"
                }
            }
        }
    }

    /// A node whose clock is five minutes ahead (Debian's `faketime`): leases run on PostgreSQL's clock
    /// and the fleet's order is its sequence, so neither quorum nor order moves (SPEC §14).
    @Suite(
        .temporaryDirectory, .serialized,
        .enabled(
            if: PostgresCluster.isAvailable && FileManager.default.fileExists(atPath: libfaketime),
            "needs postgresql and faketime")
    )
    struct FleetClockTests {
        @Test func aNodeFiveMinutesAheadCountsOnceInTheQuorumAppliesActionsInFleetOrderAndItsLeaseEndsOnTime() async throws {
            try await onQueueOfItsOwn("fleet-clock") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let config = FleetPeerTests.config
                var nodes = try ["n1", "n2"].map { try ServeNode.start($0, fleet: pg.url, dir: scratchDirectory, config: config) }
                nodes.append(
                    try ServeNode.start(
                        "n3", fleet: pg.url, dir: scratchDirectory, config: config,
                        environment: ["LD_PRELOAD": libfaketime, "FAKETIME": "+5m", "FAKETIME_DONT_FAKE_MONOTONIC": "1"]))
                defer { for n in nodes { n.kill() } }
                for n in nodes { try await n.waitForLog("joined the fleet") }

                // The skew is real: n3 stamps its records five minutes ahead of this process.
                try await nodes[2].fail(tenant: "acme", tool: "search", times: 2)
                let stamped = try nodes[2].export().compactMap { $0["ts"] as? Int }
                let ahead = stamped.last.map { Double($0) / 1000 - Date().timeIntervalSince1970 } ?? 0
                #expect(ahead > 240 && ahead < 360, "n3 runs five minutes ahead: its last record is \(ahead) s from now")

                // Its vote counts once, as any node's: alone it opens nothing elsewhere.
                try await Task.sleep(for: .seconds(2))
                #expect(!(try await nodes[1].isRejected(tenant: "acme", tool: "search")), "one node's vote is not a quorum, skewed or not")
                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                try await waitUntil("n2 to reject acme/search on n1's and n3's votes", within: .seconds(20), poll: .milliseconds(20)) {
                    try await nodes[1].isRejected(tenant: "acme", tool: "search")
                }
                let episodes = try pg.psql("SELECT tenant, tool, votes, array_to_string(nodes, ',') FROM fleet_log WHERE kind = 'episode'")
                #expect(episodes == "acme|search|2|n1,n3\n", "one episode of two votes")
                let (_, fleet) = try await nodes[1].get("/v1/fleet")
                #expect(fleet.contains(#""node":"n3""#) && !fleet.contains(#""live":false"#), "every node live, n3 too: \(fleet)")

                // An action given to the skewed node, then one given to n1: every node applies them in
                // the fleet's order, never in the order of the nodes' clocks.
                let (opened, _) = try await nodes[2].post(
                    "/v1/operator/force-open", ["tool": "mail", "hold": true, "actor": "oncall", "reason": "vendor down"])
                let (released, _) = try await nodes[0].post(
                    "/v1/operator/release", ["tool": "mail", "actor": "oncall", "reason": "vendor back"])
                #expect(opened == 200 && released == 200)
                for n in nodes {
                    try await waitUntil("\(n.name) to apply both actions", within: .seconds(20)) {
                        try FleetActionTests.operatorRecords(n).filter { $0.contains("mail") } == [
                            "force_open_hold mail *", "release mail *",
                        ]
                    }
                }

                // Its lease is 3 s on PostgreSQL's clock, not five minutes more on its own.
                nodes[2].kill()
                try await waitUntil("the episode to end at n3's lease expiry", within: .seconds(20)) {
                    try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'episode' AND ended_at IS NOT NULL") == "1\n"
                }
                try await FleetFailureTests.expectPublishedExactlyOnce(Array(nodes.prefix(2)), pg)
            }
        }
    }

    /// One node cut off from PostgreSQL alone (a TCP relay on its path that the test pauses), the
    /// server and the other nodes untouched (SPEC §14 "Failures").
    @Suite(.temporaryDirectory, .serialized, .enabled(if: PostgresCluster.isAvailable, "needs Debian's postgresql"))
    struct FleetPartitionTests {
        /// Whether `node`'s lease is live on PostgreSQL's clock: "t" or "f".
        static func live(_ node: String, _ pg: PostgresCluster) throws -> String {
            try pg.psql("SELECT heartbeat_at > now() - make_interval(secs => lease_ms / 1000.0) FROM fleet_nodes WHERE node = '\(node)'")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        @Test func aNodeCutOffFromPostgreSQLDecidesAloneItsVotesAgeOutAndItCatchesUpWhenItsPathReturns() async throws {
            try await onQueueOfItsOwn("fleet-partition") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let relay = try TCPRelay(to: pg.port)
                defer { relay.stop() }
                let config = FleetPeerTests.config
                let nodes = [
                    try ServeNode.start("n1", fleet: pg.url, dir: scratchDirectory, config: config),
                    try ServeNode.start("n2", fleet: pg.url, dir: scratchDirectory, config: config),
                    try ServeNode.start("n3", fleet: relay.url(of: pg), dir: scratchDirectory, config: config),
                ]
                defer { for n in nodes { n.kill() } }
                for n in nodes { try await n.waitForLog("joined the fleet") }

                // n3 and n1 vote for globex/crm: an episode, reaching n2.
                try await nodes[2].fail(tenant: "globex", tool: "crm", times: 2)
                try await nodes[0].fail(tenant: "globex", tool: "crm", times: 2)
                try await waitUntil("the episode of n1's and n3's votes to reach n2", within: .seconds(20), poll: .milliseconds(50)) {
                    try await nodes[1].isRejected(tenant: "globex", tool: "crm")
                }

                relay.pause()
                let cut = ContinuousClock.now
                // Its lease (3 s) runs out on PostgreSQL's clock: its vote stops counting, the episode ends.
                try await waitUntil("the episode to end once n3's lease expires", within: .seconds(20)) {
                    try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'episode' AND ended_at IS NOT NULL") == "1\n"
                }
                #expect(ContinuousClock.now - cut >= .seconds(2), "a vote counts until the lease expires, not before")
                #expect(try Self.live("n3", pg) == "f")

                // Cut off, n3 still decides: calls answer at once, it opens on its own evidence.
                try await nodes[2].waitForLog("cannot reach the fleet")
                let (ready, fleet) = try await nodes[2].readiness()
                #expect(ready == 200 && fleet == "disconnected", "a node cut off from the fleet is ready, deciding alone")
                let during = try await nodes[2].load(tenant: "acme", tool: "mail", for: .seconds(3))
                #expect(during.max()! < .seconds(1), "no call on the cut-off node waits on its path: the slowest took \(during.max()!)")
                try await nodes[2].fail(tenant: "initech", tool: "search", times: 2)
                #expect(try await nodes[2].isRejected(tenant: "initech", tool: "search"), "n3 opens on its own evidence")

                // Meanwhile the fleet goes on: an episode of n1's and n2's votes, a fleet action.
                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                try await nodes[1].fail(tenant: "acme", tool: "search", times: 2)
                let (opened, answer) = try await nodes[0].post(
                    "/v1/operator/force-open", ["tool": "mail", "hold": true, "actor": "oncall", "reason": "vendor down"])
                #expect(opened == 200, "\(answer)")
                try await Task.sleep(for: .seconds(1))
                #expect(!(try await nodes[2].isRejected(tenant: "acme", tool: "search")), "nothing reaches n3 while its path is cut")
                #expect(try FleetActionTests.operatorRecords(nodes[2]).isEmpty)

                // Its path back, n3 publishes what it had not, and applies the episode and the action it missed.
                relay.resume()
                try await waitUntil("n3 to apply the episode it missed", within: .seconds(30), poll: .milliseconds(50)) {
                    try await nodes[2].isRejected(tenant: "acme", tool: "search")
                }
                try await waitUntil("n3 to apply the fleet action it missed", within: .seconds(20)) {
                    try FleetActionTests.operatorRecords(nodes[2]) == ["force_open_hold mail *"]
                }
                do {
                    try await FleetFailureTests.expectPublishedExactlyOnce(nodes, pg)
                } catch {
                    Issue.record("\(error); n3 said: \(nodes[2].log)")
                    throw error
                }
                try await waitUntil("n3 to be live and connected again", within: .seconds(20)) {
                    try await nodes[2].readiness().1 == "connected" && Self.live("n3", pg) == "t"
                }
            }
        }
    }
}
