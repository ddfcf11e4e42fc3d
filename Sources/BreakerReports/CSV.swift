/// RFC 4180 CSV with CRLF line ends and the spreadsheet formula-injection guard of SPEC §9.
public enum CSV {
    /// One field: prefixed with `'` when it begins with `=`, `+`, `-`, `@`, tab or CR, then
    /// quoted (quotes doubled) when it holds a comma, quote, CR or LF.
    public static func field(_ value: String) -> String {
        var v = value
        if let first = v.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            v = "'" + v
        }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) {
            return "\"" + v.replacingAll("\"", with: "\"\"") + "\""
        }
        return v
    }

    /// One line of fields, ending in CRLF.
    public static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    /// `ms` as seconds with exactly three decimals (`1203.110`).
    public static func seconds(milliseconds ms: Int64) -> String {
        let frac = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }

    /// `us` as milliseconds with exactly three decimals (`180.000`).
    public static func milliseconds(microseconds us: Int64) -> String { seconds(milliseconds: us) }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self {
            if c == target { out += replacement } else { out.append(c) }
        }
        return out
    }
}
