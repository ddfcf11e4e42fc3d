import ArgumentParser
import BreakerCore

/// `--from TS` and `--to TS`: records with from ≤ ts < to (a UTC time, or epoch ms).
struct TimeRangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only records at or after this time (2026-11-28T10:05:00Z, …Z with ms, or epoch ms).", valueName: "ts"))
    var from: String?

    @Option(help: ArgumentHelp("Only records before this time.", valueName: "ts"))
    var to: String?

    func validate() throws {
        let (f, t) = (try fromTime, try toTime)
        if let f, let t, f >= t { throw ValidationError("--from must be before --to") }
    }

    var fromTime: Timestamp? { get throws { try from.map { try parseTime($0, option: "--from") } } }
    var toTime: Timestamp? { get throws { try to.map { try parseTime($0, option: "--to") } } }
}

/// `--from H` and `--to H`: whole UTC hours, end exclusive (the SLA report's range).
struct HourRangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("First hour, inclusive (e.g. 2026-11-28T10:00:00Z).", valueName: "hour"))
    var from: String?

    @Option(help: ArgumentHelp("End hour, exclusive.", valueName: "hour"))
    var to: String?

    func validate() throws {
        let (f, t) = (try fromHour, try toHour)
        if let f, let t, f >= t {
            throw ValidationError("--from \(f.iso8601Seconds) must be before --to \(t.iso8601Seconds)")
        }
    }

    var fromHour: Timestamp? { get throws { try from.map { try parseHour($0, option: "--from") } } }
    var toHour: Timestamp? { get throws { try to.map { try parseHour($0, option: "--to") } } }
}

/// `--tenant T` (optional): one tenant's records.
struct TenantFilterOption: ParsableArguments {
    @Option(
        help: ArgumentHelp("Only this tenant (a name starting with - is written --tenant=-name).", valueName: "tenant"),
        transform: { try parseName($0) })
    var tenant: TenantID?
}

/// `--format table|json`.
enum TableFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}
