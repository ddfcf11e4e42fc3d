import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerStore
import CoreMetrics
import Dispatch
import HTTPTypes
import Hummingbird
import NIOCore

extension BreakerServer {
    /// `GET /v1/report.csv?tenant=T` (or `?all=1`), `&from=H&to=H`, `&shadow=1`: byte-identical to
    /// `breakerctl report` once every call answered so far is durable; `/v1/report.json` as
    /// `breakerctl report --format json`. Refused with `400` when it covers more than
    /// ``ServeOptions/maxReportRows`` rows (tenants × hours); streamed otherwise.
    func report(_ request: Request, json: Bool) async throws -> Response {
        let query = try Query(request, allowed: ["tenant", "all", "from", "to", "shadow"])
        if let shadow = query["shadow"], shadow != "1" {
            throw APIError.badRequest("shadow must be 1 (add what keys in shadow would have blocked)")
        }
        let tenant: TenantID? = try query.name("tenant")
        if let all = query["all"], all != "1" { throw APIError.badRequest("all must be 1 (every tenant)") }
        let all = query["all"] != nil
        if tenant == nil && !all { throw APIError.badRequest("say which tenant: ?tenant=NAME, or ?all=1 for every tenant") }
        if tenant != nil && all { throw APIError.badRequest("tenant and all exclude each other; give one") }
        let (from, to) = (try query.hour("from"), try query.hour("to"))
        try Query.checkRange(from, to)
        if let from, let to, (to.milliseconds - from.milliseconds) / 3_600_000 > Int64(options.maxReportRows) {
            throw tooManyRows((to.milliseconds - from.milliseconds) / 3_600_000, what: "hours")
        }
        try await owner.breaker.flush()
        if let tenant { try requireKnown(tenant) }
        var report = try reader.slaReport(tenant: tenant, from: from, to: to)
        report.shadowColumns = query["shadow"] != nil
        guard report.rowCount <= options.maxReportRows else {
            throw tooManyRows(Int64(report.rowCount), what: "rows (tenants × hours)")
        }
        let chunks = json ? report.jsonChunks() : report.csvChunks()
        return streamed(chunks, type: json ? "application/json" : "text/csv; charset=utf-8")
    }

    /// `GET /v1/audit.csv?tenant=T[&tool=X&from=TS&to=TS]`: byte-identical to `breakerctl audit`;
    /// refused with `400` when it has more than ``ServeOptions/maxReportRows`` rows.
    func audit(_ request: Request) async throws -> Response {
        let query = try Query(request, allowed: ["tenant", "tool", "from", "to"])
        guard let tenant: TenantID = try query.name("tenant") else {
            throw APIError.badRequest("say whose timeline: ?tenant=NAME")
        }
        let tool: ToolID? = try query.name("tool")
        let (from, to) = (try query.time("from"), try query.time("to"))
        try Query.checkRange(from, to)
        try await owner.breaker.flush()
        try requireKnown(tenant)
        let timeline = try auditTimeline(tenant: tenant, tool: tool, from: from, to: to)
        return streamed(timeline.csvChunks(), type: "text/csv; charset=utf-8")
    }

    private func auditTimeline(tenant: TenantID, tool: ToolID?, from: Timestamp?, to: Timestamp?) throws -> AuditTimeline {
        do {
            return try reader.auditTimeline(tenant: tenant, tool: tool, from: from, to: to, maxRows: options.maxReportRows)
        } catch {
            guard error.code == .tooLarge else { throw error }
            throw APIError.badRequest(
                "the audit covers more than \(options.maxReportRows) rows (--max-report-rows); narrow it with tool, from and to")
        }
    }

    /// `404` naming the closest known names when the store has never seen `tenant`, rather than
    /// an empty report for a mistyped name.
    func requireKnown(_ tenant: TenantID) throws(APIError) {
        do {
            // The store's path is the operator's business, not an HTTP client's.
            try reader.requireKnownTenant(tenant, in: "this service's store")
        } catch {
            throw APIError(.notFound, error.message)
        }
    }

