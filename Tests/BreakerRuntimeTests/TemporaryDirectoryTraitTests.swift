import BreakerTestSupport
import Foundation
import Synchronization
import Testing

/// The trait the tests that need files use: a directory of their own, gone when they end.
@Suite(.temporaryDirectory, .serialized) struct TemporaryDirectoryTraitTests {
    static let seen = Mutex<[String]>([])

    @Test(arguments: 0..<3)
    func eachTestCaseHasItsOwnDirectoryAndTheOnesBeforeAreGone(n: Int) throws {
        let dir = scratchDirectory
        #expect(FileManager.default.fileExists(atPath: dir))
        let earlier = Self.seen.withLock { s in
            defer { s.append(dir) }
            return s
        }
        #expect(earlier.count == n && !earlier.contains(dir))
        for e in earlier { #expect(!FileManager.default.fileExists(atPath: e), "\(e) is removed when its test ends") }
        try "x".write(toFile: dir + "/f", atomically: true, encoding: .utf8)
    }
}
