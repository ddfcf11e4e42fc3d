import BreakerCore

/// Says on standard error that the output covers gaps in the log (SPEC §8): call records the
/// owner could not keep while its log could not be written.
func noteGaps(_ gaps: [LogGapRecord]) {
    for g in gaps {
        printError(
            "note: the log has a gap: \(g.dropped) call records from \(g.from.iso8601) to \(g.to.iso8601) could not be kept while the log could not be written; counts for that time are incomplete"
        )
    }
}
