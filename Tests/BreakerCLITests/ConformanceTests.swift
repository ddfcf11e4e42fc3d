import BreakerTestSupport
import Foundation
import Testing

@Suite(.temporaryDirectory) struct ConformanceTests {
    static var cases: [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: CLI.conformance.path).sorted()) ?? []
        return all.filter { FileManager.default.fileExists(atPath: CLI.conformance.appendingPathComponent($0 + "/trace.jsonl").path) }
    }

    @Test func theConformanceCasesArePresent() {
        #expect(Self.cases.count >= 3, "expected shared/conformance beside the checkout at \(CLI.conformance.path)")
    }

    @Test(arguments: cases)
    func reportAndAuditsAreByteExact(name: String) async throws {
        let dir = CLI.conformance.appendingPathComponent(name)
        let work = scratchDirectory
        let db = work + "/case.sqlite"
        var args = ["simulate", dir.appendingPathComponent("trace.jsonl").path, "--db", db]
        let config = dir.appendingPathComponent("config.json")
        if FileManager.default.fileExists(atPath: config.path) { args += ["--config", config.path] }
        let sim = try await CLI.run(args)
        #expect(sim.status == 0, "\(sim.stderr)")
        let report = try await CLI.run(["report", "--all", "--db", db])
        #expect(report.stdout == (try Data(contentsOf: dir.appendingPathComponent("expected-report.csv"))))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasPrefix("expected-audit-") && $0.hasSuffix(".csv")
        }
        #expect(!files.isEmpty)
        for file in files {
            let tenantFile = dir.appendingPathComponent(String(file.dropLast(4)) + ".tenant")
            let tenant =
                FileManager.default.fileExists(atPath: tenantFile.path)
                ? String(decoding: try Data(contentsOf: tenantFile), as: UTF8.self).replacingOccurrences(of: "\n", with: "")
                : String(file.dropFirst("expected-audit-".count).dropLast(4))
            let audit = try await CLI.run(["audit", "--tenant=\(tenant)", "--db", db])
            #expect(audit.stdout == (try Data(contentsOf: dir.appendingPathComponent(file))), "audit of \(tenant)")
        }
    }
}
