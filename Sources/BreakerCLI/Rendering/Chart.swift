import BreakerCore
import BreakerReports
import Foundation

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

    /// An SVG bar chart: per hour, total turns (light) with blocked turns (dark) in front; the
    /// date in the title, and an hour the log ends inside (after `end`) hatched and labelled partial.
    static func svg(tenant: String, rows: [SLAReport.Row], end: Timestamp? = nil) -> String {
        let width = 640
        let height = 320
        let left = 50
        let bottom = 260
        let top = 40
        let maxTurns = max(1, rows.map(\.turns).max() ?? 1)
        let slot = rows.isEmpty ? 0 : (width - left - 20) / rows.count
        var bars = ""
        var anyPartial = false
        for (i, r) in rows.enumerated() {
            let x = left + i * slot + slot / 6
            let w = slot * 2 / 3
            let h = Int(Double(r.turns) / Double(maxTurns) * Double(bottom - top))
            let hb = Int(Double(r.turnsBlocked) / Double(maxTurns) * Double(bottom - top))
            let partial = end.map { r.hourStart.milliseconds + 3_600_000 > $0.milliseconds + 1 } ?? false
            anyPartial = anyPartial || partial
            let hour = String(r.hourStart.iso8601Seconds.dropFirst(11).prefix(5))
            let label = partial ? "\(hour)–\(end!.iso8601Seconds.dropFirst(11).prefix(5)) partial" : hour
            bars +=
                "<rect x=\"\(x)\" y=\"\(bottom - h)\" width=\"\(w)\" height=\"\(h)\" fill=\"\(partial ? "url(#partial)" : "#9ecae1")\"><title>\(r.turns) turns\(partial ? " so far" : "")</title></rect>"
            bars +=
                "<rect x=\"\(x)\" y=\"\(bottom - hb)\" width=\"\(w)\" height=\"\(hb)\" fill=\"#d6604d\"><title>\(r.turnsBlocked) blocked</title></rect>"
            bars +=
                "<text x=\"\(x + w / 2)\" y=\"\(bottom + 16)\" font-size=\"11\" text-anchor=\"middle\">\(label)</text>"
            bars +=
                "<text x=\"\(x + w / 2)\" y=\"\(bottom - h - 4)\" font-size=\"10\" text-anchor=\"middle\">\(r.turnsBlocked)/\(r.turns)</text>"
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif">
            <defs><pattern id="partial" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#9ecae1"/><rect width="3" height="6" fill="#deebf7"/></pattern></defs>
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="15" font-weight="bold">\(escape(tenant)): affected vs total agent turns per hour, \(rows.first.map { String($0.hourStart.iso8601.prefix(10)) } ?? "") (UTC)</text>
            <line x1="\(left)" y1="\(bottom)" x2="\(width - 10)" y2="\(bottom)" stroke="#333"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(bottom)" stroke="#333"/>
            <text x="\(left - 6)" y="\(top + 4)" font-size="11" text-anchor="end">\(maxTurns)</text>
            <text x="\(left - 6)" y="\(bottom)" font-size="11" text-anchor="end">0</text>
            \(bars)
            <rect x="\(left)" y="\(height - 30)" width="12" height="12" fill="#9ecae1"/><text x="\(left + 18)" y="\(height - 20)" font-size="12">all turns</text>
            <rect x="\(left + 110)" y="\(height - 30)" width="12" height="12" fill="#d6604d"/><text x="\(left + 128)" y="\(height - 20)" font-size="12">turns blocked by an open circuit</text>
            \(anyPartial ? "<rect x=\"\(left + 350)\" y=\"\(height - 30)\" width=\"12\" height=\"12\" fill=\"url(#partial)\"/><text x=\"\(left + 368)\" y=\"\(height - 20)\" font-size=\"12\">partial hour (the log ends inside it)</text>" : "")
            </svg>

            """
    }

    /// The times a budget chart samples: `count` points evenly over (at − window, at], the last at `at`.
    static func budgetSampleTimes(at: Timestamp, windowDays: Int, count: Int = 240) -> [Timestamp] {
        let span = Int64(windowDays) * 86_400_000
        return (1...count).map { i in at.adding(milliseconds: -span + span * Int64(i) / Int64(count)) }
    }

    /// An SVG of a tenant's error budget over its window (SPEC §16): the budget left at each
    /// sample (its own window ending there), the times an alert fired shaded amber (ticket) or
    /// red (page), and the 0 line where the budget is spent.
    static func budgetSVG(tenant: String, points: [ObjectiveStatus]) -> String {
        let (width, height, left, right, top, bottom) = (720, 340, 60, 20, 48, 270)
        guard let first = points.first, let last = points.last else { return "" }
        let objective = first.objective
        let values = points.map(\.budgetRemaining)
        let high = 1.0
        // Below −100 % the line is drawn at the floor: an overspent budget is overspent, and the
        // scale stays readable.
        let low = max(-1, min(-0.25, values.min() ?? 0))
        let t0 = first.at.milliseconds
        let t1 = max(last.at.milliseconds, t0 + 1)
        let x = { (t: Int64) in Double(left) + Double(t - t0) / Double(t1 - t0) * Double(width - left - right) }
        let y = { (v: Double) in Double(top) + (high - v) / (high - low) * Double(bottom - top) }
        let f = { (v: Double) in String(format: "%.1f", v) }
        var shading = ""
        let step = points.count > 1 ? x(points[1].at.milliseconds) - x(points[0].at.milliseconds) : 4
        for p in points where p.status != .ok {
            let color = p.status == .page ? "#c62828" : "#f9a825"
            shading +=
                "<rect x=\"\(f(x(p.at.milliseconds) - step))\" y=\"\(top)\" width=\"\(f(step))\" height=\"\(bottom - top)\" fill=\"\(color)\" opacity=\"0.25\"><title>\(p.at.iso8601Seconds): \(p.status.rawValue)</title></rect>"
        }
        let line = points.map { "\(f(x($0.at.milliseconds))),\(f(y(max(low, $0.budgetRemaining))))" }.joined(separator: " ")
        let ticks = (0...4).map { i -> String in
            let t = t0 + (t1 - t0) * Int64(i) / 4
            let label = Timestamp(milliseconds: t).iso8601Seconds.dropFirst(5).prefix(11).replacingOccurrences(of: "T", with: " ")
            let anchor = i == 0 ? "start" : i == 4 ? "end" : "middle"
            return "<text x=\"\(f(x(t)))\" y=\"\(bottom + 16)\" font-size=\"11\" text-anchor=\"\(anchor)\">\(label)</text>"
        }.joined()
        let now = last
        let summary =
            "at \(now.at.iso8601Seconds.prefix(16).replacingOccurrences(of: "T", with: " ")) UTC: \(f(100 * now.budgetRemaining)) % of the budget left, burn 1h \(String(format: "%.2f", now.burn(.oneHour)))×, \(now.status.rawValue)"
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="20" font-size="15" font-weight="bold">\(escape(tenant)): error budget left, objective \(objective.objective == objective.objective.rounded() ? String(Int(objective.objective)) : String(objective.objective)) % over \(objective.windowDays) d (\(objective.bad.rawValue) turns)</text>
            <text x="\(left)" y="38" font-size="12" fill="#555">\(escape(summary))</text>
            \(shading)
            <line x1="\(left)" y1="\(f(y(0)))" x2="\(width - right)" y2="\(f(y(0)))" stroke="#c62828" stroke-dasharray="4 3"/>
            <line x1="\(left)" y1="\(bottom)" x2="\(width - right)" y2="\(bottom)" stroke="#333"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(bottom)" stroke="#333"/>
            <text x="\(left - 6)" y="\(f(y(high) + 4))" font-size="11" text-anchor="end">100 %</text>
            <text x="\(left - 6)" y="\(f(y(0) + 4))" font-size="11" text-anchor="end">0 %</text>
            <text x="\(left - 6)" y="\(bottom)" font-size="11" text-anchor="end">\(low <= -1 ? "≤ " : "")\(Int((100 * low).rounded())) %</text>
            <polyline points="\(line)" fill="none" stroke="#1565c0" stroke-width="2"/>
            \(ticks)
            <rect x="\(left)" y="\(height - 30)" width="12" height="12" fill="#1565c0"/><text x="\(left + 18)" y="\(height - 20)" font-size="12">budget left (UTC)</text>
            <rect x="\(left + 150)" y="\(height - 30)" width="12" height="12" fill="#f9a825" opacity="0.5"/><text x="\(left + 168)" y="\(height - 20)" font-size="12">ticket alert</text>
            <rect x="\(left + 260)" y="\(height - 30)" width="12" height="12" fill="#c62828" opacity="0.5"/><text x="\(left + 278)" y="\(height - 20)" font-size="12">page alert</text>
            </svg>

            """
    }
}
