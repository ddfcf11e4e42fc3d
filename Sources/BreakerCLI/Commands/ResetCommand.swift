import ArgumentParser
import BreakerCore

struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Close one tenant's circuit for a tool at once.",
        discussion: """
            Example:
              breakerctl reset --tenant acme --tool crm_api --reason "quota raised"

            Exit codes: 0 applied (durable); 1 failure or not applied within --wait (said on standard \
            error); 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(help: ArgumentHelp("The tenant.", valueName: "tenant"), transform: { try parseName($0) })
    var tenant: TenantID
    @OptionGroup var waiting: WaitOption
    @OptionGroup var store: StoreOptions
    @OptionGroup var fleet: FleetScopeOptions

    func run() async throws {
        try await reportingErrors {
            try await OperatorRelay.apply(
                OperatorAction(.reset(tenant), tool: options.tool, actor: options.actorName, reason: options.reason),
                storePath: store.path, wait: waiting.duration, fleet: fleet)
        }
    }
}
