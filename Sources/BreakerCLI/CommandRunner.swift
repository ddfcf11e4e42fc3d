package import ArgumentParser
import BreakerCore
package import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a `breakerctl` command line and answers its exit status, writing to ``Console/current``:
/// what `breakerctl`'s `main` does, and what tests do in-process.
package enum CommandRunner {
    /// Parses `arguments` (without the program name) against `root`, runs the command, and
    /// returns the exit status: 0, 1 for a failure described on standard error, 64 for a bad
    /// argument (one line), or a command's own code (`alerts` 2, `verify` 3).
    package static func run(_ root: any ParsableCommand.Type, arguments: [String]) async -> Int32 {
        do {
            var command = try root.parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            return 0
        } catch {
            let code = root.exitCode(for: error)
            if code == .validationFailure {
                // A bad argument is one clear line, not a usage dump; `--help` teaches.
                printError("error: \(root.message(for: error)) (see --help)")
                return code.rawValue
            }
            let message = root.fullMessage(for: error)
            if !message.isEmpty {
                if code == .success {
                    writeOut(HelpText.wrappingUsage(message, width: HelpText.terminalWidth) + "\n")
                } else {
                    printError(message)
                }
            }
            return code.rawValue
        }
    }

    /// Runs `arguments` in this process with its output captured: the exit status, standard
    /// output and standard error.
    package static func capture(_ root: any ParsableCommand.Type, arguments: [String]) async -> (
        status: Int32, stdout: Data, stderr: String
    ) {
        let buffer = Buffers()
        let console = Console(out: { buffer.append(out: $0) }, err: { buffer.append(err: $0) })
        let status = await Console.$current.withValue(console) { await run(root, arguments: arguments) }
        let (out, err) = buffer.contents
        return (status, out, String(decoding: err, as: UTF8.self))
    }

    private final class Buffers: Sendable {
        private let data = Locked<(out: Data, err: Data)>((Data(), Data()))
        func append(out d: Data) { data.withLock { $0.out.append(d) } }
        func append(err d: Data) { data.withLock { $0.err.append(d) } }
        var contents: (Data, Data) { data.withLock { ($0.out, $0.err) } }
    }
}

/// Runs `body`, turning a ``BreakerError`` into one line on standard error and exit status 1.
package func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as BreakerError {
        printError("error: \(e.message)")
        throw ExitCode(1)
    }
}

/// What `--help` needs beyond ArgumentParser's rendering.
package enum HelpText {
    /// The width help is written for: `COLUMNS` when set, else the terminal's, else 80 — the
    /// width ArgumentParser wraps the rest of the help to.
    package static var terminalWidth: Int {
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let columns = Int(text), columns > 0 { return columns }
        #if canImport(Glibc)
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        #endif
        return 80
    }

    /// `help` with its `USAGE:` line wrapped to `width` between options — never inside
    /// `[--fleet <url>]` — each further line indented under the first option (ArgumentParser
    /// writes the usage on one line, however long).
    package static func wrappingUsage(_ help: String, width: Int) -> String {
        var lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let i = lines.firstIndex(where: { $0.hasPrefix("USAGE: ") }), lines[i].count >= width else { return help }
        // Words are split at spaces outside brackets and angle brackets.
        var words: [String] = []
        var word = ""
        var depth = 0
        for c in lines[i] {
            if c == "[" || c == "<" { depth += 1 }
            if c == "]" || c == ">" { depth -= 1 }
            if c == " " && depth == 0 {
                if !word.isEmpty { words.append(word) }
                word = ""
            } else {
                word.append(c)
            }
        }
        if !word.isEmpty { words.append(word) }
        // "USAGE: breakerctl report" stays together; the options follow under the first of them.
        let head = words.prefix { !$0.hasPrefix("-") && !$0.hasPrefix("[") && !$0.hasPrefix("<") }.joined(separator: " ")
        let indent = String(repeating: " ", count: min(head.count + 1, width / 2))
        var out: [String] = []
        var line = head
        for w in words.dropFirst(head.split(separator: " ").count) {
            if line.count + 1 + w.count >= width && line != head {
                out.append(line)
                line = indent + w
            } else {
                line += " " + w
            }
        }
        out.append(line)
        lines.replaceSubrange(i...i, with: out)
        return lines.joined(separator: "\n")
    }
}
