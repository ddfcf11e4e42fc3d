import ArgumentParser
import Foundation
package import Logging

/// `--db PATH`: the store file.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store file (default: $BREAKER_DB, else breaker.sqlite).", valueName: "path"))
    var db: String?

    var path: String {
        if let db { return db }
        if let env = ProcessInfo.processInfo.environment["BREAKER_DB"], !env.isEmpty { return env }
        return "breaker.sqlite"
    }
}

/// A logger that prints nothing: commands report on standard error themselves, one clear line.
package let quietLogger = Logger(label: "breakerctl", factory: { _ in SwiftLogNoOpLogHandler() })
