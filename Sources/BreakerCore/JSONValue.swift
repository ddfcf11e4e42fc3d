/// A parsed JSON value that keeps integers apart from fractions and objects in key order.
///
/// Configuration files and simulation traces are parsed with it, so that a value of the
/// wrong type (`"at": 1.5`, `"hold": 1`) is reported precisely instead of coerced.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key.hasSameBytes(as: $1.key) && $0.value == $1.value }
        default: return false
        }
    }

    /// The value for `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key.hasSameBytes(as: key) }?.value
    }

    /// A short name of the value's type for error messages (`string`, `integer`, …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// `s` as a JSON string literal, quotes included (control characters escaped).
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// Parses one JSON text (RFC 8259). Duplicate keys are an error.
    /// - Throws: ``BreakerError`` with code `malformed_json` naming the byte offset.
    public static func parse(_ text: some StringProtocol) throws(BreakerError) -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.parseDocument()
    }

    /// Parses one JSON text from UTF-8 bytes.
    public static func parse(bytes: [UInt8]) throws(BreakerError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        return try parser.parseDocument()
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ what: String) -> BreakerError {
            BreakerError(.malformedJSON, "invalid JSON at byte \(i + 1): \(what)")
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        mutating func parseDocument() throws(BreakerError) -> JSONValue {
            skipSpace()
            let v = try parseValue()
            skipSpace()
            guard i == bytes.count else { throw fail("unexpected text after the value") }
            return v
        }

        mutating func parseValue() throws(BreakerError) -> JSONValue {
            guard i < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[i] {
            case UInt8(ascii: "{"): return try parseObject()
            case UInt8(ascii: "["): return try parseArray()
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[i])))'")
            }
        }

        mutating func literal(_ word: String) throws(BreakerError) {
            for b in word.utf8 {
                guard i < bytes.count, bytes[i] == b else { throw fail("expected '\(word)'") }
                i += 1
            }
        }

        mutating func parseObject() throws(BreakerError) -> JSONValue {
            depth += 1
            guard depth < 64 else { throw fail("nesting too deep") }
            defer { depth -= 1 }
            i += 1
            var members: [(key: String, value: JSONValue)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
                let key = try parseString()
                // Keys are compared by their bytes: two spellings of one name are two keys (SPEC §1).
                if members.contains(where: { $0.key.hasSameBytes(as: key) }) { throw fail("duplicate key \"\(key)\"") }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
                i += 1
                skipSpace()
                members.append((key, try parseValue()))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end of input in object") }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func parseArray() throws(BreakerError) -> JSONValue {
            depth += 1
            guard depth < 64 else { throw fail("nesting too deep") }
            defer { depth -= 1 }
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                skipSpace()
                items.append(try parseValue())
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end of input in array") }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                throw fail("expected ',' or ']'")
            }
        }

        mutating func parseString() throws(BreakerError) -> String {
            i += 1
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    break
                }
                if b < 0x20 { throw fail("control character in string") }
                if b == UInt8(ascii: "\\") {
                    i += 1
                    guard i < bytes.count else { throw fail("unterminated escape") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                                throw fail("unpaired surrogate")
                            }
                            i += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw fail("unpaired surrogate")
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default: throw fail("invalid escape")
                    }
                    continue
                }
                out.append(b)
                i += 1
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
            return s
        }

        mutating func hex4() throws(BreakerError) -> UInt32 {
            guard i + 4 <= bytes.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[i]
                let d: UInt32
                switch b {
                case 48...57: d = UInt32(b - 48)
                case 65...70: d = UInt32(b - 55)
                case 97...102: d = UInt32(b - 87)
                default: throw fail("invalid \\u escape")
                }
                v = v * 16 + d
                i += 1
            }
            return v
        }

        mutating func parseNumber() throws(BreakerError) -> JSONValue {
            let start = i
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 else { throw fail("invalid number") }
            if bytes[i] == 48 {
                i += 1
            } else {
                while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
            }
            var isInteger = true
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                isInteger = false
                i += 1
                guard i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 else { throw fail("invalid number") }
                while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                isInteger = false
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 else { throw fail("invalid number") }
                while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if isInteger, let v = Int64(text) { return .integer(v) }
            guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
            return .number(d)
        }
    }
}
