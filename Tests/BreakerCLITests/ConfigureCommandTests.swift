import BreakerCore
import BreakerRuntime
import BreakerStore
import BreakerTestSupport
import Foundation
import Testing

/// SPEC §2, §10, §11: a configuration change enters through `configure` (on the store or through a
/// running owner) and simulation traces, is refused whole when invalid, and shows in `config`,
/// `export` and the audit.
@Suite(.temporaryDirectory, .serialized) struct ConfigureCommandTests {
    /// A store with one key under failureThreshold 5, owned by nobody.
    func store(_ dir: String) async throws -> String {
        let db = dir + "/s.sqlite"
        let trace = try writeTrace(dir, [callLine("2026-11-28T10:00:00Z", "acme", "web_search", "t-1")])
        #expect(try await CLI.run(["simulate", trace, "--db", db]).status == 0)
        return db
    }

    func write(_ text: String, _ dir: String, _ name: String = "config.json") throws -> String {
        let path = dir + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func configRecords(_ db: String) throws -> [ConfigurationRecord] {
        var out: [ConfigurationRecord] = []
        try EventStore.openReader(path: db).forEachEvent(EventFilter(kinds: .configurations)) { e in
            if case .configuration(let c) = e.event { out.append(c) }
        }
        return out
    }

    @Test func configureRecordsTheChangeAndConfigExportAndTheAuditShowIt() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let file = try write(#"{"tools": {"web_search": {"failureThreshold": 8}}}"#, dir)
        let r = try await CLI.run(["configure", "--config", file, "--reason", "flaky vendor", "--actor", "sre-kim", "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("tools.web_search.failureThreshold: (inherited) → 8"), "\(r.stderr)")
        #expect(r.stderr.contains("configure recorded in \(db)"), "\(r.stderr)")

        let records = try configRecords(db)
        #expect(records.count == 1)
        #expect(records.first?.actor == "sre-kim" && records.first?.reason == "flaky vendor")
        #expect(records.first?.configuration.tools[try ToolID("web_search")]?.failureThreshold == 8)

        let config = try await CLI.run(["config", "--db", db])
        #expect(config.status == 0)
        #expect(try BreakerConfiguration(json: config.text) == records.first?.configuration)
        #expect(config.text.contains("\n    \"web_search\": {\n      \"failureThreshold\": 8\n    }"), "\(config.text)")

        let export = try await CLI.run(["export", "--db", db])
        let line = try #require(export.text.split(separator: "\n").last)
        #expect(
            line.contains(
                #""kind":"config","actor":"sre-kim","reason":"flaky vendor","config":{"defaults":{},"tools":{"web_search":{"failureThreshold":8}}"#
            ), "\(line)")
        // A tenant's export holds the changes too: they apply to every tenant.
        #expect(try await CLI.run(["export", "--tenant", "acme", "--db", db]).text.contains(#""kind":"config""#))

        let audit = try await CLI.run(["audit", "--tenant", "acme", "--db", db])
        let row = try #require(audit.text.split(separator: "\r\n").last)
        #expect(row.hasSuffix(",,,config,,,configure,,,,sre-kim,flaky vendor"), "\(row)")
        #expect(try await CLI.run(["verify", "--db", db]).status == 0)
    }

    @Test func whatConfigPrintsIsAConfigurationFileConfigureAccepts() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let file = try write(
            #"{"defaults": {"failureRateThreshold": 0.5, "openTimeoutMultiplier": 2.5}, "tenants": {"=acme": {"tools": {"crm_api": {"failureRateThreshold": null, "callTimeoutMs": 900}}}}, "runtime": {"probeIntervalMs": 250}}"#,
            dir)
        #expect(try await CLI.run(["configure", "--config", file, "--reason", "r", "--db", db]).status == 0)
        let printed = try await CLI.run(["config", "--db", db])
        let again = try write(printed.text, dir, "printed.json")
        let r = try await CLI.run(["configure", "--config", again, "--reason", "unchanged", "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("the configuration is the one in force"), "\(r.stderr)")
        let records = try configRecords(db)
        #expect(records.count == 2 && records[0].configuration == records[1].configuration)
    }

    @Test(arguments: [
        (#"{"defaults": {"failureThreshold": 0}}"#, "defaults.failureThreshold"),
        (#"{"tools": {"web_search": {"windowMs": -5}}}"#, "tools.web_search.windowMs"),
        (#"{"tenants": {"acme": {"tools": {"web_search": {"globalOutageTenants": 2}}}}}"#, "globalOutageTenants"),
        (#"{"defaults": {"failureTreshold": 3}}"#, "failureTreshold"),
        (#"{"defaults": {"failureThreshold": 8},"#, "not valid JSON"),
    ])
    func anInvalidConfigurationIsRefusedNamingTheKeyAndNothingIsRecorded(json: String, named: String) async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let before = try await CLI.run(["export", "--db", db]).text
        let r = try await CLI.run(["configure", "--config", try write(json, dir), "--reason", "r", "--db", db])
        #expect(r.status == 1)
        #expect(r.stderr.contains(named), "\(r.stderr)")
        #expect(try await CLI.run(["export", "--db", db]).text == before, "nothing is recorded")
        #expect(try configRecords(db).isEmpty)
    }

    @Test func aRunningOwnerAppliesAConfigureWithinASecondAndTheCLISaysSoOnceDurable() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let app = try startEmbeddingApplication(db)
        defer { stopEmbeddingApplication(app) }
        let file = try write(#"{"tools": {"web_search": {"openTimeoutMs": 1000}}}"#, dir)
        let started = SystemWallClock().now
        let r = try await CLI.run(["configure", "--config", file, "--reason", "faster probes", "--actor", "sre", "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("configure applied by the running owner (pid \(app.processIdentifier))"), "\(r.stderr)")
        // Reported applied: durable, so a reader sees it while the owner runs.
        let record = try #require(try configRecords(db).last)
        #expect(record.reason == "faster probes")
        #expect(record.time.milliseconds - started.milliseconds <= 1000)
        #expect(try await CLI.run(["config", "--db", db]).text.contains("\"openTimeoutMs\": 1000"))
    }

    @Test func aMalformedConfigureLineInATraceNamesTheLineAndWritesNothing() async throws {
        let dir = scratchDirectory
        let trace = try writeTrace(
            dir,
            [
                callLine("2026-11-28T10:00:00Z", "acme", "web_search", "t-1"),
                #"{"at": "2026-11-28T10:00:01Z", "op": "configure", "config": {"defaults": {"halfOpenMaxInFlight": 0}}, "reason": "r"}"#,
            ])
        let r = try await CLI.run(["simulate", trace, "--db", dir + "/s.sqlite"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 2") && r.stderr.contains("defaults.halfOpenMaxInFlight"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.sqlite"))
        let noConfig = try writeTrace(dir, [#"{"at": 1764324000000, "op": "configure", "reason": "r"}"#], name: "t2.jsonl")
        let r2 = try await CLI.run(["simulate", noConfig, "--db", dir + "/s.sqlite"])
        #expect(r2.status == 1 && r2.stderr.contains("line 1") && r2.stderr.contains("\"config\""), "\(r2.stderr)")
    }

    @Test func aConfigureLineInATraceChangesTheRulesFromItsTime() async throws {
        let dir = scratchDirectory
        // Two failures open nothing under the defaults, until failureThreshold drops to 2.
        let trace = try writeTrace(
            dir,
            [
                callLine("2026-11-28T10:00:00Z", "acme", "web_search", "t-1", result: "error"),
                #"{"at": "2026-11-28T10:00:01Z", "op": "configure", "config": {"defaults": {"failureThreshold": 2}}, "reason": "tighter", "actor": "sre"}"#,
                callLine("2026-11-28T10:00:02Z", "acme", "web_search", "t-1", result: "error"),
            ])
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", trace, "--db", db]).status == 0)
        let audit = try await CLI.run(["audit", "--tenant", "acme", "--db", db]).text
        let rows = audit.split(separator: "\r\n").dropFirst().map(String.init)
        #expect(rows.count == 2, "\(audit)")
        #expect(rows.first == "2026-11-28T10:00:01.000Z,,,config,,,configure,,,,sre,tighter")
        #expect(rows.last?.hasPrefix("2026-11-28T10:00:02.100Z,acme,web_search,transition,closed,open,failure_threshold,2,2,") == true)
    }

    @Test func theDemoRetunesVectorDBAndItsSummaryAndAuditsSaySo() async throws {
        let dir = scratchDirectory
        let r = try await CLI.run(["demo", "--output", dir + "/out"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.text.contains("11:02:00           sre-kim changed the configuration (tools.vector_db.latencyThresholdMs: 2000 → 5000)"),
            "\(r.text)")
        let audit = try String(contentsOfFile: dir + "/out/audit-acme.csv", encoding: .utf8)
        #expect(audit.contains("2026-11-28T11:02:00.000Z,,,config,,,configure,,,,sre-kim,"))
        // The slow spell after the change (11:10–11:20) opens no vector_db circuit.
        var lateOpens = 0
        try EventStore.openReader(path: dir + "/out/demo.sqlite").forEachEvent(EventFilter(kinds: .transitions)) { e in
            if case .transition(let t) = e.event, t.tool.rawValue == "vector_db", t.to == .open, t.time.iso8601 > "2026-11-28T11:02" {
                lateOpens += 1
            }
        }
        #expect(lateOpens == 0)
    }
}

/// The worked example of `reports/configuration-changes.md` is what `breakerctl` does: its trace,
/// simulated, gives the audits and the status printed there.
@Suite(.temporaryDirectory) struct ConfigurationChangesDocumentTests {
    @Test func theWorkedExampleIsWhatBreakerctlPrints() async throws {
        let text = try String(contentsOf: CLI.packageRoot.appendingPathComponent("reports/configuration-changes.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "```\n").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        try #require(blocks.count >= 3)
        let dir = scratchDirectory
        let trace = try writeTrace(dir, blocks[0].split(separator: "\n").map(String.init))
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", trace, "--db", db]).status == 0)
        var audits = ""
        for tenant in ["acme", "globex", "initech"] {
            audits += try await CLI.run(["audit", "--tenant", tenant, "--db", db]).text.replacingOccurrences(of: "\r\n", with: "\n")
        }
        #expect(audits == blocks[1])
        #expect(try await CLI.run(["status", "--db", db]).text == blocks[2])
    }
}
