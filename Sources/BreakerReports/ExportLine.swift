import BreakerCore
public import BreakerStore

/// The JSON-lines export of SPEC §11: one object a line, in log order.
public enum ExportLine {
    /// The line for one logged record (without the trailing newline).
    public static func json(_ e: LoggedEvent) -> String {
        let head = "{\"seq\":\(e.seq),\"ts\":\(e.event.time.milliseconds),"
        switch e.event {
        case .call(let r):
            return head
                + "\"kind\":\"call\",\"tenant\":\(JSON.string(r.tenant.rawValue)),\"tool\":\(JSON.string(r.tool.rawValue)),\"turn\":\(JSON.string(r.turn?.rawValue)),\"outcome\":\"\(r.outcome.rawValue)\",\"reason\":\(JSON.string(r.reason)),\"latency_us\":\(JSON.number(r.latencyUs)),\"generation\":\(r.generation),\"probe\":\(r.probe),\"stale\":\(r.stale)}"
        case .transition(let r):
            let window = r.cause.isWindowRule
            let op = r.cause.isOperator || r.actor != nil
            return head
                + "\"kind\":\"transition\",\"tenant\":\(JSON.string(r.tenant.rawValue)),\"tool\":\(JSON.string(r.tool.rawValue)),\"from\":\"\(r.from.rawValue)\",\"to\":\"\(r.to.rawValue)\",\"cause\":\"\(r.cause.rawValue)\",\"generation\":\(r.generation),\"failures\":\(window ? JSON.number(r.failures) : "null"),\"calls\":\(window ? JSON.number(r.calls) : "null"),\"p95_us\":\(window ? JSON.number(r.p95Us) : "null"),\"actor\":\(op ? JSON.string(r.actor) : "null"),\"reason\":\(op ? JSON.string(r.reason) : "null")}"
        case .operatorAction(let r):
            return head
                + "\"kind\":\"operator\",\"tenant\":\(JSON.string(r.tenant?.rawValue)),\"tool\":\(JSON.string(r.tool.rawValue)),\"op\":\"\(r.op.rawValue)\",\"actor\":\(JSON.string(r.actor)),\"reason\":\(JSON.string(r.reason))}"
        case .globalOutage(let r):
            return head + "\"kind\":\"global_outage\",\"tool\":\(JSON.string(r.tool.rawValue)),\"tenants\":\(r.tenants)}"
        case .logGap(let r):
            return head + "\"kind\":\"log_gap\",\"from\":\(r.from.milliseconds),\"to\":\(r.to.milliseconds),\"dropped\":\(r.dropped)}"
        }
    }
}
