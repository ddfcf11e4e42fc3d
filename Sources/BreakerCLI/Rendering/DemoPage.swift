import BreakerCore
import BreakerReports
import Foundation

/// The demo's `index.html`: the story first — which tenants were hurt when (a tenant × hour
/// heatmap) and what each tool went through (a state timeline with the operators' actions) —
/// then the error budget and the per-tenant charts. Every chart carries its date; an hour the
/// log ends inside is marked as partial.
struct DemoPage {
    /// What an operator or a configuration change did, drawn on the tool timeline.
    struct Marker: Hashable {
        var time: Timestamp
        /// `nil`: every tool (a configuration change).
        var tool: String?
        var label: String
    }

    var tenants: [String]
    var tools: [String]
    var report: SLAReport
    /// Every transition, in log order.
    var transitions: [TransitionRecord]
    var markers: [Marker]
    /// The first and last record of the log.
    var start: Timestamp
    var end: Timestamp
    var budget: (tenant: String, svg: String)?

    /// "2026-11-28".
    static func day(_ t: Timestamp) -> String { String(t.iso8601.prefix(10)) }
    /// "10:03".
    static func hhmm(_ t: Timestamp) -> String { String(t.iso8601.dropFirst(11).prefix(5)) }

    /// Whether the hour starting at `hour` ends after the log does.
    func isPartial(_ hour: Timestamp) -> Bool { hour.milliseconds + 3_600_000 > end.milliseconds + 1 }

    /// The hours of the report, in order.
    var hours: [Timestamp] {
        Array(Set(report.rows.map(\.hourStart))).sorted()
    }

    /// The label of an hour: "10:00", or "11:00–11:30, partial".
    func hourLabel(_ hour: Timestamp) -> String {
        isPartial(hour) ? "\(Self.hhmm(hour))–\(Self.hhmm(end)), partial" : Self.hhmm(hour)
    }

    // MARK: - Tenant × hour heatmap

