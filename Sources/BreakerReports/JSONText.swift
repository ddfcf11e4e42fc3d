import BreakerCore

/// JSON text of `Encodable` values with the fields in the order they are encoded, on one line:
/// what every JSON output of the project (export lines, reports, status, the service's answers)
/// is written with, so that the same value always gives the same bytes.
public enum JSONText {
    /// `value` as one line of JSON.
    /// - Throws: `EncodingError` for a non-finite number.
    public static func encode(_ value: some Encodable) throws -> String {
        let root = Node()
        try value.encode(to: TreeEncoder(node: root, codingPath: []))
        var out = ""
        try root.write(to: &out)
        return out
    }

    /// `value` as JSON indented by two spaces a level, for files a person reads and edits.
    /// - Throws: `EncodingError` for a non-finite number.
    public static func indented(_ value: some Encodable) throws -> String {
        let root = Node()
        try value.encode(to: TreeEncoder(node: root, codingPath: []))
        var out = ""
        try root.write(to: &out, indent: "")
        return out + "\n"
    }
}

/// A JSON value being built: encoding containers fill it, then it is written out.
final class Node {
    enum Value {
        case unset
        case null
        case literal(String)
        case string(String)
        case array([Node])
        case object([(String, Node)])
    }
    var value = Value.unset

    /// Writes the value on one line, or — with `indent` — one member or element a line, nested
    /// ones indented two more spaces. Empty objects and arrays stay `{}` and `[]`.
    func write(to out: inout String, indent: String? = nil) throws {
        let inner = indent.map { $0 + "  " }
        let open = inner.map { "\n" + $0 } ?? ""
        let close = indent.map { "\n" + $0 } ?? ""
        switch value {
        case .unset, .null: out += "null"
        case .literal(let s): out += s
        case .string(let s): out += JSONValue.quote(s)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                out += i > 0 ? "," + open : open
                try item.write(to: &out, indent: inner)
            }
            out += items.isEmpty ? "]" : close + "]"
        case .object(let members):
            out += "{"
            for (i, (key, item)) in members.enumerated() {
                out += i > 0 ? "," + open : open
                out += JSONValue.quote(key)
                out += indent == nil ? ":" : ": "
                try item.write(to: &out, indent: inner)
            }
            out += members.isEmpty ? "}" : close + "}"
        }
    }

    /// The member `key` of this object, made when first asked for.
    func member(_ key: String) -> Node {
        if case .object(let members) = value, let existing = members.first(where: { $0.0 == key }) { return existing.1 }
        let child = Node()
        if case .object(var members) = value {
            members.append((key, child))
            value = .object(members)
        } else {
            value = .object([(key, child)])
        }
        return child
    }

    /// A new last element of this array.
    func appendElement() -> Node {
        let child = Node()
        if case .array(var items) = value {
            items.append(child)
            value = .array(items)
        } else {
            value = .array([child])
        }
        return child
    }

    static func number(_ d: Double, _ path: [any CodingKey]) throws -> Value {
        guard d.isFinite else {
            throw EncodingError.invalidValue(d, .init(codingPath: path, debugDescription: "JSON has no \(d)"))
        }
        return .literal(d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)")
    }
}

struct TreeEncoder: Encoder {
    let node: Node
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.value {} else { node.value = .object([]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.value {} else { node.value = .array([]) }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(node: node, codingPath: codingPath) }
}

struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    var codingPath: [any CodingKey]

    func child(_ key: Key) -> Node { node.member(key.stringValue) }

    mutating func encodeNil(forKey key: Key) throws { child(key).value = .null }
    mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).value = .literal(value ? "true" : "false") }
    mutating func encode(_ value: String, forKey key: Key) throws { child(key).value = .string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { child(key).value = try Node.number(value, codingPath + [key]) }
    mutating func encode(_ value: Float, forKey key: Key) throws { child(key).value = try Node.number(Double(value), codingPath + [key]) }
    mutating func encode(_ value: Int, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { child(key).value = .literal(String(value)) }
    mutating func encode(_ value: some Encodable, forKey key: Key) throws {
        try value.encode(to: TreeEncoder(node: child(key), codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        TreeEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(node: node.member("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { TreeEncoder(node: child(key), codingPath: codingPath + [key]) }
}

struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]
    var count: Int {
        if case .array(let items) = node.value { return items.count }
        return 0
    }

    mutating func encodeNil() throws { node.appendElement().value = .null }
    mutating func encode(_ value: Bool) throws { node.appendElement().value = .literal(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { node.appendElement().value = .string(value) }
    mutating func encode(_ value: Double) throws { node.appendElement().value = try Node.number(value, codingPath) }
    mutating func encode(_ value: Int64) throws { node.appendElement().value = .literal(String(value)) }
    mutating func encode(_ value: Int) throws { node.appendElement().value = .literal(String(value)) }
    mutating func encode(_ value: UInt64) throws { node.appendElement().value = .literal(String(value)) }
    mutating func encode(_ value: some Encodable) throws {
        try value.encode(to: TreeEncoder(node: node.appendElement(), codingPath: codingPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(node: node.appendElement(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        TreeEncoder(node: node.appendElement(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(node: node.appendElement(), codingPath: codingPath) }
}

struct SingleContainer: SingleValueEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.value = .null }
    mutating func encode(_ value: Bool) throws { node.value = .literal(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { node.value = .string(value) }
    mutating func encode(_ value: Double) throws { node.value = try Node.number(value, codingPath) }
    mutating func encode(_ value: Float) throws { node.value = try Node.number(Double(value), codingPath) }
    mutating func encode(_ value: Int) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: Int8) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: Int16) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: Int32) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: Int64) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: UInt) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: UInt8) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: UInt16) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: UInt32) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: UInt64) throws { node.value = .literal(String(value)) }
    mutating func encode(_ value: some Encodable) throws { try value.encode(to: TreeEncoder(node: node, codingPath: codingPath)) }
}
