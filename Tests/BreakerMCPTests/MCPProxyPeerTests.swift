import BreakerTestSupport
import Foundation
import Testing

/// `breakerctl mcp-proxy` between real MCP peers (SPEC §13): the Python SDK's `ClientSession` and
/// a Python SDK server, under both major versions of the SDK, which differ in API and protocol
/// version. The script is `Tests/MCPClients/mcp_proxy_test.py`; `bash .ci/run` installs the SDKs.
@Suite(.serialized)
struct MCPProxyPeerTests {
    @Test(arguments: ["peers", "peers-mcp1"])
    func theProxyGuardsARealMCPServerForARealMCPClient(environment: String) async throws {
        let python = CLI.packageRoot.appendingPathComponent(".build/\(environment)/bin/python3").path
        try #require(
            FileManager.default.isExecutableFile(atPath: python), "the Python MCP SDK is missing: run `bash .ci/run` once to install it")
        let script = CLI.packageRoot.appendingPathComponent("Tests/MCPClients/mcp_proxy_test.py").path
        let r = try await Peers.run(python, [script, CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("mcp-proxy: all checks passed"), r.peerFailure)
    }

    @Test func theProxyIsBoundedBothWaysAgainstFloodsLongMessagesAndDuplicateIDs() async throws {
        let script = CLI.packageRoot.appendingPathComponent("Tests/MCPClients/mcp_proxy_bounds_test.py").path
        let r = try await Peers.run(Peers.python, [script, CLI.binary.path, try Peers.workDir()])
        #expect(r.status == 0 && r.text.contains("mcp-proxy bounds: all checks passed"), r.peerFailure)
    }
}
