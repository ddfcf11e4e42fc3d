import BreakerCore
import BreakerRuntime
import BreakerTestSupport
import Testing

/// The question "what would an admission of this key answer now" (what `unavailableTools` and
/// the system-prompt note are made of) is the admission rule itself, asked without acting.
@Suite struct ProspectTests {
    /// After random traces, at many instants, for every tenant × tool (a tenant never seen too),
    /// the prospect equals what an admission of a copy of the machine answers, and asking
    /// changes nothing.
    @Test(arguments: 1...6)
    func theProspectIsWhatAnAdmissionWouldAnswerAndChangesNothing(seed: UInt64) throws {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(RandomWorkload.lively, clock: clock, sink: sink)
        Simulation(breaker: breaker, clock: clock).run(RandomWorkload.trace(seed: seed, lines: 2000, operatorRate: 0.03))
        let machine = breaker.machine
        let before = machine
        let last = try #require(sink.events.last).time
        let tenants = (0..<5).map { try! TenantID("tenant-\($0)") }
        let tools = (0..<3).map { try! ToolID("tool-\($0)") }
        var rng = SeededGenerator(seed: seed)
        var rejected = 0
        for _ in 0..<40 {
            let now = last.adding(milliseconds: Int64.random(in: 0...120_000, using: &rng))
            for tenant in tenants {
                for tool in tools {
                    let key = BreakerKey(tenant: tenant, tool: tool)
                    let prospect = machine.prospect(of: key, at: now)
                    var copy = machine
                    var facts: [Fact] = []
                    let expected: Prospect
                    switch copy.admit(key, turn: nil, at: now, facts: &facts).result {
                    case .admitted(let permit): expected = .admitted(probe: permit.probe)
                    case .rejected(let r):
                        rejected += 1
                        let state = try #require(copy.status(of: key)).state
                        expected = .rejected(state: state, reason: r.reason, retryAfterMs: r.retryAfterMs)
                    case .untracked: expected = .untracked
                    }
                    #expect(prospect == expected, "\(key) at \(now)")
                }
            }
        }
        #expect(rejected > 20, "the traces must leave keys that reject")
        #expect(machine.hasSameDurableState(as: before) && machine.keys.count == before.keys.count, "asking changes nothing")
    }
}
