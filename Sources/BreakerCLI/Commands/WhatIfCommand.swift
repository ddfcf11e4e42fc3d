import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerStore
import Foundation

struct WhatIfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "What another configuration would have done with the calls you recorded.",
        discussion: """
            Replays the store's call records through a fresh breaker with the candidate \
            configuration in force throughout, on a virtual clock, as `simulate` would:
            an admitted call at its time less its latency with its recorded result, a \
            shadow call likewise, a recorded rejection as a call of unknown outcome.
            Operator actions and fleet records replay as recorded.

            One row per (tenant, tool) where the candidate does something else, then a \
            totals row (tenant and tool `*`):
              opens, calls_rejected, turns_blocked: recorded vs candidate;
              would_reject_failed, _succeeded, _unknown: what the calls the candidate
              rejects really did (unknown: they were rejected when recorded);
              admitted_unknown: recorded rejections the candidate admits.

            --sweep SETTING=V1,V2,... tries one candidate per value: the setting in \
            `defaults` of --config, or of the store's configuration in force, and \
            prints one totals row per value.

            Examples:
              breakerctl whatif --config candidate.json
              breakerctl whatif --config candidate.json --tenant acme --format csv
              breakerctl whatif --sweep failureThreshold=3,5,8,13 \\
                  --from 2026-11-28T00:00:00Z --to 2026-12-05T00:00:00Z

            Exit codes: 0 done; 1 bad configuration, empty store or store problem; \
            64 bad arguments.
            """)

    @Option(help: ArgumentHelp("The candidate configuration (SPEC §2's format).", valueName: "file"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            "Try one candidate per value of a setting of `defaults`, e.g. failureThreshold=3,5,8.", valueName: "setting=v1,v2,..."))
    var sweep: String?

    @OptionGroup var tenant: TenantFilterOption

    @OptionGroup var range: HourRangeOptions

    @Option(help: "Output format: table, csv or json.")
    var format: WhatIfFormat = .table

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Records between progress lines on standard error.", visibility: .hidden))
    var progressEvery: Int64 = 1_000_000

    func validate() throws {
        if progressEvery < 1 { throw ValidationError("--progress-every must be at least 1") }
        if config == nil && sweep == nil {
            throw ValidationError("say what to try: --config FILE (a candidate configuration), or --sweep SETTING=V1,V2,...")
        }
        if let sweep { _ = try Sweep(sweep) }
    }

    func run() async throws {
        try await reportingErrors {
            let s = try EventStore.openReader(path: store.path)
            let base = try config.map { path throws(BreakerError) in try loadConfiguration(path) } ?? s.configurationInForce()
            let sweep = try sweep.map { try Sweep($0) }
            let candidates = try sweep?.configurations(base) ?? [base]
            let records = try s.callRecordCount()
            let every = progressEvery
            let results = try s.whatIf(
                candidates: candidates, tenant: tenant.tenant, from: try range.fromHour, to: try range.toHour, progressEvery: every
            ) { n in
                printError("whatif: \(n) records read (\(records) call records in the store)")
            }
            if let sweep {
                try writeText(Self.render(sweep: sweep, results: results, format: format), to: output)
            } else {
                try writeText(Self.render(results[0], format: format), to: output)
            }
        }
    }

    static func render(_ result: WhatIfResult, format: WhatIfFormat) -> String {
        switch format {
        case .csv: return result.csv
        case .json: return JSONOutput.array(result.allRows.map { JSONRow(row: $0) })
        case .table:
            return Table.render(
                [WhatIfResult.columns] + result.allRows.map { [$0.tenant, $0.tool] + $0.figures.values.map(String.init) })
        }
    }

    static func render(sweep: Sweep, results: [WhatIfResult], format: WhatIfFormat) -> String {
        let columns = ["setting", "value"] + WhatIfResult.columns.dropFirst(2)
        let rows = zip(sweep.values, results).map { value, r in [sweep.setting, value] + r.total.values.map(String.init) }
        switch format {
        case .csv: return CSV.line(columns) + rows.map { CSV.line($0) }.joined()
        case .table: return Table.render([columns] + rows)
        case .json:
            return JSONOutput.array(
                zip(sweep.values, results).map { value, r in
                    JSONRow(row: WhatIfRow(tenant: "*", tool: "*", figures: r.total), sweep: (sweep.setting, value))
                })
        }
    }

    /// One row as a JSON object (figures as numbers).
    struct JSONRow: Encodable {
        let row: WhatIfRow
        var sweep: (setting: String, value: String)? = nil

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            if let sweep {
                try c.encode(sweep.setting, forKey: Key(stringValue: "setting"))
                try c.encode(sweep.value, forKey: Key(stringValue: "value"))
            } else {
                try c.encode(row.tenant, forKey: Key(stringValue: "tenant"))
                try c.encode(row.tool, forKey: Key(stringValue: "tool"))
            }
            for (name, value) in zip(WhatIfResult.columns.dropFirst(2), row.figures.values) {
                try c.encode(value, forKey: Key(stringValue: name))
            }
        }
    }
}

enum WhatIfFormat: String, ExpressibleByArgument, CaseIterable {
    case table, csv, json
}

/// `--sweep SETTING=V1,V2,…`: one setting of `defaults` and the values to try.
struct Sweep {
    let setting: String
    let values: [String]
    let parsed: [JSONValue]

    init(_ text: String) throws {
        guard let eq = text.firstIndex(of: "=") else {
            throw ValidationError("--sweep \(text): write it as SETTING=V1,V2,... (e.g. failureThreshold=3,5,8)")
        }
        setting = String(text[..<eq])
        guard BreakerConfiguration.settingNames.contains(setting) else {
            throw ValidationError(
                "--sweep: unknown setting \"\(setting)\"; settings: \(BreakerConfiguration.settingNames.joined(separator: ", "))")
        }
        values = text[text.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !values.isEmpty, !values.contains("") else {
            throw ValidationError("--sweep \(setting): give one or more values separated by commas, e.g. \(setting)=3,5,8")
        }
        let name = setting
        parsed = try values.map { v in
            do {
                return try JSONValue.parse(v[...])
            } catch {
                throw ValidationError("--sweep \(name): \(v) is not a value (a number, true or false)")
            }
        }
    }

    /// `base` with the setting in `defaults` set to each value, in order.
    /// - Throws: ``BreakerError`` naming the value the configuration refuses.
    func configurations(_ base: BreakerConfiguration) throws(BreakerError) -> [BreakerConfiguration] {
        let root: JSONValue
        do {
            root = try JSONValue.parse(base.jsonText[...])
        } catch {
            throw BreakerError(.invalidConfiguration, "cannot read the base configuration: \(error.message)")
        }
        guard case .object(var members) = root else {
            throw BreakerError(.invalidConfiguration, "the base configuration is not an object")
        }
        var out: [BreakerConfiguration] = []
        for (text, value) in zip(values, parsed) {
            var defaults: [(key: String, value: JSONValue)] = []
            let i = members.firstIndex { $0.key == "defaults" }
            if let i, case .object(let d) = members[i].value { defaults = d }
            defaults.removeAll { $0.key == setting }
            defaults.append((setting, value))
            if let i { members[i].value = .object(defaults) } else { members.append(("defaults", .object(defaults))) }
            do {
                out.append(try BreakerConfiguration(value: .object(members)))
            } catch {
                throw BreakerError(.invalidConfiguration, "--sweep \(setting)=\(text): \(error.message)")
            }
        }
        return out
    }
}
