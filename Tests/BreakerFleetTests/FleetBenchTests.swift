import BreakerTestSupport
import Foundation
import Testing

extension FleetDrills {
    /// `bench fleet` and `bench serve --fleet` against a real PostgreSQL: each prints its one JSON
    /// object, and leaves no node behind in the fleet.
    @Suite(.temporaryDirectory, .serialized, .enabled(if: PostgresCluster.isAvailable, "needs Debian's postgresql"))
    struct FleetBenchTests {
        @Test func theFleetBenchmarkTimesEveryDeliveryAndForgetsItsNodes() async throws {
            try await onQueueOfItsOwn("fleet-bench") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let r = try await CLI.run(async: [
                    "bench", "fleet", "--fleet", pg.url, "--episodes", "5", "--polled-episodes", "2", "--poll-ms", "300",
                ])
                #expect(r.status == 0, "\(r.stderr)")
                let object = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], "\(r.text)")
                #expect(object["scenario"] as? String == "fleet" && object["episodes"] as? Int == 5)
                #expect(object["deliveries"] as? Int == 10, "each episode reaches both other nodes: \(object)")
                let notified = object["notified_p50_ms"] as? Double ?? -1
                let polled = object["polled_max_ms"] as? Double ?? -1
                #expect(notified > 0 && polled > 0, "\(object)")
                #expect(try pg.psql("SELECT count(*) FROM fleet_nodes") == "0\n", "its nodes are forgotten")
                #expect(try pg.psql("SELECT count(*) FROM fleet_log WHERE kind = 'episode'") == "7\n")
            }
        }

        @Test func theServeBenchmarkComparesAFleetNodeWithServeAloneAndCountsItsStatements() async throws {
            try await onQueueOfItsOwn("fleet-bench-serve") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let r = try await CLI.run(async: [
                    "bench", "serve", "--connections", "1", "--duration", "2", "--repeats", "1", "--paced-rate", "200", "--fleet", pg.url,
                ])
                #expect(r.status == 0, "\(r.stderr)")
                let object = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], "\(r.text)")
                #expect((object["fleet_pairs_per_s_off"] as? Int ?? 0) > 0 && (object["fleet_pairs_per_s_on"] as? Int ?? 0) > 0)
                #expect(object["fleet_transitions"] as? Int == 0, "calls that all succeed make no transition")
                // At rest a heartbeat and a poll a second, a rollup every ten: about two a second (more
                // in a two-second window that holds one more of each); nothing per call (400 here, paced
                // so as to leave the machine to the suite's other tests), nor per tick.
                let statements = object["fleet_statements_per_s_at_5000"] as? Double ?? -1
                #expect(statements > 0.5 && statements <= 6, "\(object)")
                #expect(try pg.psql("SELECT count(*) FROM fleet_nodes") == "0\n", "its node is forgotten")
            }
        }
    }
}
