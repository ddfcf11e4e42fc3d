/// Validation of the names of SPEC §1: 1–128 bytes of UTF-8, no control characters.
public enum NameRules {
    /// The longest name allowed, in UTF-8 bytes.
    public static let maximumBytes = 128

    /// Checks `value` as a name for `field` (`tenant`, `tool`, `turn`).
    /// - Throws: ``BreakerError`` with code ``BreakerError/Code/invalidName``.
    public static func validate(_ value: String, field: String) throws(BreakerError) {
        let count = value.utf8.count
        guard count >= 1 else {
            throw BreakerError(.invalidName, "\(field) name is empty; use 1–128 bytes of UTF-8", context: [field: value])
        }
        guard count <= maximumBytes else {
            throw BreakerError(
                .invalidName, "\(field) name is \(count) bytes long; the limit is \(maximumBytes) bytes of UTF-8",
                context: [field: value])
        }
        for byte in value.utf8 where byte < 0x20 || byte == 0x7F {
            throw BreakerError(
                .invalidName,
                "\(field) name \(debugQuoted(value)) contains control character U+\(hex(byte)); control characters U+0000–U+001F and U+007F are not allowed",
                context: [field: value])
        }
    }

    static func debugQuoted(_ s: String) -> String { String(reflecting: s) }

    static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}

/// A tenant's name (SPEC §1), validated on creation.
public struct TenantID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The UTF-8 name.
    public let rawValue: String
    /// - Throws: ``BreakerError`` (`invalid_name`) when the name breaks SPEC §1.
    /// The name's hash, computed once: keys are looked up on every call.
    let hash: Int
    public init(_ rawValue: String) throws(BreakerError) {
        try NameRules.validate(rawValue, field: "tenant")
        self.rawValue = rawValue
        self.hash = rawValue.hashValue
    }
    init(unchecked rawValue: String) {
        self.rawValue = rawValue
        self.hash = rawValue.hashValue
    }
    public static func == (a: TenantID, b: TenantID) -> Bool { a.hash == b.hash && a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    /// Orders by the bytes of the UTF-8 name.
    public static func < (a: TenantID, b: TenantID) -> Bool { a.rawValue.utf8.lexicographicallyPrecedes(b.rawValue.utf8) }
    public var description: String { rawValue }
}

/// A tool's name (SPEC §1), validated on creation.
public struct ToolID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The UTF-8 name.
    public let rawValue: String
    /// - Throws: ``BreakerError`` (`invalid_name`) when the name breaks SPEC §1.
    /// The name's hash, computed once: keys are looked up on every call.
    let hash: Int
    public init(_ rawValue: String) throws(BreakerError) {
        try NameRules.validate(rawValue, field: "tool")
        self.rawValue = rawValue
        self.hash = rawValue.hashValue
    }
    init(unchecked rawValue: String) {
        self.rawValue = rawValue
        self.hash = rawValue.hashValue
    }
    public static func == (a: ToolID, b: ToolID) -> Bool { a.hash == b.hash && a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    /// Orders by the bytes of the UTF-8 name.
    public static func < (a: ToolID, b: ToolID) -> Bool { a.rawValue.utf8.lexicographicallyPrecedes(b.rawValue.utf8) }
    public var description: String { rawValue }
}

/// An agent turn's id (SPEC §1), validated on creation.
public struct TurnID: Hashable, Sendable, CustomStringConvertible {
    /// The UTF-8 name.
    public let rawValue: String
    /// - Throws: ``BreakerError`` (`invalid_name`) when the name breaks SPEC §1.
    public init(_ rawValue: String) throws(BreakerError) {
        try NameRules.validate(rawValue, field: "turn")
        self.rawValue = rawValue
    }
    public var description: String { rawValue }
}

/// The pair (tenant, tool): every key has its own circuit.
public struct BreakerKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var tenant: TenantID
    public var tool: ToolID
    public init(tenant: TenantID, tool: ToolID) {
        self.tenant = tenant
        self.tool = tool
    }
    public static func < (a: BreakerKey, b: BreakerKey) -> Bool {
        a.tenant == b.tenant ? a.tool < b.tool : a.tenant < b.tenant
    }
    public var description: String { "\(tenant.rawValue)/\(tool.rawValue)" }
}
