import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

extension FleetDrills {
    /// The dashboard's fleet section in a real headless chromium (`Tests/ServeClients/fleet_dashboard_test.py`).
    @Suite(.temporaryDirectory, .serialized, .enabled(if: PostgresCluster.isAvailable, "needs Debian's postgresql"))
    struct FleetDashboardTests {
        @Test func theDashboardInHeadlessChromiumShowsTheNodesAndTheEpisodes() async throws {
            let python = Peers.venv.appendingPathComponent("bin/python3").path
            try #require(
                FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
                    && FileManager.default.isExecutableFile(atPath: python),
                "chromium, chromedriver or selenium is missing: run `bash .ci/run` once to install them")
            try await onQueueOfItsOwn("fleet-dashboard") {
                let pg = try PostgresCluster()
                defer { pg.destroy() }
                let nodes = try await ServeNode.joined(
                    ["n1", "n2", "n3", "n4"], fleet: pg, dir: scratchDirectory, config: FleetPeerTests.config)
                defer { for n in nodes { n.kill() } }
                try await nodes[0].fail(tenant: "acme", tool: "search", times: 2)
                try await nodes[1].fail(tenant: "acme", tool: "search", times: 2)
                try await waitUntil("n3 to reject acme/search", within: .seconds(20), poll: .milliseconds(20)) {
                    try await nodes[2].isRejected(tenant: "acme", tool: "search")
                }
                nodes[3].kill()
                let screenshot = ProcessInfo.processInfo.environment["FLEET_DASHBOARD_SCREENSHOT"]
                let r = try await Peers.run(
                    python,
                    [Peers.script("fleet_dashboard_test.py"), "http://127.0.0.1:\(nodes[2].port)"]
                        + (screenshot.map { ["--screenshot", $0] } ?? []))
                #expect(r.status == 0 && r.text.contains("fleet dashboard: all checks passed"), r.peerFailure)
            }
        }
    }
}
