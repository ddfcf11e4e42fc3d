import ArgumentParser
import BreakerCore

struct ForceOpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "force-open",
        abstract: "Open a tool's circuit for one tenant or all (a vendor outage).",
        discussion: """
            Without --tenant, every tenant's circuit for the tool opens, and tenants that call it \
            later start open too. Without --hold the circuits probe again after their open timeout; \
            with --hold they stay open until `breakerctl release`.

            If a process owns the store (`breakerctl serve`, `load`, an application embedding the \
            library), the action goes to it and takes effect within a second; "applied" is printed once \
            its record is durable. With no owner running, it is applied to the store directly.

            Examples:
              breakerctl force-open --tool web_search --hold \\
                  --reason "vendor status page: major outage" --actor oncall
              breakerctl force-open --tool crm_api --tenant acme --reason "quota exhausted"

            Exit codes: 0 applied (durable); 1 failure or not applied within --wait (said on standard \
            error); 64 bad arguments.
            """)

    @OptionGroup var options: OperatorOptions
    @Option(
        help: ArgumentHelp("Only this tenant (default: all).", valueName: "tenant"), transform: { try parseName($0) })
    var tenant: TenantID?
    @Flag(help: "Hold the circuits open until released.")
    var hold = false
    @OptionGroup var waiting: WaitOption
    @OptionGroup var store: StoreOptions
    @OptionGroup var fleet: FleetScopeOptions

    func run() async throws {
        try await reportingErrors {
            let target = ActionTarget(tenant)
            try await OperatorRelay.apply(
                OperatorAction(
                    hold ? .forceOpenHold(target) : .forceOpen(target), tool: options.tool, actor: options.actorName, reason: options.reason
                ),
                storePath: store.path, wait: waiting.duration, fleet: fleet)
        }
    }
}
