import BreakerReports

/// JSON output of the commands: Encodable values, encoded one way everywhere (``JSONText``:
/// fields in the order encoded, one line each).
package enum JSONOutput {
    /// `value` as one line of JSON.
    package static func line(_ value: some Encodable) -> String {
        // Every value the commands print has finite numbers only: encoding cannot fail.
        try! JSONText.encode(value)
    }

    /// `value` as indented JSON, for a file a person edits.
    package static func indented(_ value: some Encodable) -> String {
        try! JSONText.indented(value)
    }

    /// `values` as a JSON array, one element a line.
    package static func array(_ values: [some Encodable]) -> String {
        "[" + values.map { line($0) }.joined(separator: ",\n") + "]\n"
    }
}
