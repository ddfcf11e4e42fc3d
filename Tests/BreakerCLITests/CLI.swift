import ArgumentParser
import BreakerBenchmarks
import BreakerCLI
import BreakerTestSupport
import Foundation

extension CLI {
    /// Runs `breakerctl args` in this process, its output captured (what most tests need);
    /// with `environment`, as a child process instead.
    @discardableResult
    static func run(_ args: [String], environment: [String: String] = [:]) async throws -> Output {
        guard environment.isEmpty else { return try await run(async: args, environment: environment) }
        let r = await CommandRunner.capture(Breakerctl.self, arguments: args)
        return Output(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }
}

/// `breakerctl`'s commands, as the executable has them, for running in-process.
struct Breakerctl: AsyncParsableCommand {
    static let configuration = BreakerCommand.configuration(adding: [BenchCommand.self])
}
