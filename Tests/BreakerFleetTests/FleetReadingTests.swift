import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

extension FleetDrills {
    /// Reading the fleet (SPEC §14): `report --fleet` and `audit --fleet` against the nodes' own
    /// reports and audits, through real `serve` nodes and a real PostgreSQL.
    @Suite(.temporaryDirectory, .serialized, .enabled(if: PostgresCluster.isAvailable, "needs Debian's postgresql"))
    struct FleetReadingTests {
        /// Rollups once an hour: within the test, at start and when a node stops.
        static let config =
            #"{"defaults": {"failureThreshold": 2, "openTimeoutMs": 3600000, "fleetQuorum": 3}, "fleet": {"heartbeatMs": 200, "leaseMs": 3000, "rollupMs": 3600000}}"#

        /// A CSV's data lines split into fields (no field of these reports holds a comma or quote).
        static func rows(_ csv: String) -> [[String]] {
            csv.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }

        /// The nodes' `report --all` rows summed per tenant and hour, `availability_pct` recomputed
        /// from the sums with SPEC §9's formula — the test's own arithmetic, not the fleet's.
        static func summed(_ reports: [String]) -> [[String]] {
            var sums: [String: (counts: [Int], openMs: Int)] = [:]
            for report in reports {
                for r in rows(report) {
                    let key = r[0] + "," + r[1]
                    var s = sums[key] ?? (Array(repeating: 0, count: 7), 0)
                    for i in 0..<7 { s.counts[i] += Int(r[2 + i])! }
                    let parts = r[9].split(separator: ".")
                    s.openMs += Int(parts[0])! * 1000 + Int(parts[1])!
                    sums[key] = s
                }
            }
            return sums.keys.sorted().map { key in
                let (c, open) = sums[key]!
                let availability: String
                if c[0] == 0 {
                    availability = ""
                } else {
                    let v = (20000 * (c[0] - c[1]) + c[0]) / (2 * c[0])
                    availability = "\(v / 100)." + (v % 100 < 10 ? "0" : "") + "\(v % 100)"
                }
                let ms = String(open % 1000)
                return key.split(separator: ",").map(String.init) + c.map(String.init)
                    + ["\(open / 1000)." + String(repeating: "0", count: 3 - ms.count) + ms, availability]
            }
        }

