import Foundation
public import Testing

/// A fresh temporary directory for each test of a suite (or one test) that has this trait,
/// removed when the test ends, whatever way it ends: `@Suite(.temporaryDirectory)`, then
/// ``scratchDirectory`` in the test.
public struct TemporaryDirectoryTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // A suite's own scope holds nothing; each of its tests gets a directory.
        guard !test.isSuite else { return try await function() }
        let dir = try BreakerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Scratch.$directory.withValue(dir) { try await function() }
    }
}

extension Trait where Self == TemporaryDirectoryTrait {
    /// A fresh temporary directory for each test, removed when it ends (``scratchDirectory``).
    public static var temporaryDirectory: Self { TemporaryDirectoryTrait() }
}

/// The running test's directory of ``TemporaryDirectoryTrait``.
public enum Scratch {
    @TaskLocal public static var directory: String?
}

/// The running test's temporary directory; the test (or its suite) must have the
/// `.temporaryDirectory` trait.
public var scratchDirectory: String {
    guard let dir = Scratch.directory else {
        preconditionFailure("scratchDirectory is read outside a test with the .temporaryDirectory trait")
    }
    return dir
}
