import ArgumentParser
import BreakerCore
import BreakerReports
import BreakerRuntime
import BreakerStore
import Foundation

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a realistic outage scenario and write the SLA report, audits and charts.",
        discussion: """
            24 tenants call 6 tools for 2 h 30 min of virtual time (about 65 000 calls) through the \
            real breaker and store: web_search's vendor goes down at 10:00 and on-call holds it \
            open for everyone at 10:03 until 10:27; vector_db turns slow at 10:40, and at 11:02 an \
            SRE raises its latency threshold (a configuration change), so its next slow spell at \
            11:10 keeps it closed; globex's CRM quota runs out at 09:30 and its account manager \
            resets the circuit at 10:35.

            It prints what opened, when and why, and the affected turns per tenant, and writes into \
            the output folder: demo.sqlite (the store: try `breakerctl status --db …/demo.sqlite`), \
            sla-report.csv, audit-<tenant>.csv, chart-<tenant>.svg and index.html (open it in a \
            browser). An existing demo in the folder is replaced.

            Example:
              breakerctl demo --output breaker-demo

            Exit codes: 0 done; 1 failure; 64 bad arguments.
            """)

    @Option(help: ArgumentHelp("Folder for the store, reports and charts.", valueName: "dir"))
    var output = "breaker-demo"

    func run() async throws {
        try await reportingErrors {
            let fm = FileManager.default
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: output, isDirectory: &isDir) {
                guard isDir.boolValue else {
                    throw BreakerError(.invalidArgument, "\(output) exists and is not a folder; choose another --output")
                }
                for name in try fm.contentsOfDirectory(atPath: output) where Self.isDemoFile(name) {
                    try fm.removeItem(atPath: output + "/" + name)
                }
            } else {
                do {
                    try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
                } catch {
                    throw BreakerError(.invalidArgument, "cannot create \(output): \(error.localizedDescription)")
                }
            }
            let storePath = output + "/demo.sqlite"
            let trace = DemoScenario.trace()
            let clock = ContinuousClock()
            let started = clock.now
            let summary = try await SimulationRunner.run(
                trace, configuration: DemoScenario.configuration, storePath: storePath, progress: nil)
            let store = try EventStore.openReader(path: storePath)
            let report = try store.slaReport(tenant: nil)
            try writeText(report.csv, to: output + "/sla-report.csv")
            var files = ["sla-report.csv"]
            for tenant in DemoScenario.tenants {
                let id = try TenantID(tenant)
                try writeText(try store.auditTimeline(tenant: id).csv, to: output + "/audit-\(tenant).csv")
                let rows = report.rows.filter { $0.tenant == id }
                try writeText(Chart.svg(tenant: tenant, rows: rows, end: summary.lastTime), to: output + "/chart-\(tenant).svg")
            }
            // The error budget of the tenant that spent the most of it.
            let configuration = try store.configurationInForce()
            let statuses = try store.objectiveStatuses(tenant: nil, configuration: configuration, at: nil)
            var budget: (tenant: String, svg: String)? = nil
            if let worst = statuses.min(by: { $0.budgetRemaining < $1.budgetRemaining }) {
                let points = try Chart.budgetSampleTimes(at: worst.at, windowDays: worst.objective.windowDays, count: 144).map {
                    at throws(BreakerError) in try store.objectiveStatus(tenant: worst.tenant, objective: worst.objective, at: at)
                }
                budget = (worst.tenant.rawValue, Chart.budgetSVG(tenant: worst.tenant.rawValue, points: points))
                try writeText(budget!.svg, to: output + "/budget-\(worst.tenant.rawValue).svg")
            }
            try writeText(try Self.page(store: store, report: report, simulation: summary, budget: budget).html, to: output + "/index.html")
            files.append(contentsOf: ["audit-<tenant>.csv (\(DemoScenario.tenants.count))", "chart-<tenant>.svg", "index.html"])
            if let budget { files.append("budget-\(budget.tenant).svg") }
            let elapsed = started.duration(to: clock.now)
            writeOut(try Self.summary(store: store, report: report, simulation: summary, output: output, files: files, elapsed: elapsed))
        }
    }

    /// The page of the story: the heatmap and tool timeline from the store, then the charts.
    static func page(
        store: EventStore, report: SLAReport, simulation: Simulation.Summary, budget: (tenant: String, svg: String)?
    ) throws(BreakerError) -> DemoPage {
        var transitions: [TransitionRecord] = []
        var markers: [DemoPage.Marker] = []
        try store.forEachEvent(EventFilter(kinds: [.transitions, .operatorActions, .configurations], turnNames: false)) { e in
            switch e.event {
            case .transition(let t): transitions.append(t)
            case .operatorAction(let o):
                let what =
                    switch o.op {
                    case .forceOpen: "forced open"
                    case .forceOpenHold: "held open"
                    case .release: "released"
                    case .reset: "reset"
                    }
                let whom = o.tenant.map { " for \($0.rawValue)" } ?? ""
                markers.append(.init(time: o.time, tool: o.tool.rawValue, label: "\(DemoPage.hhmm(o.time)) \(what)\(whom) by \(o.actor)"))
            case .configuration(let c):
                markers.append(.init(time: c.time, tool: nil, label: "\(DemoPage.hhmm(c.time)) configuration changed by \(c.actor)"))
            default: break
            }
        }
        return DemoPage(
            tenants: DemoScenario.tenants, tools: DemoScenario.tools.map(\.0), report: report, transitions: transitions, markers: markers,
            start: simulation.firstTime!, end: simulation.lastTime!, budget: budget)
    }

    static func isDemoFile(_ name: String) -> Bool {
        name.hasPrefix("demo.sqlite") || name == "sla-report.csv" || name == "index.html"
            || (name.hasPrefix("audit-") && name.hasSuffix(".csv")) || (name.hasPrefix("chart-") && name.hasSuffix(".svg"))
            || (name.hasPrefix("budget-") && name.hasSuffix(".svg"))
    }

    static func hhmm(_ t: Timestamp) -> String { String(t.iso8601.dropFirst(11).prefix(8)) }

    static func summary(
        store: EventStore, report: SLAReport, simulation: Simulation.Summary, output: String, files: [String], elapsed: Duration
    ) throws(BreakerError) -> String {
        var out = "TenantBreaker demo: \(DemoScenario.tenants.count) tenants, \(DemoScenario.tools.count) tools, "
        out += "\(hhmm(simulation.firstTime!))–\(hhmm(simulation.lastTime!)) UTC, \(simulation.calls) calls "
        out +=
            "(\(simulation.rejected) rejected by open circuits), simulated in \(String(format: "%.1f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) s\n\n"
        out += "What the breaker did, and why:\n"
        struct Episode {
            var first: Timestamp
            var last: Timestamp
            var tenants: Set<String>
            var count: Int
        }
        var opens: [String: Episode] = [:]
        var order: [String] = []
        var timeline: [(Timestamp, String)] = []
        var inForce = store.configuration
        try store.forEachEvent(EventFilter(kinds: [.transitions, .operatorActions, .globalOutages, .configurations], turnNames: false)) {
            e in
            switch e.event {
            case .transition(let t) where t.to == .open || t.to == .forcedOpen:
                let label = "\(t.tool.rawValue) opened on \(t.cause.name)"
                if opens[label] == nil {
                    order.append(label)
                    opens[label] = Episode(first: t.time, last: t.time, tenants: [], count: 0)
                }
                opens[label]!.last = t.time
                opens[label]!.tenants.insert(t.tenant.rawValue)
                opens[label]!.count += 1
            case .operatorAction(let o):
                timeline.append(
                    (o.time, "\(o.actor) \(o.op.name) \(o.tool.rawValue) for \(o.tenant?.rawValue ?? "all tenants"): \(o.reason)"))
            case .configuration(let c):
                let changes = c.configuration.changes(from: inForce)
                inForce = c.configuration
                timeline.append((c.time, "\(c.actor) changed the configuration (\(changes.joined(separator: "; "))): \(c.reason)"))
            case .globalOutage(let g):
                timeline.append((g.time, "global outage suspected on \(g.tool.rawValue): \(g.tenants) tenants open"))
            default:
                break
            }
        }
        for label in order {
            let e = opens[label]!
            let who = e.tenants.count == 1 ? e.tenants.first! : "\(e.tenants.count) tenants"
            out += "  \(hhmm(e.first))–\(hhmm(e.last))  \(label) for \(who) (\(e.count)×)\n"
        }
        var seenOutage = Set<String>()
        for (t, line) in timeline {
            if line.hasPrefix("global outage") {
                if seenOutage.contains(line) { continue }
                seenOutage.insert(line)
            }
            out += "  \(hhmm(t))           \(line)\n"
        }
        out += "\nAffected agent turns per tenant (blocked = a call was rejected by an open circuit):\n"
        var rows = [["TENANT", "TURNS", "BLOCKED", "DEGRADED", "AVAILABILITY"]]
        var byTenant: [TenantID: SLAReport.Row] = [:]
        for r in report.rows {
            var a = byTenant[r.tenant] ?? SLAReport.Row(tenant: r.tenant, hourStart: r.hourStart)
            a.tally = a.tally + r.tally
            byTenant[r.tenant] = a
        }
        for tenant in DemoScenario.tenants {
            guard let a = byTenant[try TenantID(tenant)] else { continue }
            rows.append([tenant, String(a.turns), String(a.turnsBlocked), String(a.turnsDegraded), a.availabilityText + " %"])
        }
        out += Table.render(rows).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        out += "\nWritten to \(output)/: demo.sqlite, \(files.joined(separator: ", "))\n"
        out += "Open \(output)/index.html in a browser for the charts.\n"
        return out
    }
}
