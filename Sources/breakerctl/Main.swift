import ArgumentParser
import BreakerCLI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@main
enum Main {
    static func main() async {
        do {
            var command = try BreakerCommand.parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            // A bad argument is one clear line (and exit 64), not a usage dump; `--help` teaches.
            if BreakerCommand.exitCode(for: error) == .validationFailure {
                let line = "error: \(BreakerCommand.message(for: error)) (see --help)\n"
                _ = line.withCString { write(2, $0, strlen($0)) }
                exit(ExitCode.validationFailure.rawValue)
            }
            BreakerCommand.exit(withError: error)
        }
    }
}
