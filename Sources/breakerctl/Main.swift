import ArgumentParser
import BreakerBenchmarks
import BreakerCLI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `breakerctl`: the commands of BreakerCLI and the benchmarks.
struct Breakerctl: AsyncParsableCommand {
    static let configuration = BreakerCommand.configuration(adding: [BenchCommand.self])
}

@main
enum Main {
    static func main() async {
        exit(await CommandRunner.run(Breakerctl.self, arguments: Array(CommandLine.arguments.dropFirst())))
    }
}