    private func tooManyRows(_ n: Int64, what: String) -> APIError {
        APIError.badRequest(
            "the report covers \(n) \(what), more than the \(options.maxReportRows) this service answers (--max-report-rows); ask for a shorter range with from and to, or one tenant at a time"
        )
    }

    /// An answer written as its pieces are made. The work stops when the client goes away (the
    /// write throws) or the service stops (the answer is cut short, not ended as if complete).
    private func streamed(_ chunks: some Sequence<String> & Sendable, type: String) -> Response {
        let stopping = self.stopping
        let body = ResponseBody { writer in
            var pending = ""
            for chunk in chunks {
                if Task.isCancelled || stopping.withLock({ $0 }) { throw CancellationError() }
                pending += chunk
                if pending.utf8.count >= 64 * 1024 {
                    try await writer.write(ByteBuffer(string: pending))
                    pending = ""
                }
            }
            if !pending.isEmpty { try await writer.write(ByteBuffer(string: pending)) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: type], body: body)
    }

    /// `GET /v1/events`: every record but calls, once durable, as server-sent events — `id:` its
    /// seq, `data:` its `export` line. `Last-Event-ID` (or `?after=SEQ`) resumes after that seq;
    /// `?last=N` starts with the latest N records (the dashboard); otherwise from the start.
    ///
    /// Pushed, not polled: the subscriber sleeps on the writer's ``RecordBell`` and, when records
    /// other than calls become durable, takes only what is new from the server's ``EventFeed``
    /// (read from the store once for every subscriber, rendered once). It ends at once when
    /// its client goes away or the service stops; a client that does not read fills its
    /// connection's bounded buffer and is disconnected after ``ServeOptions/eventWriteTimeout``.
    func events(_ request: Request, channel: any Channel) throws -> Response {
        let query = try Query(request, allowed: ["after", "last"])
        var after: Int64 = 0
        if let header = request.headers[.lastEventID] ?? query["after"] {
            guard let seq = Int64(header), seq >= 0 else {
                throw APIError.badRequest("Last-Event-ID (or after) must be a seq, a whole number ≥ 0")
            }
            after = seq
        } else if let text = query["last"] {
            guard let n = Int(text), (1...10_000).contains(n) else { throw APIError.badRequest("last must be a number from 1 to 10000") }
            after = try latestSeq(keeping: n)
        }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        if request.method == .head { return Response(status: .ok, headers: headers) }
        let start = after
        let feed = self.feed
        let bell = owner.writer.records
        let subscribers = self.subscribers
        let writeTimeout = options.eventWriteTimeout
        let body = ResponseBody { writer in
            let waiter = bell.waiter()
            guard subscribers.join(waiter) else { return try await writer.finish(nil) }
            defer { subscribers.leave(waiter) }
            channel.whenClientGone { waiter.cancel() }
            // Records up to `cursor` have been read; the last one sent is the client's resume point.
            var cursor = start
            try await Self.write(": tenant-breaker events\n\n", to: &writer, on: channel, within: writeTimeout)
            while !waiter.isCancelled && !Task.isCancelled {
                let known = bell.seq
                let records = try await feed.read(after: cursor, known: known, limit: 1000)
                if records.isEmpty {
                    cursor = max(cursor, known)
                    if bell.stopped { break }
                    let before = bell.seq
                    await waiter.wait(after: cursor, timeout: .seconds(15))
                    if bell.seq == before && !waiter.isCancelled && !bell.stopped {
                        // Nothing for 15 s: keeps proxies from closing a quiet stream.
                        try await Self.write(": quiet\n\n", to: &writer, on: channel, within: writeTimeout)
                    }
                    continue
                }
                let chunk = records.map(\.text).joined()
                cursor = records.last!.seq
                try await Self.write(chunk, to: &writer, on: channel, within: writeTimeout)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Writes `text`, or throws when the client has not taken it within `timeout`: a subscriber
    /// that does not read is disconnected rather than buffered for without bound.
    private static func write(
        _ text: String, to writer: inout any ResponseBodyWriter, on channel: any Channel, within timeout: Duration
    ) async throws {
        let buffer = ByteBuffer(string: text)
        // The connection's buffer is bounded (the channel's write watermarks): a write waits
        // while it is full. One that waits past the timeout closes the connection, which ends it.
        let stalled = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000)) {
            channel.close(promise: nil)
        }
        defer { stalled.cancel() }
        try await writer.write(buffer)
    }

    /// The seq after which the latest `n` records other than calls begin.
    private func latestSeq(keeping n: Int) throws -> Int64 { try reader.seqBeforeLatestRecords(n) }
}

/// The records the event streams carry, read from the store once for all of them: the latest
/// are kept rendered in a ring, so a subscriber at the head costs no read of its own; one that is
/// behind (resuming from an old `Last-Event-ID`) reads the store. Reads run on a queue of their
/// own (blocking SQLite reads stay off the cooperative pool), with one set of names and keys.
final class EventFeed: @unchecked Sendable {
    /// One record as an event-stream message.
    struct Message: Sendable {
        let seq: Int64
        let text: String
    }

