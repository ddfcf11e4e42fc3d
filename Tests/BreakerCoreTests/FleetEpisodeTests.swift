import BreakerCore
import BreakerRuntime
import Testing

/// SPEC §14: a fleet episode reaching this node records a `fleet` record and opens the key only
/// when it is CLOSED or was never seen; from there the key follows its own evidence.
struct FleetEpisodeTests {
    static let nodes = [try! NodeID("node-b"), try! NodeID("node-c")]

    static func episode(_ key: BreakerKey, at ms: Int64, votes: Int = 2) -> FleetRecord {
        FleetRecord(
            time: Harness.t(ms), tenant: key.tenant, tool: key.tool, votes: votes,
            nodes: (0..<votes).map { try! NodeID("node-\($0)") })
    }

    @Test func aClosedKeyOpensOnTheEpisodeAndRecoversOnItsOwnEvidence() {
        var h = Harness(SettingsOverride(successThreshold: 1, openTimeoutMs: 1_000))
        let key = Harness.key()
        h.call(key, at: 0)
        h.machine.receive(Self.episode(key, at: 500), facts: &h.facts)
        #expect(h.transitions.map(\.cause) == [.fleetQuorum])
        #expect(h.state(key)?.state == .open)
        #expect(h.state(key)?.openedAt == Harness.t(500))
        #expect(h.admit(key, at: 600).rejection?.reason == .circuitOpen)
        // The open timeout runs from the record's time; a probe success closes it.
        h.call(key, at: 1_500)
        #expect(h.state(key)?.state == .closed)
        #expect(h.transitions.map(\.cause) == [.fleetQuorum, .openTimeoutElapsed, .probeSucceeded])
        #expect(h.machine.hasSameDurableState(as: h.replayed))
        #expect(h.verifierProblems == [])
    }

    @Test func aKeyNeverSeenIsCreatedOpen() {
        var h = Harness()
        let key = Harness.key("initech")
        h.machine.receive(Self.episode(key, at: 0), facts: &h.facts)
        #expect(h.state(key)?.state == .open)
        #expect(h.transitions.map(\.from) == [.closed])
        guard case .fleet(let record) = h.events.first else {
            Issue.record("the fleet record comes before the transition it causes: \(h.events)")
            return
        }
        #expect(record.votes == 2 && record.nodes.count == 2)
        #expect(h.machine.hasSameDurableState(as: h.replayed))
        #expect(h.verifierProblems == [])
    }

    @Test(arguments: ["open", "half_open", "forced_open"])
    func aKeyInAnyOtherStateIsLeftAsItIs(state: String) {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1_000))
        let key = Harness.key()
        switch state {
        case "open": h.call(key, at: 0, .fail)
        case "half_open":
            h.call(key, at: 0, .fail)
            _ = h.permit(key, at: 2_000)
        default: h.perform(.forceOpenHold, key.tool, tenant: key.tenant, at: 0)
        }
        let before = h.state(key)
        let transitions = h.transitions.count
        h.machine.receive(Self.episode(key, at: 3_000), facts: &h.facts)
        #expect(h.transitions.count == transitions, "no transition for a key that is not CLOSED")
        #expect(h.state(key)?.state == before?.state)
        #expect(h.state(key)?.generation == before?.generation)
        #expect(h.verifierProblems == [])
    }

    @Test func aTraceLineNamesItsVotingNodes() throws {
        let trace = try Trace(
            text: #"{"at": 5, "op": "fleet", "tenant": "acme", "tool": "web_search", "votes": 2, "nodes": ["node-b", "node-c"]}"#)
        guard case .fleet(let record, let line) = trace.lines.first else {
            Issue.record("expected a fleet line: \(trace.lines)")
            return
        }
        #expect(line == 1)
        #expect(record.key == Harness.key())
        #expect(record.nodes == Self.nodes)
    }

    @Test(arguments: [
        (#""votes": 0, "nodes": []"#, "\"votes\""),
        (#""votes": 2, "nodes": ["node-b"]"#, "as many node names"),
        (#""votes": 1, "nodes": [7]"#, "\"nodes\"[0]"),
        (#""votes": 1, "nodes": [""]"#, "\"nodes\"[0]"),
        (#""votes": 1, "nodes": ["n"], "hold": true"#, "unknown field \"hold\""),
    ])
    func aBadFleetLineIsRefusedNamingTheField(fields: String, message: String) {
        let text = #"{"at": 5, "op": "fleet", "tenant": "acme", "tool": "web_search", "# + fields + "}"
        #expect {
            try Trace(text: text)
        } throws: { error in
            (error as? BreakerError)?.message.contains(message) == true && (error as? BreakerError)?.message.contains("line 1") == true
        }
    }
}
