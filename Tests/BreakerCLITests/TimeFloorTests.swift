import BreakerTestSupport
import Foundation
import Testing

/// SPEC §8: recorded times never decrease, across processes too.
@Suite(.temporaryDirectory) struct TimeFloorTests {
    @Test func anActionAppliedByTheCLIToAStoreAheadOfTheClockKeepsTimesFromDecreasing() async throws {
        let dir = scratchDirectory
        let db = dir + "/s.sqlite"
        // The store's last record is years ahead of this machine's wall clock.
        let trace = try writeTrace(dir, [callLine("2031-06-01T12:00:00.500Z", "acme", "web_search", "t-1")])
        #expect(try await CLI.run(["simulate", trace, "--db", db]).status == 0)
        let r = try await CLI.run(["force-open", "--tool", "web_search", "--tenant", "acme", "--reason", "r", "--actor", "a", "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        let times = try await CLI.run(["export", "--db", db]).text.split(separator: "\n").map { line -> Int64 in
            let object = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (object["ts"] as! NSNumber).int64Value
        }
        #expect(times.count == 3, "the call, the operator action and its transition")
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 }, "\(times)")
        let verify = try await CLI.run(["verify", "--db", db])
        #expect(verify.status == 0, "\(verify.stderr)")
    }
}