    private static let ringCapacity = 4096
    private let queue = DispatchQueue(label: "tenant-breaker.events", qos: .utility)
    private let store: EventStore
    /// Touched only on `queue`.
    private var tail = EventTail()

    /// The latest records, in seq order: every record after `floor` up to `head` is in `ring`.
    private struct Ring {
        var messages: [Message] = []
        var floor: Int64 = 0
        var head: Int64 = 0
        var started = false

        /// Up to `limit` messages after `seq`, when the ring holds them all up to `known`.
        func messages(after seq: Int64, known: Int64, limit: Int) -> [Message]? {
            guard started, head >= known, seq >= floor else { return nil }
            let first = messages.partitioningIndex { $0.seq > seq }
            return Array(messages[first..<min(messages.count, first + limit)])
        }
    }
    private let ring = Locked(Ring())

    init(_ store: EventStore) { self.store = store }

    /// Up to `limit` records after `seq`; `known` is a seq the writer has made durable. A
    /// subscriber at the head is answered from the ring at once; the store is read on the queue.
    func read(after seq: Int64, known: Int64, limit: Int) async throws -> [Message] {
        if let ready = ring.withLock({ $0.messages(after: seq, known: known, limit: limit) }) { return ready }
        return try await withCheckedThrowingContinuation { c in
            queue.async {
                c.resume(with: Result { try self.readOnQueue(after: seq, known: known, limit: limit) })
            }
        }
    }

    private func readOnQueue(after seq: Int64, known: Int64, limit: Int) throws -> [Message] {
        var state = ring.withLock { $0 }
        if !state.started {
            // The ring starts at the log's end as the first subscriber finds it; what is before is
            // read from the store.
            state.head = try store.lastRecordSeq()
            state.floor = state.head
            state.started = true
        }
        var added: [Message] = []
        while state.head < known {
            let batch = try render(store.readRecords(after: state.head, limit: 1000, tail: &tail))
            added.append(contentsOf: batch)
            state.head = max(known, batch.last?.seq ?? known)
            if batch.count < 1000 { break }
        }
        let (head, floor) = (state.head, state.floor)
        let answer = ring.withLock { r -> [Message]? in
            // Only this queue changes the ring's bounds: it is as read above, plus `added`.
            if !r.started { r = state }
            r.messages.append(contentsOf: added)
            r.head = head
            if r.messages.count > Self.ringCapacity {
                let dropped = r.messages.count - Self.ringCapacity
                r.floor = r.messages[dropped - 1].seq
                r.messages.removeFirst(dropped)
            } else {
                r.floor = max(r.floor, floor)
            }
            return r.messages(after: seq, known: known, limit: limit)
        }
        if let answer { return answer }
        // Behind the ring: from the store.
        return try render(store.readRecords(after: seq, limit: limit, tail: &tail))
    }

