import BreakerTestSupport
import Foundation
import Testing

/// The client libraries of `Sources/tenantbreaker-python` and `Sources/tenantbreaker-js`, each
/// tested by its own ecosystem's runner (pytest, `node --test`) against the real `breakerctl`
/// built beside this bundle. `bash .ci/run` installs the runners and the frameworks.
@Suite(.serialized)
struct ClientLibraryTests {
    @Test func thePythonPackagePassesItsTestsAgainstARealServe() async throws {
        let python = CLI.packageRoot.appendingPathComponent(".build/clients/bin/python3").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "the clients' venv is missing: run `bash .ci/run` once")
        let r = try await Peers.run(
            python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", CLI.packageRoot.appendingPathComponent("Tests/PythonClient").path],
            environment: ["BREAKERCTL": CLI.binary.path])
        #expect(r.status == 0 && r.text.contains(" passed"), r.peerFailure)
    }

    @Test func theTypeScriptClientPassesItsTestsAgainstARealServe() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/node"), "node is missing: run `bash .ci/run` once")
        let r = try await Peers.run(
            "/usr/bin/node", ["--test", CLI.packageRoot.appendingPathComponent("Tests/TypeScriptClient").path],
            environment: ["BREAKERCTL": CLI.binary.path])
        #expect(r.status == 0 && r.text.contains("# fail 0") && !r.text.contains("# pass 0"), r.peerFailure)
    }
}
