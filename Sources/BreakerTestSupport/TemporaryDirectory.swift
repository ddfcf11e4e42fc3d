import Foundation

/// A fresh directory under the system's temporary directory, for one test; the caller removes it.
public func temporaryDirectory(_ prefix: String = "breaker-test") throws -> String {
    let dir = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
