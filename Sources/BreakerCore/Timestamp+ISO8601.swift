extension Timestamp {
    /// ISO 8601 in UTC with exactly three fractional digits: `2026-11-28T13:05:00.250Z`.
    public var iso8601: String {
        let c = civil
        return
            "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(c.millisecond, 3))Z"
    }

    /// ISO 8601 in UTC to the second: `2026-11-28T13:00:00Z` (used for report hours).
    public var iso8601Seconds: String {
        let c = civil
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))Z"
    }

    /// The start of the UTC hour that holds this instant.
    public var hourStart: Timestamp {
        Timestamp(milliseconds: Self.floorDiv(milliseconds, 3_600_000) * 3_600_000)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z` (UTC only, at most millisecond precision).
    ///
    /// Returns `nil` for anything else, including offsets other than `Z`, out-of-range fields
    /// and more than three fractional digits.
    public init?(iso8601 text: String) {
        let b = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var v = 0
            for i in start..<(start + count) {
                let d = Int(b[i]) - 48
                guard d >= 0 && d <= 9 else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard b.count >= 20,
            let year = digits(0, 4), b[4] == UInt8(ascii: "-"),
            let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), b[10] == UInt8(ascii: "T"),
            let hour = digits(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        var i = 19
        var millis = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var n = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                guard n < 3 else { return nil }
                millis = millis * 10 + Int(b[i] - 48)
                n += 1
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<3 { millis *= 10 }
        }
        guard i == b.count - 1, b[i] == UInt8(ascii: "Z") else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.init(milliseconds: seconds * 1000 + Int64(millis))
    }

    private struct Civil {
        var year, month, day, hour, minute, second, millisecond: Int
    }

    private var civil: Civil {
        let ms = Self.floorMod(milliseconds, 1000)
        let totalSeconds = Self.floorDiv(milliseconds, 1000)
        let days = Self.floorDiv(totalSeconds, 86_400)
        let secondOfDay = Int(totalSeconds - days * 86_400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = Self.floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return Civil(
            year: Int(year), month: Int(month), day: Int(day),
            hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60, second: secondOfDay % 60,
            millisecond: Int(ms))
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        a - floorDiv(a, b) * b
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

extension Timestamp {
    /// Parses a whole UTC hour like `2026-11-28T10:00:00Z` given in `field` (the SLA report's
    /// range: `report --from`, `/v1/report.csv?from=`).
    public static func parseHour(_ text: String, field: String) throws(BreakerError) -> Timestamp {
        guard let t = Timestamp(iso8601: text) else {
            throw BreakerError(
                .invalidArgument, "\(field) \(text.debugDescription) is not a UTC time; write a whole hour like 2026-11-28T10:00:00Z")
        }
        guard t.hourStart == t else {
            throw BreakerError(.invalidArgument, "\(field) \(text) is not a whole hour; write it like \(t.hourStart.iso8601Seconds)")
        }
        return t
    }

    /// Parses a UTC time like `2026-11-28T10:05:00Z` or `2026-11-28T10:05:00.250Z`, or epoch ms,
    /// given in `field`.
    public static func parseTime(_ text: String, field: String) throws(BreakerError) -> Timestamp {
        if let ms = Int64(text) { return Timestamp(milliseconds: ms) }
        guard let t = Timestamp(iso8601: text) else {
            throw BreakerError(
                .invalidArgument,
                "\(field) \(text.debugDescription) is not a time; write 2026-11-28T10:05:00Z, 2026-11-28T10:05:00.250Z or epoch ms")
        }
        return t
    }
}
