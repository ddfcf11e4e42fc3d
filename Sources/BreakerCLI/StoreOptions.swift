import ArgumentParser
import BreakerCore
import Foundation
import Logging

/// `--db PATH`: the store file.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store file (default: $BREAKER_DB, else breaker.sqlite).", valueName: "path"))
    var db: String?

    var path: String {
        if let db { return db }
        if let env = ProcessInfo.processInfo.environment["BREAKER_DB"], !env.isEmpty { return env }
        return "breaker.sqlite"
    }
}

/// A logger that prints nothing: commands report on standard error themselves, one clear line.
let quietLogger = Logger(label: "breakerctl", factory: { _ in SwiftLogNoOpLogHandler() })

/// Writes to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes text to standard output without a trailing newline.
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Runs `body`, turning a ``BreakerError`` into a message on standard error and exit status 1.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as BreakerError {
        printError("error: \(e.message)")
        throw ExitCode(1)
    }
}

/// Parses a whole UTC hour like `2026-11-28T10:00:00Z`.
func parseHour(_ text: String, option: String) throws -> Timestamp {
    guard let t = Timestamp(iso8601: text) else {
        throw ValidationError("\(option) \(text.debugDescription) is not a UTC time; write a whole hour like 2026-11-28T10:00:00Z")
    }
    guard t.hourStart == t else {
        throw ValidationError("\(option) \(text) is not a whole hour; write it like \(t.hourStart.iso8601Seconds)")
    }
    return t
}

/// Parses a UTC time like `2026-11-28T10:05:00Z` or `2026-11-28T10:05:00.250Z`, or epoch ms.
func parseTime(_ text: String, option: String) throws -> Timestamp {
    if let ms = Int64(text) { return Timestamp(milliseconds: ms) }
    guard let t = Timestamp(iso8601: text) else {
        throw ValidationError(
            "\(option) \(text.debugDescription) is not a time; write 2026-11-28T10:05:00Z, 2026-11-28T10:05:00.250Z or epoch ms")
    }
    return t
}

/// Says on standard error that the output covers gaps in the log (SPEC §8): call records the
/// owner could not keep while its log could not be written.
func noteGaps(_ gaps: [LogGapRecord]) {
    for g in gaps {
        printError(
            "note: the log has a gap: \(g.dropped) call records from \(g.from.iso8601) to \(g.to.iso8601) could not be kept while the log could not be written; counts for that time are incomplete"
        )
    }
}

/// Parses the value of a name option (`--tenant`, `--tool`) as a name of SPEC §1.
func parseName<Kind>(_ text: String, option: String) throws -> Name<Kind> {
    do {
        return try Name<Kind>(text)
    } catch {
        throw ValidationError("\(option): \(error.message)")
    }
}

/// Loads a configuration file (SPEC §2), or the defaults when `path` is nil.
func loadConfiguration(_ path: String?) throws(BreakerError) -> BreakerConfiguration {
    guard let path else { return .standard }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw BreakerError(.invalidConfiguration, "cannot read configuration file \(path)", context: ["path": path])
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw BreakerError(.invalidConfiguration, "configuration file \(path) is not UTF-8", context: ["path": path])
    }
    do {
        return try BreakerConfiguration(json: text)
    } catch {
        throw BreakerError(.invalidConfiguration, "\(path): \(error.message)", context: error.context.merging(["path": path]) { a, _ in a })
    }
}
