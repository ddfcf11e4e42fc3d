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
            24 tenants call 6 tools for 2 h 30 min of virtual time (about 65 000 calls) through the
            real breaker and store: web_search's vendor goes down at 10:00 and on-call holds it
            open for everyone at 10:03 until 10:27; vector_db turns slow at 10:40; globex's CRM
            quota runs out at 09:30 and its account manager resets the circuit at 10:35.

            It prints what opened, when and why, and the affected turns per tenant, and writes into
            the output folder: demo.sqlite (the store: try `breakerctl status --db …/demo.sqlite`),
            sla-report.csv, audit-<tenant>.csv, chart-<tenant>.svg and index.html (open it in a
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
            let report = try SLAReport(store: store, tenant: nil)
            try writeText(report.csv, to: output + "/sla-report.csv")
            var files = ["sla-report.csv"]
            for tenant in DemoScenario.tenants {
                let id = try TenantID(tenant)
                try writeText(try AuditTimeline(store: store, tenant: id).csv, to: output + "/audit-\(tenant).csv")
                let rows = report.rows.filter { $0.tenant == id }
                try writeText(Chart.svg(tenant: tenant, rows: rows), to: output + "/chart-\(tenant).svg")
            }
            try writeText(Chart.index(tenants: DemoScenario.tenants, report: report), to: output + "/index.html")
            files.append(contentsOf: ["audit-<tenant>.csv (\(DemoScenario.tenants.count))", "chart-<tenant>.svg", "index.html"])
            let elapsed = started.duration(to: clock.now)
            writeOut(try Self.summary(store: store, report: report, simulation: summary, output: output, files: files, elapsed: elapsed))
        }
    }

    static func isDemoFile(_ name: String) -> Bool {
        name.hasPrefix("demo.sqlite") || name == "sla-report.csv" || name == "index.html"
            || (name.hasPrefix("audit-") && name.hasSuffix(".csv")) || (name.hasPrefix("chart-") && name.hasSuffix(".svg"))
    }

    static func hhmm(_ t: Timestamp) -> String { String(t.iso8601.dropFirst(11).prefix(8)) }

    static func summary(
        store: EventStore, report: SLAReport, simulation: Simulation.Summary, output: String, files: [String], elapsed: Duration
    ) throws(BreakerError) -> String {
        var out = "TenantBreaker demo: \(DemoScenario.tenants.count) tenants, \(DemoScenario.tools.count) tools, "
        out += "\(hhmm(simulation.firstTime!))–\(hhmm(simulation.lastTime!)) UTC, \(simulation.calls) calls "
        out += "(\(simulation.rejected) rejected by open circuits), simulated in \(String(format: "%.1f", LogBench.seconds(elapsed))) s\n\n"
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
        try store.forEachEvent(EventFilter(kinds: [.transitions, .operatorActions, .globalOutages], turnNames: false)) { e in
            switch e.event {
            case .transition(let t) where t.to == .open || t.to == .forcedOpen:
                let label = "\(t.tool.rawValue) opened on \(t.cause.rawValue)"
                if opens[label] == nil {
                    order.append(label)
                    opens[label] = Episode(first: t.time, last: t.time, tenants: [], count: 0)
                }
                opens[label]!.last = t.time
                opens[label]!.tenants.insert(t.tenant.rawValue)
                opens[label]!.count += 1
            case .operatorAction(let o):
                timeline.append(
                    (o.time, "\(o.actor) \(o.op.rawValue) \(o.tool.rawValue) for \(o.tenant?.rawValue ?? "all tenants"): \(o.reason)"))
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
            a.turns += r.turns
            a.turnsBlocked += r.turnsBlocked
            a.turnsDegraded += r.turnsDegraded
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

/// Per-tenant charts of affected vs total turns per hour.
enum Chart {
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// An SVG bar chart: per hour, total turns (light) with blocked turns (dark) in front.
    static func svg(tenant: String, rows: [SLAReport.Row]) -> String {
        let width = 640
        let height = 320
        let left = 50
        let bottom = 260
        let top = 40
        let maxTurns = max(1, rows.map(\.turns).max() ?? 1)
        let slot = rows.isEmpty ? 0 : (width - left - 20) / rows.count
        var bars = ""
        for (i, r) in rows.enumerated() {
            let x = left + i * slot + slot / 6
            let w = slot * 2 / 3
            let h = Int(Double(r.turns) / Double(maxTurns) * Double(bottom - top))
            let hb = Int(Double(r.turnsBlocked) / Double(maxTurns) * Double(bottom - top))
            bars +=
                "<rect x=\"\(x)\" y=\"\(bottom - h)\" width=\"\(w)\" height=\"\(h)\" fill=\"#9ecae1\"><title>\(r.turns) turns</title></rect>"
            bars +=
                "<rect x=\"\(x)\" y=\"\(bottom - hb)\" width=\"\(w)\" height=\"\(hb)\" fill=\"#d6604d\"><title>\(r.turnsBlocked) blocked</title></rect>"
            bars +=
                "<text x=\"\(x + w / 2)\" y=\"\(bottom + 16)\" font-size=\"11\" text-anchor=\"middle\">\(r.hourStart.iso8601Seconds.dropFirst(11).prefix(5))</text>"
            bars +=
                "<text x=\"\(x + w / 2)\" y=\"\(bottom - h - 4)\" font-size=\"10\" text-anchor=\"middle\">\(r.turnsBlocked)/\(r.turns)</text>"
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="15" font-weight="bold">\(escape(tenant)): affected vs total agent turns per hour (UTC)</text>
            <line x1="\(left)" y1="\(bottom)" x2="\(width - 10)" y2="\(bottom)" stroke="#333"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(bottom)" stroke="#333"/>
            <text x="\(left - 6)" y="\(top + 4)" font-size="11" text-anchor="end">\(maxTurns)</text>
            <text x="\(left - 6)" y="\(bottom)" font-size="11" text-anchor="end">0</text>
            \(bars)
            <rect x="\(left)" y="\(height - 30)" width="12" height="12" fill="#9ecae1"/><text x="\(left + 18)" y="\(height - 20)" font-size="12">all turns</text>
            <rect x="\(left + 110)" y="\(height - 30)" width="12" height="12" fill="#d6604d"/><text x="\(left + 128)" y="\(height - 20)" font-size="12">turns blocked by an open circuit</text>
            </svg>

            """
    }

    /// A self-contained page embedding every chart.
    static func index(tenants: [String], report: SLAReport) -> String {
        var body = ""
        for t in tenants {
            let rows = report.rows.filter { $0.tenant.rawValue.hasSameBytes(as: t) }
            body += "<section>\(svg(tenant: t, rows: rows))<p><a href=\"audit-\(escape(t)).csv\">audit</a></p></section>\n"
        }
        return """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>TenantBreaker demo: affected turns per tenant</title>
            <style>body{font-family:sans-serif;margin:2em} section{display:inline-block;margin:1em;vertical-align:top}</style>
            </head><body>
            <h1>Affected vs total agent turns per hour</h1>
            <p>Source: <a href="sla-report.csv">sla-report.csv</a>. A turn is blocked when one of its tool calls was rejected by an open circuit.</p>
            \(body)</body></html>

            """
    }
}
