import ArgumentParser
import BreakerCore
import Foundation

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
