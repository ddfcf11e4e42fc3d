import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

/// `breakerctl serve` against real peers (SPEC §12): the Python client, raw sockets, the OpenAPI
/// document, schemathesis and a headless chromium, each driving the real binary on an ephemeral
/// loopback port. The scripts live in `Tests/ServeClients`; `bash .ci/run` installs the peers.
@Suite(.serialized)
struct ServePeerTests {
    @Test func thePythonClientDrivesAServeThroughAnOutageAndNothingIsLost() async throws {
        let r = try await Peers.run(Peers.python, [Peers.script("interop_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("interop: all checks passed"), r.peerFailure)
    }

    @Test func tokensBadInputAndUnrulyClientsNeverGetA5xxOrARecord() async throws {
        let r = try await Peers.run(Peers.python, [Peers.script("bad_input_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("bad input: all checks passed"), r.peerFailure)
    }

    @Test func limitsAndHTTPDetailsHoldAgainstRawClientsFloodsAndLargeReports() async throws {
        let r = try await Peers.run(Peers.python, [Peers.script("limits_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("limits: all checks passed"), r.peerFailure)
    }

    @Test func theEventStreamIsPushedEndsWithItsClientAndDropsAClientThatDoesNotRead() async throws {
        let r = try await Peers.run(Peers.python, [Peers.script("events_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("events: all checks passed"), r.peerFailure)
    }

    @Test func cliReadersWhileAnOwnerStartsNeverDeleteItsFilesOrDelayItsActions() async throws {
        let r = try await Peers.run(
            Peers.python,
            [
                Peers.script("reader_race_test.py"), CLI.binary.path, try Peers.workDir(), "6",
                CLI.executable("breaker-embedding-example").path,
            ])
        #expect(r.status == 0 && r.text.contains("reader race: all checks passed"), r.peerFailure)
    }

    @Test func aWebPageInHeadlessChromiumCannotDriveALoopbackServe() async throws {
        let python = Peers.venv.appendingPathComponent("bin/python3").path
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && FileManager.default.isExecutableFile(atPath: python),
            "chromium, chromedriver or selenium is missing: run `bash .ci/run` once to install them")
        let r = try await Peers.run(python, [Peers.script("cross_site_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("cross site: all checks passed"), r.peerFailure)
    }

    @Test func circuitsOfToolsWithAnHTTPHealthCheckRecoverWithNoTrafficAsTheirEndpointComesBack() async throws {
        let r = try await Peers.run(Peers.python, [Peers.script("health_check_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("health check: all checks passed"), r.peerFailure)
    }

    @Test func theOpenAPIDocumentMatchesTheRoutes() async throws {
        let r = try await Peers.run(Peers.python, [Peers.script("openapi_routes_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("openapi routes: all checks passed"), r.peerFailure)
    }

    @Test func schemathesisFindsNo5xxAndNoResponseOutsideTheDocument() async throws {
        let fuzzer = Peers.venv.appendingPathComponent("bin/schemathesis").path
        try #require(FileManager.default.isExecutableFile(atPath: fuzzer), "schemathesis is missing: run `bash .ci/run` once to install it")
        let r = try await Peers.run("/bin/bash", [Peers.script("schemathesis_test.sh"), CLI.binary.path, try Peers.workDir(), fuzzer])
        #expect(r.status == 0 && r.text.contains("schemathesis: no issues"), r.peerFailure)
    }

    @Test func prometheusOwnParserReadsMetricsWithEveryTenantNameIntact() async throws {
        let python = Peers.venv.appendingPathComponent("bin/python3").path
        try #require(
            FileManager.default.isExecutableFile(atPath: python), "prometheus-client is missing: run `bash .ci/run` once to install it")
        let r = try await Peers.run(python, [Peers.script("metrics_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("metrics: all checks passed"), r.peerFailure)
    }

    @Test func theDashboardInHeadlessChromiumFollowsAnOutageLive() async throws {
        let python = Peers.venv.appendingPathComponent("bin/python3").path
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && FileManager.default.isExecutableFile(atPath: python),
            "chromium, chromedriver or selenium is missing: run `bash .ci/run` once to install them")
        let r = try await Peers.run(python, [Peers.script("dashboard_test.py"), CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("dashboard: all checks passed"), r.peerFailure)
    }
}

/// Runs the peer scripts of `Tests/ServeClients`.
