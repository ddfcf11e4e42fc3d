import ArgumentParser
import BreakerCore

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Release a forced or open circuit: it goes to half-open and probes.",
        discussion: """
            Without --tenant, every tenant's circuit for the tool is released and the tool-wide \
            force-open ends.

            Example:
              breakerctl release --tool web_search --reason "vendor recovered"

            Exit codes: 0 applied (durable); 1 failure or not applied within --wait (said on standard \
            error); 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(
        help: ArgumentHelp("Only this tenant (default: all).", valueName: "tenant"), transform: { try parseName($0) })
    var tenant: TenantID?
    @OptionGroup var waiting: WaitOption
    @OptionGroup var store: StoreOptions
    @OptionGroup var fleet: FleetScopeOptions

    func run() async throws {
        try await reportingErrors {
            try await OperatorRelay.apply(
                OperatorAction(.release(ActionTarget(tenant)), tool: options.tool, actor: options.actorName, reason: options.reason),
                storePath: store.path, wait: waiting.duration, fleet: fleet)
        }
    }
}