        @Test func theFleetReportIsTheSumOfTheNodesReportsAndTheFleetAuditTheirTimelinesMerged() async throws {
            try await onQueueOfItsOwn("fleet-reading") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let nodes = try await ServeNode.joined(["n1", "n2", "n3"], fleet: pg, dir: scratchDirectory, config: Self.config)
                defer { for n in nodes { n.kill() } }
                try await waitUntil("every node's first rollup", within: .seconds(20), poll: .milliseconds(20)) {
                    try pg.psql("SELECT count(*) FROM fleet_nodes WHERE rollup_through IS NOT NULL") == "3\n"
                }

                // Traffic of two tenants spread over the nodes; acme/search opens on n1 and n2 (quorum
                // 3: no episode), globex/search on n3; a fleet-wide action names all tenants.
                let acmeOnN1 = try await nodes[0].load(tenant: "acme", tool: "search", for: .seconds(5), limit: 30).count
                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                _ = try await nodes[0].isRejected(tenant: "acme", tool: "search")
                let acmeOnN2 = try await nodes[1].load(tenant: "acme", tool: "search", for: .seconds(5), limit: 12).count
                try await nodes[1].fail(tenant: "acme", tool: "search", times: 2)
                _ = try await nodes[1].load(tenant: "globex", tool: "search", for: .seconds(5), limit: 7)
                _ = try await nodes[2].load(tenant: "globex", tool: "crm", for: .seconds(5), limit: 5)
                try await nodes[2].fail(tenant: "globex", tool: "search", times: 2)
                let (forced, answer) = try await nodes[2].post(
                    "/v1/operator/force-open", ["tool": "crm", "actor": "oncall", "reason": "vendor maintenance"])
                #expect(forced == 200, "\(answer)")
                _ = try await nodes[0].isRejected(tenant: "acme", tool: "crm")

                // The rollup at start saw no call, the next one is an hour away: only the rollup a
                // node makes when it stops can bring its counts.
                #expect(try pg.psql("SELECT COALESCE(SUM(calls), 0) FROM fleet_rollups") == "0\n")
                // Stopping upserts the last rollups; then the fleet's sums are complete.
                for n in nodes { try await n.stop() }

                let fleet = try CLI.process(["report", "--all", "--fleet", pg.url])
                #expect(fleet.status == 0, "\(fleet.stderr)")
                let own = try nodes.map { try CLI.process(["report", "--all", "--db", $0.db]).text }
                #expect(!Self.rows(fleet.text).isEmpty)
                // Every count is the sum. Open time is too, up to each node's stop: the keys still open
                // then keep counting in a node's own report up to now (SPEC §9), not in its last rollup.
                let (fleetRows, ownRows) = (Self.rows(fleet.text), Self.summed(own))
                let counts = { (rows: [[String]]) in rows.map { Array($0.prefix(9)) + [$0[10]] } }
                #expect(counts(fleetRows) == counts(ownRows), "report --fleet is the sum of the nodes' reports:\n\(fleet.text)")
                for (f, o) in zip(fleetRows, ownRows) {
                    #expect(Double(f[9])! <= Double(o[9])!, "open time up to the stop, at most the nodes' own: \(f) \(o)")
                }
                for n in nodes { #expect(fleet.stderr.contains("fleet: node \(n.name) (not live): rollups through "), "\(fleet.stderr)") }

                let acme = try CLI.process(["report", "--tenant", "acme", "--fleet", pg.url, "--format", "json"])
                let acmeRows = try JSONSerialization.jsonObject(with: acme.stdout) as? [[String: Any]] ?? []
                #expect(acmeRows.allSatisfy { $0["tenant"] as? String == "acme" } && !acmeRows.isEmpty)
                let acmeCalls = acmeRows.map { $0["calls"] as? Int ?? 0 }.reduce(0, +)
                // n1: its load's successes (30 unless the machine is slow), 2 failures, 2 rejected looks;
                // n2: its load's successes (12), 2 failures.
                #expect(acmeCalls == acmeOnN1 + 2 + 2 + acmeOnN2 + 2, "acme's calls on n1 and n2")

                // The fleet's audit: each node's own audit, a first column `node`, merged by time.
                let audit = try CLI.process(["audit", "--tenant", "acme", "--fleet", pg.url])
                #expect(audit.status == 0, "\(audit.stderr)")
                var expected: [(String, String, Int, [String])] = []
                var strangers: [String] = []
                for n in nodes {
                    let own = try CLI.process(["audit", "--tenant", "acme", "--db", n.db])
                    guard own.status == 0 else {
                        // A node that never saw acme refuses the name (a typo, as far as it knows).
                        #expect(own.stderr.contains("tenant \"acme\" is not in"), "\(own.stderr)")
                        strangers.append(n.name)
                        continue
                    }
                    for (i, r) in Self.rows(own.text).enumerated() {
                        expected.append((r[0], n.name, i, [n.name] + r))
                    }
                }
                expected.sort { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
                let lines = audit.text.split(separator: "\r\n")
                #expect(lines.first == "node,ts,tenant,tool,event,from_state,to_state,cause,failures,calls,p95_ms,actor,reason")
                let merged = Self.rows(audit.text)
                #expect(
                    merged.filter { !strangers.contains($0[0]) } == expected.map(\.3),
                    "audit --fleet merges the nodes' audits:\n\(audit.text)")
                // In the fleet's timeline a node that never saw acme brings what applies to every
                // tenant: its configuration changes and its actions for all tenants, no more.
                #expect(strangers == ["n3"], "n3 served no call of acme")
                let fromN3 = merged.filter { $0[0] == "n3" }
                let n3Export = try CLI.process(["export", "--db", nodes[2].db]).text.split(separator: "\n").map(String.init)
                let n3AllTenants = n3Export.filter {
                    $0.contains("\"kind\":\"config\"") || ($0.contains("\"kind\":\"operator\"") && $0.contains("\"tenant\":null"))
                }
                #expect(
                    fromN3.allSatisfy { $0[2].isEmpty && ["config", "operator"].contains($0[4]) } && fromN3.count == n3AllTenants.count,
                    "n3's rows: \(fromN3)")
                #expect(
                    fromN3.contains { $0[4] == "operator" },
                    "the fleet action, applied on every node, is in each node's part of the timeline")
                #expect(expected.contains { $0.3[0] == "n2" && $0.3[7] == "failure_threshold" })

                let turn = try CLI.process(["audit", "--tenant", "acme", "--turn", "t", "--fleet", pg.url])
                #expect(turn.status == 64 && turn.stderr.contains("never leave their node"), "\(turn.stderr)")
            }
        }
    }
}
