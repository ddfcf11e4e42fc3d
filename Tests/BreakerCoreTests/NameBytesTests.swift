import BreakerCore
import Testing

/// SPEC §1: names are bytes. Canonically equivalent spellings are different names.
@Suite struct NameBytesTests {
    /// (precomposed, decomposed) pairs that Unicode calls canonically equivalent.
    static let pairs: [(String, String)] = [
        ("caf\u{E9}", "cafe\u{301}"),  // Latin: é as one scalar, and e + combining acute
        ("\u{D55C}", "\u{1112}\u{1161}\u{11AB}"),  // Hangul: a syllable, and its conjoining jamo
    ]

    @Test(arguments: pairs)
    func canonicallyEquivalentNamesAreDifferentNames(a: String, b: String) throws {
        #expect(a == b, "the premise: Swift's String calls them equal")
        #expect(try TenantID(a) != TenantID(b))
        #expect(try ToolID(a) != ToolID(b))
        #expect(try TurnID(a) != TurnID(b))
        #expect(Set([try TenantID(a), try TenantID(b)]).count == 2)
    }

    @Test(arguments: pairs)
    func canonicallyEquivalentTenantsAreSeparateCircuits(a: String, b: String) throws {
        var h = Harness()
        let first = BreakerKey(tenant: try TenantID(a), tool: try ToolID("web_search"))
        let second = BreakerKey(tenant: try TenantID(b), tool: try ToolID("web_search"))
        for i in 0..<5 { h.call(first, at: Int64(i) * 10, .fail) }
        #expect(h.state(first)?.state == .open)
        let admission = h.call(second, at: 100)
        #expect(admission.isAdmitted, "one tenant's open circuit must not reject another tenant's call")
        #expect(h.state(second)?.state == .closed)
        #expect(h.machine.keys.count == 2)
        #expect(h.transitions.allSatisfy { $0.tenant == first.tenant })
    }

    @Test(arguments: pairs)
    func canonicallyEquivalentToolsAreSeparateCircuits(a: String, b: String) throws {
        var h = Harness()
        let first = BreakerKey(tenant: try TenantID("acme"), tool: try ToolID(a))
        let second = BreakerKey(tenant: try TenantID("acme"), tool: try ToolID(b))
        for i in 0..<5 { h.call(first, at: Int64(i) * 10, .fail) }
        #expect(h.admit(second, at: 100).isAdmitted)
    }

    @Test(arguments: pairs)
    func anOverrideMatchesOnlyTheNameWithItsBytes(a: String, b: String) throws {
        let json =
            "{\"tenants\": {\(JSONValue.quote(a)): {\"tools\": {\"crm\": {\"failureThreshold\": 2}}}}, \"tools\": {\(JSONValue.quote(a)): {\"failureThreshold\": 3}}}"
        let c = try BreakerConfiguration(json: json)
        #expect(c.settings(tenant: a, tool: "crm").failureThreshold == 2)
        #expect(c.settings(tenant: b, tool: "crm").failureThreshold == 5)
        #expect(c.settings(tenant: "x", tool: a).failureThreshold == 3)
        #expect(c.settings(tenant: "x", tool: b).failureThreshold == 5)
    }

    @Test(arguments: pairs)
    func aConfigurationMayNameBothSpellings(a: String, b: String) throws {
        let json = "{\"tools\": {\(JSONValue.quote(a)): {\"failureThreshold\": 3}, \(JSONValue.quote(b)): {\"failureThreshold\": 4}}}"
        let c = try BreakerConfiguration(json: json)
        #expect(c.settings(tenant: "x", tool: a).failureThreshold == 3)
        #expect(c.settings(tenant: "x", tool: b).failureThreshold == 4)
        let again = try BreakerConfiguration(json: c.jsonText)
        #expect(again == c, "the file format round-trips both spellings")
    }

    @Test func namesSortByTheirUTF8Bytes() throws {
        // U+00E9 is C3 A9; "e" + U+0301 starts with 65; U+FB01 (ﬁ) is EF AC 81; "Z" is 5A.
        let names = ["caf\u{E9}", "cafe\u{301}", "\u{FB01}", "Z", "a", "\u{D55C}", "\u{1112}\u{1161}\u{11AB}"]
        let sorted = try names.map { try TenantID($0) }.sorted().map(\.rawValue)
        let byBytes = names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(sorted.map { Array($0.utf8) } == byBytes.map { Array($0.utf8) })
    }
}
