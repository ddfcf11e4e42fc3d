import ArgumentParser
import BreakerCore
import BreakerStore
import Foundation

struct ConfigureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configure",
        abstract: "Change the configuration of a store in use (a configuration change, recorded in the log).",
        discussion: """
            The file is a whole configuration (SPEC §2: defaults, tools, tenants, runtime), not a \
            patch: start from `breakerctl config > config.json`, edit, then configure. It is checked \
            as a whole first; an invalid one is refused, naming the setting, and nothing is recorded.

            From the change on, every key resolves its settings from the new configuration. Nothing \
            else moves: open circuits stay open with their open time, generation and open timeout; \
            window entries keep their slow flags. New thresholds and windowMs apply at a key's next \
            outcome, halfOpenMaxInFlight at its next admission, the open timeouts at its next \
            transition that uses them, the tool-wide settings at the next transition; calls already \
            admitted keep their call timeout. runtime.flushIntervalMs applies from the owner's next \
            start.

            If a process owns the store (`breakerctl serve`, `load`, an application embedding the \
            library), the change goes to it and takes effect within a second; "applied" is printed \
            once its record is durable. With no owner running, it is applied to the store directly.
            The settings that change are listed on standard error.

            Examples:
              breakerctl config > config.json
              # edit: tools.vector_db.latencyThresholdMs = 5000
              breakerctl configure --config config.json \\
                  --reason "vector_db p95 is 4 s by design" --actor sre-kim

            Exit codes: 0 applied (durable); 1 invalid configuration, failure or not applied within
            --wait (said on standard error); 64 bad arguments.
            """)

    @Option(help: ArgumentHelp("The whole new configuration (JSON, SPEC §2).", valueName: "file"))
    var config: String
    @Option(help: ArgumentHelp("Why (recorded in the log and the audit).", valueName: "text"))
    var reason: String
    @Option(help: ArgumentHelp("Who (default: the operating-system user, $SUDO_USER else $USER).", valueName: "name"))
    var actor: String?
    @OptionGroup var waiting: WaitOption
    @OptionGroup var store: StoreOptions
    @OptionGroup var fleet: FleetScopeOptions

    func run() async throws {
        try await reportingErrors {
            let configuration = try loadConfiguration(config)
            let actorName = actor ?? operatingSystemUser()
            if let current = try? EventStore.openReader(path: store.path).configurationInForce() {
                let changes = configuration.changes(from: current)
                printError(changes.isEmpty ? "the configuration is the one in force; the change is recorded anyway" : "changes:")
                for line in changes { printError("  " + line) }
            }
            try await OperatorRelay.configure(
                configuration, actor: actorName, reason: reason, storePath: store.path, wait: waiting.duration, fleet: fleet)
        }
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the configuration in force, as JSON.",
        discussion: """
            The configuration the store's keys resolve their settings from now: the last one \
            `breakerctl configure` (or `serve --config`) recorded, else the one the store was created \
            with. Every scope the file format has is printed; settings not given inherit from the \
            wider scope (SPEC §2). The output is a valid --config file for `configure`.

            Example:
              breakerctl config --db breaker.sqlite > config.json

            Exit codes: 0 done; 1 store problem; 64 bad arguments.
            """)

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingErrors {
            writeOut(JSONOutput.indented(try EventStore.openReader(path: store.path).configurationInForce()))
        }
    }
}
