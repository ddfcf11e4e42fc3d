public import ArgumentParser

/// `breakerctl`: run, inspect and operate TenantBreaker's event store.
///
/// The executable adds the benchmarks (`bench`, in their own target) with
/// ``configuration(adding:)``; tests run these commands in-process with ``CommandRunner``.
public struct BreakerCommand: AsyncParsableCommand {
    public static let configuration = configuration(adding: [])

    /// The commands of this target, in the order `--help` lists them.
    public static let commands: [any ParsableCommand.Type] = [
        ServeCommand.self, MCPProxyCommand.self, SimulateCommand.self, ReportCommand.self, AuditCommand.self, StatusCommand.self,
        ForceOpenCommand.self,
        ReleaseCommand.self,
        ResetCommand.self, ConfigureCommand.self, ConfigCommand.self, ExportCommand.self, VerifyCommand.self, CompactCommand.self,
        LoadCommand.self, DemoCommand.self,
        AlertsCommand.self, FleetCommand.self, WhatIfCommand.self, ObjectivesCommand.self,
    ]

    /// The root configuration with `more` commands after this target's own.
    public static func configuration(adding more: [any ParsableCommand.Type]) -> CommandConfiguration {
        CommandConfiguration(
            commandName: "breakerctl",
            abstract: "Tenant-scoped circuit breakers for AI agent tools: simulate, operate and report.",
            discussion: """
                Every command works on one store, a SQLite file: --db PATH, else $BREAKER_DB, else \
                breaker.sqlite in the working directory.

                Exit codes: 0 success; 1 failure (described on standard error); 64 bad arguments; \
                2 `alerts` found something firing; 3 `verify` found a problem.
                """,
            subcommands: commands + more)
    }

    public init() {}
}
