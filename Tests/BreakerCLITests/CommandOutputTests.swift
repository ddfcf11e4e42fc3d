import BreakerTestSupport
import Foundation
import Testing

/// What commands print: exact field sets, and one clear line from operator commands.
@Suite(.temporaryDirectory) struct CommandOutputTests {
    /// acme/web_search opens at 10:00:04 and is reset at 10:10; b and c open web_search at
    /// 10:01 and 10:02 (a global outage: three tenants open); globex/crm opens at 10:20.
    func store(_ dir: String) async throws -> String {
        var lines = (0..<5).map { callLine("2026-11-28T10:00:0\($0)Z", "acme", "web_search", "t\($0)", latency: 0, result: "error") }
        for (minute, tenant) in [(1, "b"), (2, "c")] {
            lines += (0..<5).map {
                callLine("2026-11-28T10:0\(minute):0\($0)Z", tenant, "web_search", "v\($0)", latency: 0, result: "error")
            }
        }
        lines.append(#"{"at": "2026-11-28T10:10:00Z", "op": "reset", "tool": "web_search", "tenant": "acme", "actor": "a", "reason": "r"}"#)
        lines += (0..<5).map { callLine("2026-11-28T10:20:0\($0)Z", "globex", "crm", "u\($0)", latency: 0, result: "error") }
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", try writeTrace(dir, lines), "--db", db]).status == 0)
        return db
    }

    @Test func statusJSONHasEveryFieldAndNoOpenTimeForAClosedKey() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let r = try await CLI.run(["status", "--format", "json", "--db", db])
        let keys = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]])
        #expect(keys.count == 4)
        let fields: Set<String> = [
            "tenant", "tool", "state", "generation", "opened_at", "open_timeout_ms", "probe_successes", "window_calls", "window_failures",
            "enforce", "since", "cause", "failed_probes", "failures", "calls", "p95_us",
        ]
        for k in keys { #expect(Set(k.keys) == fields, "\(k.keys.sorted())") }
        let acme = try #require(keys.first { $0["tenant"] as? String == "acme" })
        #expect(acme["state"] as? String == "closed" && acme["generation"] as? Int == 2)
        #expect(acme["opened_at"] is NSNull, "a closed key has no open time: \(acme)")
        #expect(acme["window_calls"] as? Int == 0 && acme["open_timeout_ms"] as? Int == 30_000)
        let globex = try #require(keys.first { $0["tenant"] as? String == "globex" })
        #expect(globex["state"] as? String == "open" && globex["opened_at"] as? String == "2026-11-28T10:20:04.000Z")
        #expect(globex["window_failures"] as? Int == 5 && globex["probe_successes"] as? Int == 0)
        #expect(globex["since"] as? String == "2026-11-28T10:20:04.000Z" && globex["cause"] as? String == "failure_threshold")
        #expect(globex["failures"] as? Int == 5 && globex["calls"] as? Int == 5 && globex["failed_probes"] as? Int == 0)
        #expect(acme["since"] is NSNull && acme["cause"] is NSNull, "a closed key has no episode: \(acme)")
        #expect(keys.allSatisfy { $0["enforce"] as? Bool == true }, "every key enforces under the defaults")
    }

    @Test func aKeyWhoseProbesFailKeepsTheTimeAndCauseOfItsOpeningAndCountsTheProbes() async throws {
        let dir = scratchDirectory
        var lines = (0..<5).map { callLine("2026-11-28T10:00:0\($0)Z", "acme", "web_search", "t\($0)", latency: 0, result: "error") }
        // The default open timeout is 30 s: each of these is a probe, and fails.
        lines.append(callLine("2026-11-28T10:00:40Z", "acme", "web_search", "p1", latency: 0, result: "error"))
        lines.append(callLine("2026-11-28T10:01:20Z", "acme", "web_search", "p2", latency: 0, result: "error"))
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", try writeTrace(dir, lines), "--db", db]).status == 0)
        let r = try await CLI.run(["status", "--format", "json", "--db", db])
        let key = try #require((try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]])?.first)
        #expect(key["state"] as? String == "open" && key["opened_at"] as? String == "2026-11-28T10:01:20.000Z", "\(key)")
        #expect(key["since"] as? String == "2026-11-28T10:00:04.000Z" && key["cause"] as? String == "failure_threshold", "\(key)")
        #expect(key["failed_probes"] as? Int == 2, "\(key)")
    }

    @Test func exportLinesHaveExactlyTheFieldsOfTheirKind() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let expected: [String: Set<String>] = [
            "call": [
                "seq", "ts", "kind", "tenant", "tool", "turn", "outcome", "reason", "latency_us", "generation", "probe", "stale", "shadow",
            ],
            "transition": [
                "seq", "ts", "kind", "tenant", "tool", "from", "to", "cause", "generation", "failures", "calls", "p95_us", "actor",
                "reason",
            ],
            "operator": ["seq", "ts", "kind", "tenant", "tool", "op", "actor", "reason"],
            "global_outage": ["seq", "ts", "kind", "tool", "tenants"],
        ]
        var seen = Set<String>()
        for line in try await CLI.run(["export", "--db", db]).text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let kind = try #require(object["kind"] as? String)
            seen.insert(kind)
            #expect(Set(object.keys) == expected[kind], "\(kind): \(object.keys.sorted())")
        }
        #expect(seen == Set(expected.keys))
    }

    @Test func anOperatorCommandPrintsOneLineWhenItSucceeds() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let r = try await CLI.run(["force-open", "--tool", "web_search", "--tenant", "acme", "--reason", "r", "--db", db])
        #expect(r.status == 0)
        #expect(r.stderr == "force_open web_search for acme recorded in \(db)\n", "no log lines: \(r.stderr)")
        #expect(r.text.isEmpty)
    }

    @Test(
        arguments: [
            (["force-open", "--tool", "x", "--reason", "r", "--db", "/nonexistent-dir/s.sqlite"], Int32(1), "does not exist"),
            (["force-open", "--tool", "x", "--tenant", "bad\u{1}", "--reason", "r"], Int32(64), "control character"),
            (["reset", "--tool", "x", "--reason", "r"], Int32(64), "--tenant"),
            (["release", "--tool", String(repeating: "x", count: 200), "--reason", "r"], Int32(64), "128"),
        ])
    func anOperatorCommandsErrorIsOneClearLine(args: [String], status: Int32, mentions: String) async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let r = try await CLI.run(args.contains("--db") ? args : args + ["--db", db])
        #expect(r.status == status, "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        #expect(r.stderr.contains(mentions), "\(r.stderr)")
    }
}

