import ArgumentParser
import BreakerCore
import BreakerOwner
import BreakerRuntime
import BreakerStore
import Foundation
import Logging

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a trace through the real breaker on a virtual clock, into a new store.",
        discussion: """
            TRACE is JSON lines (SPEC §10), one a line; here folded to fit. Calls like
              {"at": "2026-11-28T10:00:00Z", "tenant": "acme", "tool": "web_search",
               "turn": "t-1", "latency_ms": 120, "result": "ok"}
            and operator actions like
              {"at": 1795860120000, "op": "force_open", "tool": "web_search",
               "hold": true, "reason": "vendor outage", "actor": "oncall"}

            The whole trace and the configuration are checked before anything is written; a bad line \
            is reported by its number and nothing is created. The store must not exist yet.

            Example:
              breakerctl simulate trace.jsonl --config config.json --db case.sqlite
              breakerctl report --all --db case.sqlite

            Exit codes: 0 done; 1 bad trace, bad configuration or store problem; 64 bad arguments.
            """)

    @Argument(help: ArgumentHelp("The trace file (JSON lines).", valueName: "trace"))
    var trace: String

    @Option(help: ArgumentHelp("Configuration file (JSON, SPEC §2); defaults when absent.", valueName: "file"))
    var config: String?

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            let configuration = try loadConfiguration(config)
            guard let data = FileManager.default.contents(atPath: trace) else {
                throw BreakerError(.invalidTrace, "cannot read trace file \(trace)", context: ["path": trace])
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw BreakerError(.invalidTrace, "trace file \(trace) is not UTF-8", context: ["path": trace])
            }
            let parsed = try Trace(text: text)
            let summary = try await SimulationRunner.run(
                parsed, configuration: configuration, storePath: store.path,
                progress: parsed.lines.count > 50_000 ? { done, total in printError("simulated \(done)/\(total) lines") } : nil)
            printError(
                "simulated \(summary.lines) lines (\(summary.calls) calls, \(summary.rejected) rejected, \(summary.operatorActions) operator actions\(summary.configurationChanges > 0 ? ", \(summary.configurationChanges) configuration changes" : "")) into \(store.path)"
            )
        }
    }
}
