import BreakerCore
import BreakerTestSupport
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A `breakerctl serve --fleet` node in a directory of its own, driven over HTTP.
final class ServeNode: @unchecked Sendable {
    // Safety: `output` is appended by the pipe's handler and read under its lock.
    let name: String
    let db: String
    let process = Process()
    private let output = Locked("")
    private(set) var port = 0

    var log: String { output.withLock { $0 } }

    /// Starts a node (without `--config` when `config` is `nil`); `environment` is added to the
    /// test's own (`LD_PRELOAD` of libfaketime, for one).
    static func start(_ name: String, fleet: String, dir: String, config: String?, environment: [String: String] = [:]) throws
        -> ServeNode
    {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let node = ServeNode(name: name, db: dir + "/\(name).sqlite")
        let configPath = dir + "/\(name).json"
        try config?.write(toFile: configPath, atomically: true, encoding: .utf8)
        let tokenPath = dir + "/\(name).token"
        try Self.operatorToken.write(toFile: tokenPath, atomically: true, encoding: .utf8)
        let arguments =
            ["serve", "--port", "0", "--db", node.db, "--fleet", fleet, "--node", name, "--operator-token-file", tokenPath]
            + (config == nil ? [] : ["--config", configPath])
        if environment.isEmpty {
            node.process.executableURL = CLI.binary
            node.process.arguments = arguments
        } else {
            // Started directly with libfaketime preloaded, breakerctl sees no arguments at all; exec'd
            // by a shell that has it preloaded, it sees them.
            node.process.executableURL = URL(fileURLWithPath: "/bin/sh")
            node.process.arguments = ["-c", #"exec "$0" "$@""#, CLI.binary.path] + arguments
        }
        var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        env.removeValue(forKey: "BREAKER_DB")
        node.process.environment = env
        let pipe = Pipe()
        node.process.standardOutput = FileHandle.nullDevice
        node.process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak node] h in
            let d = h.availableData
            guard let node, !d.isEmpty else { return }
            node.output.withLock { $0 += String(decoding: d, as: UTF8.self) }
        }
        try node.process.run()
        return node
    }

    /// The operator token every node of a test is started with.
    static let operatorToken = "operator-" + String(repeating: "f", count: 40)

    private init(name: String, db: String) {
        self.name = name
        self.db = db
    }

    func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Stops the node as an operator would (SIGTERM) and waits for it to exit.
    func stop() async throws {
        guard process.isRunning else { return }
        process.terminate()
        try await waitForExit(process, "\(name) to stop after SIGTERM", within: .seconds(30))
    }

    /// Waits until the node's standard error says `text` (and it listens).
    func waitForLog(_ text: String, within: Duration = .seconds(60)) async throws {
        try await waitUntil("\(name) to say \(text)", within: within, poll: .milliseconds(20)) {
            guard process.isRunning else {
                let how = process.terminationReason == .uncaughtSignal ? "was killed by signal" : "exited with status"
                throw NodeFailure("\(name) \(how) \(process.terminationStatus): \(log)")
            }
            return log.contains(text) && log.contains("listening on")
        }
        let line = log.split(separator: "\n").first { $0.contains("listening on") }!
        port = Int(line.split(separator: ":")[3].prefix { $0.isNumber })!
    }

    /// GETs `path`; returns the status and the body.
    func get(_ path: String) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    /// `/readyz`'s status and its `fleet` field.
    func readiness() async throws -> (Int, String?) {
        let (status, body) = try await get("/readyz")
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        return (status, object?["fleet"] as? String)
    }

    /// The value of an unlabelled series on `/metrics`.
    func metric(_ name: String) async throws -> Double? {
        let (_, text) = try await get("/metrics")
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ")[1]) }
    }

    /// Successful calls of (tenant, tool), one after another, for `duration` or `limit` calls;
    /// returns each admit + complete pair's time.
    func load(tenant: String, tool: String, for duration: Duration, limit: Int = 20_000) async throws -> [Duration] {
        var times: [Duration] = []
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end && times.count < limit {
            let start = ContinuousClock.now
            let (status, admitted) = try await post("/v1/admit", ["tenant": tenant, "tool": tool, "turn": "\(name)-load-\(times.count)"])
            guard status == 200, let permit = admitted["permit"] as? String else {
                throw NodeFailure("admit answered \(status): \(admitted)")
            }
            _ = try await post("/v1/complete", ["permit": permit, "outcome": "success"])
            times.append(ContinuousClock.now - start)
        }
        return times
    }

    /// The seq of every record this node shares with the fleet (all but calls and log gaps), from its export.
    func factSeqs() throws -> [Int] {
        try export().filter { !["call", "log_gap"].contains($0["kind"] as? String ?? "") }.compactMap { $0["seq"] as? Int }
    }

    /// POSTs `body` to `path`; returns the status and the JSON answer.
    func post(_ path: String, _ body: [String: Any]) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if path.hasPrefix("/v1/operator/") { request.setValue("Bearer \(Self.operatorToken)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as! HTTPURLResponse).statusCode, object)
    }

    /// `times` calls of (tenant, tool) that fail.
    func fail(tenant: String, tool: String, times: Int) async throws {
        for i in 0..<times {
            let (status, admitted) = try await post("/v1/admit", ["tenant": tenant, "tool": tool, "turn": "\(name)-fail-\(i)"])
            guard status == 200, let permit = admitted["permit"] as? String else { throw NodeFailure("admit: \(admitted)") }
            let (done, answer) = try await post("/v1/complete", ["permit": permit, "outcome": "failure", "error_type": "VendorDown"])
            guard done == 200 else { throw NodeFailure("complete answered \(done): \(answer)") }
        }
    }

    /// Whether an admission of (tenant, tool) is rejected now; an admitted call is completed as a success.
    func isRejected(tenant: String, tool: String) async throws -> Bool {
        let (_, answer) = try await post("/v1/admit", ["tenant": tenant, "tool": tool, "turn": "\(name)-look-\(UUID().uuidString)"])
        guard let permit = answer["permit"] as? String else { return answer["admitted"] as? Bool == false }
        _ = try await post("/v1/complete", ["permit": permit, "outcome": "success"])
        return false
    }

    /// The node's store as `breakerctl export` writes it, one object a record.
    func export() throws -> [[String: Any]] {
        let r = try CLI.process(["export", "--db", db])
        return r.text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }
}

extension ServeNode {
    /// Starts the nodes `names` of the fleet at `pg`, each with its store in `dir` and `config`, and
    /// returns them once each has joined (killed, should one not).
    static func joined(_ names: [String], fleet pg: PostgresCluster, dir: String, config: String?) async throws -> [ServeNode] {
        let nodes = try names.map { try ServeNode.start($0, fleet: pg.url, dir: dir, config: config) }
        do {
            for n in nodes { try await n.waitForLog("joined the fleet") }
        } catch {
            for n in nodes { n.kill() }
            throw error
        }
        return nodes
    }
}

/// A node that did not do what the test asked.
struct NodeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
