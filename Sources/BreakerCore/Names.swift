#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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

/// Text that is equal, hashed and ordered by its UTF-8 bytes alone (SPEC §1).
///
/// Swift's `String` compares by Unicode canonical equivalence: `"café"` written with U+00E9 and
/// with `e` + U+0301 are `==` and hash alike. For names that is a tenant-isolation bug, so every
/// name — and every dictionary keyed by one — goes through this type instead. The hash is
/// computed once (keys are looked up on every call) with the process-seeded `Hasher`.
public struct ByteString: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The text; its UTF-8 bytes are what counts.
    public let string: String
    /// The hash of the bytes, computed once.
    package let hash: Int
    /// All bytes are ASCII: then `String`'s own equality is byte equality, and fast.
    let isASCII: Bool

    /// Wraps `string`, keeping its bytes exactly as they are (no normalization).
    public init(_ string: String) {
        var s = string
        s.makeContiguousUTF8()
        self.string = s
        self.hash = Self.hashBytes(of: s)
        self.isASCII = s.utf8.allSatisfy { $0 < 0x80 }
    }

    private static func hashBytes(of s: String) -> Int {
        var hasher = Hasher()
        var copy = s
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(s.utf8.count)
        return hasher.finalize()
    }

    @inline(__always)
    public static func == (a: ByteString, b: ByteString) -> Bool {
        guard a.hash == b.hash else { return false }
        // For ASCII text canonical equivalence is byte equality, and String compares it fast.
        if a.isASCII && b.isASCII { return a.string == b.string }
        return compareBytes(a.string, b.string) == 0
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    /// Orders by the bytes of the UTF-8 text (a shorter prefix first).
    public static func < (a: ByteString, b: ByteString) -> Bool { compareBytes(a.string, b.string) < 0 }

    public var description: String { string }

    /// memcmp-style comparison of two strings' UTF-8 bytes.
    static func compareBytes(_ a: String, _ b: String) -> Int {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = Swift.min(x.count, y.count)
                if n > 0, let px = x.baseAddress, let py = y.baseAddress {
                    let c = Int(memcmp(px, py, n))
                    if c != 0 { return c }
                }
                return x.count - y.count
            }
        }
    }
}

extension String {
    /// Whether the two strings have the same UTF-8 bytes (not canonical equivalence, SPEC §1).
    public func hasSameBytes(as other: String) -> Bool { ByteString.compareBytes(self, other) == 0 }

    /// Orders strings by their UTF-8 bytes.
    public func precedesInBytes(_ other: String) -> Bool { ByteString.compareBytes(self, other) < 0 }
}

/// What a ``Name`` names: the field it is reported as in errors.
public protocol NameKind: Sendable {
    /// `tenant`, `tool`, `turn`…
    static var field: String { get }
}

/// Names a tenant.
public enum TenantName: NameKind { public static let field = "tenant" }
/// Names a tool.
public enum ToolName: NameKind { public static let field = "tool" }
/// Names an agent turn.
public enum TurnName: NameKind { public static let field = "turn" }
/// Names a node of a fleet (SPEC §14).
public enum NodeName: NameKind { public static let field = "node" }

/// A validated name (SPEC §1): 1–128 bytes of UTF-8 without control characters, equal to another
/// name only when their bytes are.
public struct Name<Kind: NameKind>: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The name, with its bytes.
    public let bytes: ByteString

    /// The UTF-8 name.
    @inlinable public var rawValue: String { bytes.string }

    /// - Throws: ``BreakerError`` (`invalid_name`) when the name breaks SPEC §1.
    public init(_ rawValue: String) throws(BreakerError) {
        try NameRules.validate(rawValue, field: Kind.field)
        self.bytes = ByteString(rawValue)
    }

    /// A name already known to be valid (read back from the store).
    package init(unchecked rawValue: String) {
        self.bytes = ByteString(rawValue)
    }

    /// The hash of the name's bytes, computed once.
    package var hash: Int { bytes.hash }

    public static func == (a: Name, b: Name) -> Bool { a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes.hash) }
    /// Orders by the bytes of the UTF-8 name.
    public static func < (a: Name, b: Name) -> Bool { a.bytes < b.bytes }
    public var description: String { rawValue }
}

/// A tenant's name (SPEC §1).
public typealias TenantID = Name<TenantName>
/// A tool's name (SPEC §1).
public typealias ToolID = Name<ToolName>
/// An agent turn's id (SPEC §1).
public typealias TurnID = Name<TurnName>
/// A fleet node's name (SPEC §14).
public typealias NodeID = Name<NodeName>

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
