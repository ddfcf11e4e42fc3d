import BreakerCore
import Testing

/// A new key's first call is in flight — admitted, nothing recorded yet — when a tool-wide action
/// arrives. The replay of the log has no such key until a record names it, so the live machine
/// must treat it the same way: not moved by the action, and first seen (under the signal) at its
/// next admission.
struct FirstCallInFlightTests {
    @Test(arguments: [OperatorOp.forceOpen, .forceOpenHold])
    func aToolWideForceOpenDuringANewKeysFirstCallReplaysAndVerifiesExactly(op: OperatorOp) throws {
        var h = Harness()
        let key = Harness.key()
        let first = h.permit(key, at: 0)
        let permit = try #require(first)
        h.perform(op, key.tool, tenant: nil, at: 10)
        let second = h.admit(key, at: 20, turn: "turn-2")
        _ = h.complete(permit, .success(latencyUs: 30_000), at: 30)

        // The key is first seen under the signal at its second admission, and rejected.
        #expect(second.rejection != nil)
        #expect(h.transitions.map(\.time) == [Harness.t(20)])
        #expect(h.machine.hasSameDurableState(as: h.replayed))
        var verifier = LogVerifier(machine: BreakerMachine(configuration: h.initialConfiguration))
        for (seq, event) in h.events.enumerated() { verifier.check(event, seq: Int64(seq + 1)) }
        verifier.finish()
        #expect(verifier.problems == [])
    }
}