    private func render(_ records: [LoggedEvent]) throws -> [Message] {
        try records.map { e in
            Message(seq: e.seq, text: "id: \(e.seq)\ndata: \(try JSONText.encode(ExportLine(seq: e.seq, event: e.event)))\n\n")
        }
    }
}

extension Array {
    /// The first index whose element satisfies `belongs`, all later ones satisfying it too.
    fileprivate func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if belongs(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

/// The event-stream subscribers of a server, ended all at once when it stops.
final class Subscribers: Sendable {
    private let state = Locked((stopped: false, waiters: [Int: RecordBell.Waiter]()))
    /// `agent_circuit_breaker_event_subscribers`: the streams open now.
    private let gauge: any RecorderHandler

    init(gauge: any RecorderHandler) { self.gauge = gauge }

    /// Adds `waiter`; `false` once the server is stopping.
    func join(_ waiter: RecordBell.Waiter) -> Bool {
        state.withLock { s in
            guard !s.stopped else { return false }
            s.waiters[waiter.id] = waiter
            gauge.record(Int64(s.waiters.count))
            return true
        }
    }

    func leave(_ waiter: RecordBell.Waiter) {
        state.withLock { s in
            s.waiters[waiter.id] = nil
            gauge.record(Int64(s.waiters.count))
        }
        waiter.leave()
    }

    var count: Int { state.withLock { $0.waiters.count } }

    /// Ends every subscriber's stream now, and those that come later at once.
    func stopAll() {
        let all = state.withLock { s in
            s.stopped = true
            return Array(s.waiters.values)
        }
        for w in all { w.cancel() }
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}

extension BreakerServer {
    /// `GET /v1/slo[?tenant=T]`: `breakerctl slo --format json` (SPEC §16), every call answered so
    /// far counted. A tenant without an objective answers `404` naming how to set one.
    func objectives(_ request: Request) async throws -> Response {
        let query = try Query(request, allowed: ["tenant"])
        let tenant: TenantID? = try query.name("tenant")
        let configuration = owner.breaker.configuration
        if let tenant {
            try await owner.breaker.flush()
            try requireKnown(tenant)
        }
        if let tenant, configuration.objective(for: tenant) == nil {
            throw APIError(
                .notFound,
                "tenant \(tenant.rawValue) has no objective: configure \"slo\" (every tenant) or \"tenants\": {\"\(tenant.rawValue)\": {\"slo\": {\"objective\": 99.5}}}"
            )
        }
        try await owner.breaker.flush()
        let statuses = try reader.objectiveStatuses(tenant: tenant, configuration: configuration, at: nil)
        return HTTPAnswer.jsonText(
            "[" + statuses.map { try! JSONText.encode(ObjectiveStatus.JSONRow($0)) }.joined(separator: ",\n") + "]\n")
    }

    /// The error-budget series of a scrape (SPEC §16): per tenant with an objective,
    /// `agent_tenant_slo_budget_remaining` and `agent_tenant_slo_burn_rate{window}`.
    func objectiveMetrics() -> [UInt8] {
        let configuration = owner.breaker.configuration
        guard configuration.slo != nil || !configuration.tenantSettings.isEmpty,
            let statuses = try? reader.objectiveStatuses(tenant: nil, configuration: configuration, at: nil), !statuses.isEmpty
        else { return [] }
        var text = "# HELP agent_tenant_slo_budget_remaining \(MetricsRegistry.help("agent_tenant_slo_budget_remaining"))\n"
        text += "# TYPE agent_tenant_slo_budget_remaining gauge\n"
        for s in statuses {
            text +=
                "agent_tenant_slo_budget_remaining{\(MetricsRegistry.render([("tenant_id", s.tenant.rawValue)]))} \(MetricsRegistry.text(s.budgetRemaining))\n"
        }
        text += "# HELP agent_tenant_slo_burn_rate \(MetricsRegistry.help("agent_tenant_slo_burn_rate"))\n"
        text += "# TYPE agent_tenant_slo_burn_rate gauge\n"
        for s in statuses {
            for w in ObjectiveStatus.BurnWindow.allCases {
                text +=
                    "agent_tenant_slo_burn_rate{\(MetricsRegistry.render([("tenant_id", s.tenant.rawValue), ("window", w.label)]))} \(MetricsRegistry.text(s.burn(w)))\n"
            }
        }
        return Array(text.utf8)
    }
}
