import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerStore
import HTTPTypes
import Hummingbird
import NIOCore

extension BreakerServer {
    /// `GET /v1/report.csv?tenant=T` (or `?all=1`), `&from=H&to=H`: byte-identical to
    /// `breakerctl report` once every call answered so far is durable; `/v1/report.json` as
    /// `breakerctl report --format json`. Refused with `400` when it covers more than
    /// ``ServeOptions/maxReportRows`` rows (tenants × hours); streamed otherwise.
    func report(_ request: Request, json: Bool) async throws -> Response {
        let query = try Query(request, allowed: ["tenant", "all", "from", "to"])
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
        let report = try reader.slaReport(tenant: tenant, from: from, to: to)
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
    func events(_ request: Request) throws -> Response {
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
        let start = after
        let reader = self.reader
        let interval = options.eventInterval
        let stopping = self.stopping
        let body = ResponseBody { writer in
            var after = start
            var quiet = ContinuousClock.now
            // The first write answers at once: the records so far (the backlog) after a comment.
            var chunk = ": tenant-breaker events\n\n"
            while !stopping.withLock({ $0 }) && !Task.isCancelled {
                var count = 0
                try reader.forEachEvent(EventFilter(afterSeq: after, kinds: .rare)) { e in
                    guard count < 1000 else { return }
                    chunk += "id: \(e.seq)\ndata: \(try JSONText.encode(ExportLine(seq: e.seq, event: e.event)))\n\n"
                    after = e.seq
                    count += 1
                }
                if !chunk.isEmpty {
                    try await writer.write(ByteBuffer(string: chunk))
                    chunk = ""
                    quiet = .now
                    if count == 1000 { continue }
                } else if ContinuousClock.now - quiet > .seconds(15) {
                    // Keeps proxies from closing a quiet stream.
                    try await writer.write(ByteBuffer(string: ": quiet\n\n"))
                    quiet = .now
                }
                try await Task.sleep(for: interval)
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// The seq after which the latest `n` records other than calls begin.
    private func latestSeq(keeping n: Int) throws -> Int64 {
        var ring: [Int64] = []
        ring.reserveCapacity(n)
        var head = 0
        try reader.forEachEvent(EventFilter(kinds: .rare)) { e in
            if ring.count < n {
                ring.append(e.seq)
            } else {
                ring[head] = e.seq
                head = (head + 1) % n
            }
        }
        guard ring.count == n else { return 0 }
        return ring[head] - 1
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