/// An operator action without `--actor` is recorded as the operating-system user who ran it.
@Suite(.temporaryDirectory) struct OperatorActorTests {
    @Test func anActionWithoutActorNamesTheUserBehindSudoElseUser() async throws {
        let dir = scratchDirectory
        let db = dir + "/s.sqlite"
        #expect(
            try await CLI.run(["simulate", try writeTrace(dir, [callLine("2026-11-28T10:00:00Z", "acme", "search", "t")]), "--db", db])
                .status == 0)
        let sudo = try await CLI.run(
            ["force-open", "--tool", "search", "--reason", "vendor down", "--db", db], environment: ["SUDO_USER": "alice", "USER": "root"])
        #expect(sudo.status == 0, "\(sudo.stderr)")
        let plain = try await CLI.run(
            ["release", "--tool", "search", "--reason", "vendor back", "--db", db], environment: ["SUDO_USER": "", "USER": "bob"])
        #expect(plain.status == 0, "\(plain.stderr)")
        try "{}".write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
        let configured = try await CLI.run(
            ["configure", "--config", dir + "/c.json", "--reason", "defaults", "--db", db],
            environment: ["SUDO_USER": "carol", "USER": "root"])
        #expect(configured.status == 0, "\(configured.stderr)")
        let actors = try CLI.process(["export", "--db", db]).text.split(separator: "\n").compactMap { line -> String? in
            guard let r = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                ["operator", "config"].contains(r["kind"] as? String)
            else { return nil }
            return "\(r["kind"]!) \(r["actor"]!)"
        }
        #expect(actors == ["operator alice", "operator bob", "config carol"], "\(actors)")
    }
}
