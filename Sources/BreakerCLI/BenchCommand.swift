import ArgumentParser
import BreakerCore
import BreakerRuntime
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks; each prints one JSON object. Build with -c release.",
        discussion: """
            Examples:
              swift build -c release
              .build/release/breakerctl bench hot-path --keys 1000 --calls 10000000
              .build/release/breakerctl bench log --calls 1000000
              .build/release/breakerctl bench rebuild --records 10000000 --keys 10000
              .build/release/breakerctl bench report --records 10000000

            Exit codes: 0 done; 1 failure; 64 bad arguments.
            """,
        subcommands: [HotPathBench.self, LogBench.self, RebuildBench.self, ReportBench.self])
}

struct HotPathBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hot-path",
        abstract: "admit + record of successful calls on closed circuits, round-robin over K keys.",
        discussion: """
            In-process, single task, no tool work: each call is CircuitBreaker.admit then
            CircuitBreaker.complete (lock, wall-clock read, state machine, event handed to a
            discarding sink). Prints {"scenario":"hot-path","calls":N,"keys":K,"ns_per_call":X}.
            """)

    @Option(help: "Distinct (tenant, tool) keys.") var keys = 1000
    @Option(help: "Calls to time (after a warm-up of one call per key).") var calls = 10_000_000
    @Flag(help: "Time the bare state machine (no lock, clock or sink) instead, to see what the runtime adds.")
    var machineOnly = false

    func validate() throws {
        guard keys >= 1 else { throw ValidationError("--keys must be at least 1") }
        guard calls >= 1 else { throw ValidationError("--calls must be at least 1") }
    }

    func run() async throws {
        // Plain locals: reading an @Option inside the timed loop would be measured too.
        let keys = self.keys
        let calls = self.calls
        let breaker = CircuitBreaker(configuration: .standard)
        let tools = 10
        var names: [(TenantID, ToolID, TurnID)] = []
        for i in 0..<keys {
            names.append((try TenantID("tenant-\(i / tools)"), try ToolID("tool-\(i % tools)"), try TurnID("turn-\(i)")))
        }
        for (t, o, u) in names {
            if case .admitted(let p) = breaker.admit(tenant: t, tool: o, turn: u) {
                _ = breaker.complete(p, .success(latencyUs: 1000))
            }
        }
        var admittedCount = 0
        let clock = ContinuousClock()
        if machineOnly {
            var machine = breaker.machine
            var events: [BreakerEvent] = []
            let t0 = Timestamp(milliseconds: 1_795_824_000_000)
            let e = clock.measure {
                var k = 0
                for i in 0..<calls {
                    let (t, o, u) = names[k]
                    events.removeAll(keepingCapacity: true)
                    let now = t0.adding(milliseconds: Int64(i / 1000))
                    if case .admitted(let p) = machine.admit(BreakerKey(tenant: t, tool: o), turn: u, at: now, events: &events) {
                        _ = machine.complete(p, .success(latencyUs: 1000), at: now, events: &events)
                        admittedCount += 1
                    }
                    k += 1
                    if k == keys { k = 0 }
                }
            }
            let (s, a) = e.components
            let ns = Double(s) * 1e9 + Double(a) / 1e9
            writeOut(
                "{\"scenario\":\"hot-path-machine-only\",\"calls\":\(calls),\"keys\":\(keys),\"ns_per_call\":\(String(format: "%.1f", ns / Double(calls)))}\n"
            )
            return
        }
        let elapsed = clock.measure {
            var k = 0
            for _ in 0..<calls {
                let (t, o, u) = names[k]
                if case .admitted(let p) = breaker.admit(tenant: t, tool: o, turn: u) {
                    _ = breaker.complete(p, .success(latencyUs: 1000))
                    admittedCount += 1
                }
                k += 1
                if k == keys { k = 0 }
            }
        }
        guard admittedCount == calls else {
            throw BreakerError(.invalidArgument, "only \(admittedCount) of \(calls) calls were admitted; the benchmark is invalid")
        }
        let (s, a) = elapsed.components
        let ns = Double(s) * 1e9 + Double(a) / 1e9
        writeOut(
            "{\"scenario\":\"hot-path\",\"calls\":\(calls),\"keys\":\(keys),\"ns_per_call\":\(String(format: "%.1f", ns / Double(calls)))}\n"
        )
    }
}
