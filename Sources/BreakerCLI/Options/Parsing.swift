import ArgumentParser
import BreakerCore
import Foundation

/// Parses a whole UTC hour like `2026-11-28T10:00:00Z` (``Timestamp/parseHour(_:field:)``).
func parseHour(_ text: String, option: String) throws -> Timestamp {
    do {
        return try Timestamp.parseHour(text, field: option)
    } catch {
        throw ValidationError(error.message)
    }
}

/// Parses a UTC time or epoch ms (``Timestamp/parseTime(_:field:)``).
func parseTime(_ text: String, option: String) throws -> Timestamp {
    do {
        return try Timestamp.parseTime(text, field: option)
    } catch {
        throw ValidationError(error.message)
    }
}

/// Parses the value of a name option (`--tenant`, `--tool`) as a name of SPEC §1; ArgumentParser
/// puts the option and the value before the reason.
func parseName<Kind>(_ text: String) throws -> Name<Kind> {
    do {
        return try Name<Kind>(text)
    } catch {
        throw ValidationError(error.message)
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

/// Writes `text` to `path` (atomically) or standard output.
func writeText(_ text: String, to path: String?) throws {
    guard let path else {
        writeOut(text)
        return
    }
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw BreakerError(.invalidArgument, "cannot write \(path): \(error.localizedDescription)", context: ["path": path])
    }
}