    /// An HTML table: a row per tenant, a column per hour, each cell the turns blocked or
    /// degraded, shaded by the share of the tenant's turns that hour.
    var heatmap: String {
        let hours = self.hours
        var cells: [String: SLAReport.Row] = [:]
        for r in report.rows { cells["\(r.tenant.rawValue)\u{0}\(r.hourStart.milliseconds)"] = r }
        var head = "<tr><th>tenant</th>"
        for h in hours {
            head += "<th\(isPartial(h) ? " class=\"partial\"" : "")>\(Chart.escape(hourLabel(h)))</th>"
        }
        head += "<th>all hours</th></tr>"
        var body = ""
        for t in tenants {
            body += "<tr data-tenant=\"\(Chart.escape(t))\"><th>\(Chart.escape(t))</th>"
            var (affected, turns): (Int64, Int64) = (0, 0)
            for h in hours {
                let r = cells["\(t)\u{0}\(h.milliseconds)"]
                let n = (r?.turnsBlocked ?? 0) + (r?.turnsDegraded ?? 0)
                let all = r?.turns ?? 0
                affected += n
                turns += all
                let share = all == 0 ? 0 : Double(n) / Double(all)
                let alpha = n == 0 ? 0 : 0.12 + 0.88 * share
                let title = "\(t), \(hourLabel(h)) UTC: \(n) of \(all) turns blocked or degraded (\(String(format: "%.1f", 100 * share)) %)"
                body +=
                    "<td class=\"heat\(isPartial(h) ? " partial" : "")\" data-affected=\"\(n)\" style=\"background: rgba(198, 40, 40, \(String(format: "%.2f", alpha)))\(alpha > 0.5 ? "; color: #fff" : "")\" title=\"\(Chart.escape(title))\">\(n)</td>"
            }
            let share = turns == 0 ? 0 : 100 * Double(affected) / Double(turns)
            body += "<td class=\"total\">\(affected) of \(turns) (\(String(format: "%.1f", share)) %)</td></tr>\n"
        }
        return """
            <table class="heatmap"><caption>Turns blocked or degraded per tenant and hour, \(Self.day(start)) (UTC). \
            The shade is the share of the tenant's turns that hour; a dashed hour is partial (the log ends at \(Self.hhmm(end))).</caption>
            <thead>\(head)</thead><tbody>
            \(body)</tbody></table>
            """
    }

    // MARK: - Tool state timeline

    /// An SVG: a row per tool, time across; in each row the tenants whose key is not closed,
    /// stacked by state (held or forced open, open, half open), and the operators' actions and
    /// configuration changes as marks.
    var toolTimeline: String {
        let (left, right, top, rowHeight, gap) = (110, 20, 70, 46, 24)
        let width = 960
        let height = top + tools.count * (rowHeight + gap) + 60
        let t0 = Double(start.milliseconds)
        let t1 = max(Double(end.milliseconds), t0 + 1)
        let x = { (t: Timestamp) in Double(left) + (Double(t.milliseconds) - t0) / (t1 - t0) * Double(width - left - right) }
        let f = { (v: Double) in String(format: "%.1f", v) }
        let scale = Double(rowHeight - 6) / Double(max(1, tenants.count))
        var states: [String: CircuitState] = [:]
        // Per tool: the counts after each transition, as (time, forced, open, half open).
        var steps: [String: [(Timestamp, Int, Int, Int)]] = [:]
        var counts: [String: (forced: Int, open: Int, half: Int)] = [:]
        for t in transitions {
            let tool = t.tool.rawValue
            let id = "\(t.tenant.rawValue)\u{0}\(tool)"
            var c = counts[tool] ?? (0, 0, 0)
            for (state, delta) in [(states[id] ?? .closed, -1), (t.to, 1)] {
                switch state {
                case .forcedOpen: c.forced += delta
                case .open: c.open += delta
                case .halfOpen: c.half += delta
                case .closed: break
                }
            }
            states[id] = t.to
            counts[tool] = c
            steps[tool, default: []].append((t.time, c.forced, c.open, c.half))
        }
        var rows = ""
        for (i, tool) in tools.enumerated() {
            let y0 = top + i * (rowHeight + gap)
            let base = Double(y0 + rowHeight)
            rows +=
                "<text x=\"\(left - 8)\" y=\"\(y0 + rowHeight / 2 + 4)\" font-size=\"13\" text-anchor=\"end\">\(Chart.escape(tool))</text>"
            rows +=
                "<rect x=\"\(left)\" y=\"\(y0)\" width=\"\(width - left - right)\" height=\"\(rowHeight)\" fill=\"#f5f7f8\" stroke=\"#cfd8dc\"/>"
            let s = steps[tool] ?? []
            for (j, step) in s.enumerated() {
                let until = j + 1 < s.count ? s[j + 1].0 : end
                let (xa, xb) = (x(step.0), x(until))
                guard xb > xa else { continue }
                var y = base
                for (n, color, name) in [
                    (step.1, "#6a1b9a", "held or forced open"), (step.2, "#c62828", "open"), (step.3, "#ef6c00", "half open"),
                ]
                where n > 0 {
                    let h = Double(n) * scale
                    y -= h
                    rows +=
                        "<rect x=\"\(f(xa))\" y=\"\(f(y))\" width=\"\(f(xb - xa))\" height=\"\(f(h))\" fill=\"\(color)\"><title>\(Chart.escape(tool)) \(Self.hhmm(step.0))–\(Self.hhmm(until)): \(n) tenants \(name)</title></rect>"
                }
            }
            // The operators' actions on this tool, labelled in the gap above the row.
            for m in markers where m.tool == tool {
                let mx = x(m.time)
                let ly = y0 - 6
                rows += "<path d=\"M\(f(mx - 5)) \(y0 - 4) L\(f(mx + 5)) \(y0 - 4) L\(f(mx)) \(y0 + 4) Z\" fill=\"#263238\"/>"
                rows +=
                    "<line x1=\"\(f(mx))\" y1=\"\(y0)\" x2=\"\(f(mx))\" y2=\"\(y0 + rowHeight)\" stroke=\"#263238\" stroke-width=\"1\"/>"
                let anchor = mx > Double(width - right - 160) ? "end" : "start"
                let dx = anchor == "end" ? -4.0 : 4.0
                rows +=
                    "<text x=\"\(f(mx + dx))\" y=\"\(ly)\" font-size=\"11\" text-anchor=\"\(anchor)\" fill=\"#263238\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">\(Chart.escape(m.label))</text>"
            }
        }
        // Configuration changes apply to every tool: a dashed line across all rows.
        let bottom = top + tools.count * (rowHeight + gap) - gap
        for m in markers where m.tool == nil {
            let mx = x(m.time)
            let (anchor, dx) = mx > Double(width - right - 220) ? ("end", -4.0) : ("start", 4.0)
            rows +=
                "<line x1=\"\(f(mx))\" y1=\"\(top - 22)\" x2=\"\(f(mx))\" y2=\"\(bottom)\" stroke=\"#1565c0\" stroke-dasharray=\"4 3\"/><text x=\"\(f(mx + dx))\" y=\"\(top - 24)\" font-size=\"11\" text-anchor=\"\(anchor)\" fill=\"#1565c0\">\(Chart.escape(m.label))</text>"
        }
        // Ticks every 30 minutes, on the half hours.
        var ticks = ""
        var tick = (start.milliseconds + 1_800_000 - 1) / 1_800_000 * 1_800_000
        while tick <= end.milliseconds {
            let tx = x(Timestamp(milliseconds: tick))
            ticks +=
                "<line x1=\"\(f(tx))\" y1=\"\(bottom)\" x2=\"\(f(tx))\" y2=\"\(bottom + 5)\" stroke=\"#333\"/><text x=\"\(f(tx))\" y=\"\(bottom + 18)\" font-size=\"11\" text-anchor=\"middle\">\(Self.hhmm(Timestamp(milliseconds: tick)))</text>"
            tick += 1_800_000
        }
        let legendY = height - 18
        return """
            <svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="20" font-size="15" font-weight="bold">What each tool went through, \(Self.day(start)) \(Self.hhmm(start))–\(Self.hhmm(end)) (UTC)</text>
            <text x="\(left)" y="36" font-size="12" fill="#555">Height: tenants whose circuit for the tool is not closed (of \(tenants.count)). Marks: operators' actions; dashed: configuration changes.</text>
            \(rows)\(ticks)
            <rect x="\(left)" y="\(legendY - 10)" width="12" height="12" fill="#c62828"/><text x="\(left + 18)" y="\(legendY)" font-size="12">open</text>
            <rect x="\(left + 70)" y="\(legendY - 10)" width="12" height="12" fill="#ef6c00"/><text x="\(left + 88)" y="\(legendY)" font-size="12">half open (probing)</text>
            <rect x="\(left + 220)" y="\(legendY - 10)" width="12" height="12" fill="#6a1b9a"/><text x="\(left + 238)" y="\(legendY)" font-size="12">held or forced open by an operator</text>
            </svg>
            """
    }

    // MARK: - The page

    var html: String {
        var charts = ""
        for t in tenants {
            let rows = report.rows.filter { $0.tenant.rawValue.hasSameBytes(as: t) }
            charts +=
                "<section>\(Chart.svg(tenant: t, rows: rows, end: end))<p><a href=\"audit-\(Chart.escape(t)).csv\">audit</a></p></section>\n"
        }
        let budgetSection =
            budget.map {
                "<h2>Error budget of \(Chart.escape($0.tenant)), the tenant that spent the most</h2>\n<section>\($0.svg)</section>\n"
            }
            ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>TenantBreaker demo, \(Self.day(start)): what broke, for whom, and when</title>
            <style>
            body { font-family: sans-serif; margin: 2em; color: #222; }
            section { display: inline-block; margin: 1em; vertical-align: top; }
            table.heatmap { border-collapse: collapse; margin: 1em 0 2em; }
            table.heatmap caption { text-align: left; font-weight: bold; padding-bottom: 6px; }
            table.heatmap th, table.heatmap td { padding: 3px 10px; border: 1px solid #eceff1; text-align: right; }
            table.heatmap tbody th { text-align: left; font-weight: normal; }
            table.heatmap .partial { border: 1px dashed #78909c; }
            table.heatmap td.total { color: #555; }
            </style>
            </head><body>
            <h1>What broke, for whom, and when: \(Self.day(start)), \(Self.hhmm(start))–\(Self.hhmm(end)) UTC</h1>
            <p>Source: <a href="sla-report.csv">sla-report.csv</a> and the store's transitions. A turn is blocked when one of its \
            tool calls was rejected by an open circuit, degraded when one failed or timed out.</p>
            \(heatmap)
            \(toolTimeline)
            \(budgetSection)<h2>Each tenant, hour by hour</h2>
            \(charts)</body></html>

            """
    }
}
