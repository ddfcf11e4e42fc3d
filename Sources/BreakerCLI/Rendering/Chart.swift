import BreakerCore
import BreakerReports

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
