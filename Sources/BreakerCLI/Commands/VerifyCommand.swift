import ArgumentParser
import BreakerCore
import BreakerStore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a store: schema, rebuild == full replay, every transition justified.",
        discussion: """
            Runs SQLite's quick_check and the schema checks, rebuilds the state from the latest \
            snapshot and compares it with a replay of the whole log, and checks that each recorded \
            transition follows from the records before it (its rule held, its from-state and \
            generation match). Read-only; works while an owner writes.

            Example:
              breakerctl verify --db breaker.sqlite

            Exit codes: 0 sound; 3 problems found (listed on standard error); 1 cannot read the store.
            """)

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let report = try await reportingErrors { try EventStore.openReader(path: store.path).verify() }
        noteGaps(report.gaps)
        if report.uncheckableAfterGaps > 0 {
            printError(
                "note: \(report.uncheckableAfterGaps) records within a gap could not be checked against the call records it dropped"
            )
        }
        if report.problems.isEmpty {
            writeOut(
                "ok: \(report.recordsReplayed) records replayed, \(report.transitionsChecked) transitions justified, rebuild (tail \(report.tailReplayed)) equals full replay\n"
            )
        } else {
            for p in report.problems { printError("problem: \(p)") }
            throw ExitCode(3)
        }
    }
}
