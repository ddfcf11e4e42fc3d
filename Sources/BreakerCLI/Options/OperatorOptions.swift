import ArgumentParser
import BreakerCore
import Foundation

/// Options every operator action takes.
struct OperatorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The tool.", valueName: "tool"), transform: { try parseName($0) })
    var tool: ToolID

    @Option(help: ArgumentHelp("Why (recorded in the log and the audit).", valueName: "text"))
    var reason: String

    @Option(help: ArgumentHelp("Who (default: the operating-system user, $SUDO_USER else $USER).", valueName: "name"))
    var actor: String?

    var actorName: String { actor ?? operatingSystemUser() }
}

/// Who runs this command, as the audit should name them: the user behind `sudo` (`$SUDO_USER`),
/// else `$USER`, else the account of the process's user id.
func operatingSystemUser() -> String {
    let env = ProcessInfo.processInfo.environment
    for name in ["SUDO_USER", "USER"] {
        if let user = env[name], !user.isEmpty { return user }
    }
    if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
    return "uid \(getuid())"
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
