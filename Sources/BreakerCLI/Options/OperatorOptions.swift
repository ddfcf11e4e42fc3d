import ArgumentParser
import BreakerCore
import Foundation

/// Options every operator action takes.
struct OperatorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The tool.", valueName: "tool"), transform: { try parseName($0) })
    var tool: ToolID

    @Option(help: ArgumentHelp("Why (recorded in the log and the audit).", valueName: "text"))
    var reason: String

    @Option(help: ArgumentHelp("Who (default: $USER).", valueName: "name"))
    var actor: String?

    var actorName: String { actor ?? ProcessInfo.processInfo.environment["USER"] ?? "operator" }
}

/// How long an operator command waits for a running owner to apply its action.
struct WaitOption: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for a running owner to apply the action.", valueName: "seconds"))
    var wait: Double = 5

    func validate() throws {
        guard wait > 0, wait <= 3600 else { throw ValidationError("--wait must be between 0 and 3600 seconds") }
    }

    var duration: Duration { .milliseconds(Int64(wait * 1000)) }
}
