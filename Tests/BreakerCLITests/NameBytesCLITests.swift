import BreakerTestSupport
import Foundation
import Testing

/// SPEC §1 through the real `breakerctl`: tenants whose names differ only in Unicode
/// normalization are separate circuits, report rows, audits, status lines and exports.
@Suite(.temporaryDirectory) struct NameBytesCLITests {
    static let pairs: [(String, String)] = [
        ("caf\u{E9}", "cafe\u{301}"),
        ("\u{D55C}", "\u{1112}\u{1161}\u{11AB}"),
    ]

    @Test(arguments: pairs)
    func canonicallyEquivalentTenantsAreKeptApartEverywhere(first: String, second: String) async throws {
        var lines: [String] = []
        for i in 0..<5 { lines.append(callLine("2026-11-28T10:00:0\(i)Z", first, "web_search", "a-\(i)", result: "error")) }
        lines.append(callLine("2026-11-28T10:00:10Z", second, "web_search", "b-1"))
        let dir = scratchDirectory
        let db = dir + "/s.sqlite"
        let sim = try await CLI.run(["simulate", try writeTrace(dir, lines), "--db", db])
        #expect(sim.status == 0, "\(sim.stderr)")

        let secondReport = try await CLI.run(["report", "--tenant=\(second)", "--db", db]).text.split(separator: "\r\n")
        #expect(secondReport.count == 2)
        let secondRow = Array(String(secondReport.last ?? "").utf8)
        #expect(secondRow == Array((second + ",2026-11-28T10:00:00Z,1,0,0,1,0,0,0,0.000,100.00").utf8), "\(secondReport)")
        let firstReport = try await CLI.run(["report", "--tenant=\(first)", "--db", db]).text.split(separator: "\r\n")
        let firstRow = Array(String(firstReport.last ?? "").utf8)
        let firstExpected = Array((first + ",2026-11-28T10:00:00Z,5,0,5,5,0,5,0,").utf8)
        #expect(Array(firstRow.prefix(firstExpected.count)) == firstExpected, "\(firstReport)")

        let all = try await CLI.run(["report", "--all", "--db", db]).stdout
        let rows = all.split(separator: UInt8(ascii: "\n")).dropFirst().map { Array($0) }
        #expect(rows.count == 2, "one row per tenant")
        let tenantsInOrder = rows.map { Array($0.prefix { $0 != UInt8(ascii: ",") }) }
        #expect(tenantsInOrder == [Array(first.utf8), Array(second.utf8)].sorted { $0.lexicographicallyPrecedes($1) })

        let secondAudit = try await CLI.run(["audit", "--tenant=\(second)", "--db", db]).text.split(separator: "\r\n")
        #expect(secondAudit.count == 1, "the second tenant has no transitions: \(secondAudit)")
        let firstAudit = try await CLI.run(["audit", "--tenant=\(first)", "--db", db]).text.split(separator: "\r\n")
        #expect(firstAudit.count == 2)

        let status = try await CLI.run(["status", "--format", "json", "--db", db])
        let keys = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [[String: Any]])
        let states = Dictionary(keys.map { (Array(($0["tenant"] as! String).utf8), $0["state"] as! String) }) { a, _ in a }
        #expect(states[Array(first.utf8)] == "open")
        #expect(states[Array(second.utf8)] == "closed")
        let secondOnly = try await CLI.run(["status", "--tenant=\(second)", "--format", "json", "--db", db])
        #expect((try JSONSerialization.jsonObject(with: secondOnly.stdout) as? [Any])?.count == 1)

        let export = try await CLI.run(["export", "--tenant=\(second)", "--db", db]).text.split(separator: "\n")
        #expect(export.count == 1, "\(export)")
    }

    @Test(arguments: pairs)
    func canonicallyEquivalentTurnIdsAreTwoTurns(first: String, second: String) async throws {
        let lines = [
            callLine("2026-11-28T10:00:00Z", "acme", "web_search", first),
            callLine("2026-11-28T10:00:01Z", "acme", "web_search", second, result: "error"),
        ]
        let dir = scratchDirectory
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", try writeTrace(dir, lines), "--db", db]).status == 0)
        let report = try await CLI.run(["report", "--tenant", "acme", "--db", db]).text.split(separator: "\r\n")
        #expect(report.last == "acme,2026-11-28T10:00:00Z,2,0,1,2,0,1,0,0.000,100.00", "\(report)")
        let turn = try await CLI.run(["audit", "--tenant", "acme", "--turn", second, "--db", db]).text.split(separator: "\r\n")
        #expect(turn.count == 2, "only the second spelling's call: \(turn)")
    }
}
