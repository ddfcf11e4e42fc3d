package import Foundation

/// Where commands write: standard output and standard error, or — in tests and embedders that
/// run commands in-process — buffers (``CommandRunner/run(_:arguments:)``).
package final class Console: Sendable {
    /// The console of the running command (a task-local: each in-process run has its own).
    @TaskLocal package static var current = Console.standard

    /// The process's standard output and standard error.
    package static let standard = Console(
        out: { FileHandle.standardOutput.write($0) }, err: { FileHandle.standardError.write($0) })

    private let out: @Sendable (Data) -> Void
    private let err: @Sendable (Data) -> Void

    /// A console writing standard output to `out` and standard error to `err`.
    package init(out: @escaping @Sendable (Data) -> Void, err: @escaping @Sendable (Data) -> Void) {
        self.out = out
        self.err = err
    }

    /// Writes `text` to standard output as it is.
    package func write(_ text: String) { out(Data(text.utf8)) }

    /// Writes `line` and a newline to standard error.
    package func error(_ line: String) { err(Data((line + "\n").utf8)) }
}

/// Writes text to standard output without a trailing newline.
package func writeOut(_ text: String) { Console.current.write(text) }

/// Writes a line to standard error.
package func printError(_ message: String) { Console.current.error(message) }
