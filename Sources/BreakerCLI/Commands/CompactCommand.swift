import ArgumentParser
import BreakerCore
import BreakerStore

struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Drop raw call records older than N days; reports keep their numbers.",
        discussion: """
            Call records older than N days (before the start of that UTC day, counted back from the \
            newest record) are folded into a replay-base snapshot and removed. The SLA report keeps \
            using the hourly rollups it always reads; transitions, operator actions and outage \
            events are kept forever, so audits are unchanged. Needs ownership: stop the owner first.

            Example:
              breakerctl compact --keep-days 30

            Exit codes: 0 done; 1 failure; 64 bad arguments.
            """)

    @Option(help: "Days of raw call records to keep.") var keepDays: Int
    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard keepDays >= 1 else { throw ValidationError("--keep-days must be at least 1") }
    }

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openOwner(path: store.path, mustExist: true)
            let newest = try s.latestTime() ?? Timestamp(milliseconds: 0)
            let dayStart = newest.milliseconds - ((newest.milliseconds % 86_400_000) + 86_400_000) % 86_400_000
            let cutoff = Timestamp(milliseconds: dayStart - Int64(keepDays - 1) * 86_400_000)
            let removed = try s.compact(before: cutoff)
            printError("removed \(removed) call records before \(cutoff.iso8601); reports and audits are unchanged")
        }
    }
}
