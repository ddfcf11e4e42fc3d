import BreakerTestSupport
import Foundation
import Testing

/// Every command's `--help`, rendered by the real binary for an 80-column terminal, reads as
/// written: no paragraph broken by a hard line break the terminal then re-wraps, no line wider
/// than the terminal, and examples and tables that fit without being folded.
@Suite struct HelpLayoutTests {
    static let width = 80

    @Test func everyCommandsHelpFitsAnEightyColumnTerminalWithNoParagraphCut() throws {
        var problems: [String] = []
        var commands = 0
        for path in try Self.commandPaths() {
            commands += 1
            let narrow = try Self.help(path, columns: Self.width)
            problems += Self.layoutProblems(narrow).map { "breakerctl \(path.joined(separator: " ")) --help: \($0)" }
            // Unwrapped, what is indented before USAGE is an example or a table: it must fit as written.
            let wide = try Self.help(path, columns: 1000)
            let discussion = wide.components(separatedBy: "\nUSAGE:")[0]
            for line in discussion.split(separator: "\n") where line.hasPrefix(" ") && line.count >= Self.width {
                problems.append("breakerctl \(path.joined(separator: " ")) --help: an example or table wider than the terminal: \(line)")
            }
        }
        #expect(commands >= 30, "every subcommand was found (\(commands))")
        #expect(problems.isEmpty, Comment(rawValue: problems.joined(separator: "\n")))
    }

    @Test func theRulesSeeACutParagraphALongLineAndAFoldedExample() {
        // A hard break mid-sentence that left room for the next word.
        let cut = "With --tenant: the tenant's transitions, the operator actions naming it or all\ntenants,\nthe global-outage events."
        #expect(Self.layoutProblems(cut).count == 1)
        #expect(Self.layoutProblems(String(repeating: "x", count: 81)).count == 1)
        // A break between sentences, before a list, after a colon, or where the next word did not fit is fine.
        #expect(Self.layoutProblems("Exit codes: 0 done.\nExamples:\n  breakerctl report --all\n- a list item").isEmpty)
        let full = String(repeating: "word ", count: 15) + "end"
        #expect(Self.layoutProblems(full + "\nanother-long-word follows").isEmpty, "\(full.count) columns: the next word did not fit")
        // A usage continuation is split only between options.
        #expect(Self.layoutProblems("       [--a <b>]\n       [--fleet <url>]").count == 1)
    }

    /// Lines wider than the terminal, and breaks inside a paragraph where the next word would
    /// have fitted (ArgumentParser fills lines to one less than the width): those come from a
    /// hard line break in the text, which the terminal shows as a cut.
    static func layoutProblems(_ help: String) -> [String] {
        var problems: [String] = []
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (a, b) in zip(lines, lines.dropFirst()) {
            if a.count > width { problems.append("wider than \(width) columns: \(a)") }
            let (ta, tb) = (a.drop { $0 == " " }, b.drop { $0 == " " })
            guard let last = ta.last, !tb.isEmpty, a.count - ta.count == b.count - tb.count else { continue }
            if ".:?!".contains(last) { continue }
            if ["-", "•", "#", "$", "breakerctl", ".build/"].contains(where: { tb.hasPrefix($0) }) { continue }
            if a.count + 1 + firstWord(tb).count <= width - 1 { problems.append("a paragraph cut after \"\(a)\"") }
        }
        if let last = lines.last, last.count > width { problems.append("wider than \(width) columns: \(last)") }
        return problems
    }

    /// The first word of `line`: up to a space outside brackets (a usage line's `[--fleet <url>]` is one).
    static func firstWord(_ line: Substring) -> Substring {
        var depth = 0
        for i in line.indices {
            switch line[i] {
            case "[", "<": depth += 1
            case "]", ">": depth -= 1
            case " " where depth == 0: return line[..<i]
            default: break
            }
        }
        return line
    }

    static func help(_ path: [String], columns: Int) throws -> String {
        let r = try CLI.process(path + ["--help"], environment: ["COLUMNS": String(columns)])
        try #require(r.status == 0, "breakerctl \(path.joined(separator: " ")) --help: \(r.stderr)")
        return r.text
    }

    /// `[]` and every subcommand path below it, from the SUBCOMMANDS sections of the help.
    static func commandPaths() throws -> [[String]] {
        var paths: [[String]] = [[]]
        var i = 0
        while i < paths.count {
            let text = try help(paths[i], columns: 1000)
            if let section = text.components(separatedBy: "SUBCOMMANDS:\n").dropFirst().first {
                for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.isEmpty { break }
                    guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first else { continue }
                    paths.append(paths[i] + [String(name)])
                }
            }
            i += 1
        }
        return paths
    }
}
