import BreakerCore
import BreakerReports
import BreakerStore
import BreakerTestSupport
import Testing

/// The what-if replay's input is sorted in batches; how large they are changes nothing.
@Suite(.temporaryDirectory) struct WhatIfReplayTests {
    @Test func theBatchSizeChangesNothing() async throws {
        let path = scratchDirectory + "/s.sqlite"
        // Operator actions and tight thresholds, so that there are rejections to replay.
        var configuration = BreakerConfiguration.standard
        configuration.defaults.failureThreshold = 3
        _ = try await simulate(RandomWorkload.trace(seed: 11, lines: 40_000), into: path, configuration: configuration)
        let store = try EventStore.openReader(path: path)
        var candidate = configuration
        candidate.defaults.failureThreshold = 6
        let maxLatencyUs = try store.maxCallLatencyUs()
        func run(batch: Int) throws -> [WhatIfResult] {
            var replay = WhatIfReplay(
                candidates: [configuration, candidate], tenant: nil, from: nil, to: nil, maxLatencyUs: maxLatencyUs,
                start: Timestamp(milliseconds: 0), batch: batch)
            try store.forEachEvent(EventFilter(kinds: [.calls, .transitions, .operatorActions, .fleet])) { replay.feed($0) }
            return replay.finish()
        }
        let whole = try run(batch: .max)
        #expect(whole[0].total.callsRejectedRecorded > 100, "the workload rejects calls")
        #expect(whole[0].total.callsRejectedCandidate == whole[0].total.callsRejectedRecorded, "its own configuration")
        #expect(whole[1].total.admittedUnknown > 0, "the candidate admits recorded rejections")
        for batch in [1, 7, 1000, 16_384] {
            let batched = try run(batch: batch)
            #expect(batched.map(\.rows) == whole.map(\.rows), "batch \(batch)")
            #expect(batched.map(\.total) == whole.map(\.total), "batch \(batch)")
        }
        #expect(try store.whatIf(candidates: [configuration, candidate], tenant: nil).map(\.total) == whole.map(\.total))
    }
}
