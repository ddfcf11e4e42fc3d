import BreakerTestSupport
import Foundation
import Testing

/// The long mode of the suite (not CI's default run): `BREAKER_SOAK_MINUTES=30 swift test --filter
/// SoakTests`. `breakerctl load` runs at a constant rate over 1 000 keys; resident memory is read
/// every 15 s, and after the first ten minutes it may grow by less than 5 %.
@Suite(.temporaryDirectory) struct SoakTests {
    static let minutes = ProcessInfo.processInfo.environment["BREAKER_SOAK_MINUTES"].flatMap { Double($0) }

    @Test(.enabled(if: minutes != nil, "set BREAKER_SOAK_MINUTES to run the soak"))
    func residentMemoryStaysFlatUnderConstantLoadOverAThousandKeys() async throws {
        let minutes = Self.minutes!
        let dir = scratchDirectory
        let binary = ProcessInfo.processInfo.environment["BREAKER_SOAK_BINARY"] ?? CLI.binary.path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = [
            "load", "--tenants", "100", "--tools", "10", "--rate", "1000", "--duration", String(Int(minutes * 60)), "--failure-rate",
            "0.02", "--db", dir + "/soak.sqlite",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var curve: [(seconds: Int, kib: Int)] = []
        let start = Date()
        while p.isRunning {
            try await Task.sleep(for: .seconds(15))
            guard let status = try? String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8) else { continue }
            func field(_ name: String) -> Int? {
                status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                    .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }.flatMap { Int($0) }
            }
            guard let kib = field("VmRSS") else { continue }
            curve.append((Int(Date().timeIntervalSince(start)), kib))
            // Heap and other private memory, and pages of the program's files (code first run late).
            print("soak: \(curve.last!.seconds) s \(kib) KiB (anonymous \(field("RssAnon") ?? 0), file \(field("RssFile") ?? 0))")
        }
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let afterTen = curve.first { $0.seconds >= 600 }
        let last = curve.last
        try #require(afterTen != nil && last != nil, "the soak ran for at least ten minutes")
        let growth = Double(last!.kib - afterTen!.kib) / Double(afterTen!.kib)
        print(
            "soak: resident \(afterTen!.kib) KiB at \(afterTen!.seconds) s, \(last!.kib) KiB at \(last!.seconds) s: \(String(format: "%+.2f", growth * 100)) %"
        )
        #expect(growth < 0.05)
    }
}
