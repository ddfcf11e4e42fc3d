public import BreakerCore

extension CircuitBreaker {
    /// Declares `tool`'s traits and optional health check, called with the tenant to probe.
    ///
    /// A `sideEffects` tool with a health check never uses a real call as a probe; without one
    /// it admits at most one real probe at a time (SPEC §6).
    ///
    /// What is registered here overrides the configuration's profile of the tool (its
    /// `sideEffects` and HTTP `healthCheck`).
    public func register(
        tool: ToolID, sideEffects: Bool = false, healthCheck: (@Sendable (TenantID) async throws -> Void)? = nil
    ) {
        healthChecks.withLock { $0[tool] = healthCheck }
        inner.withLock {
            $0.machine.register(tool: tool, traits: ToolTraits(sideEffects: sideEffects, hasHealthCheck: healthCheck != nil))
        }
    }

    /// Installs what runs the configuration's HTTP health checks (SPEC §6) — `serve` and
    /// `mcp-proxy` install one; a breaker without it probes only the checks registered in code.
    /// The function throws when the tool is not healthy; the prober cancels it at its timeout.
    public func installHTTPHealthChecks(_ run: @escaping @Sendable (HTTPHealthCheckSpec) async throws -> Void) {
        httpHealthCheck.withLock { $0 = run }
    }

    /// The check that probes `tool`, with the timeout it overrides: the one registered in code,
    /// else the configuration's HTTP check when a runner is installed; `nil`: none.
    private func healthCheck(
        of tool: ToolID, in configuration: BreakerConfiguration
    ) -> (check: @Sendable (TenantID) async throws -> Void, timeoutMs: Int64?)? {
        if let check = healthChecks.withLock({ $0[tool] }) { return (check, nil) }
        if inner.withLock({ $0.machine.registeredTraits(of: tool) }) != nil { return nil }
        guard let spec = configuration.toolProfiles[tool]?.healthCheck, let run = httpHealthCheck.withLock({ $0 }) else {
            return nil
        }
        return ({ _ in try await run(spec) }, spec.timeoutMs)
    }

    /// One round of the background prober: every OPEN key of a tool with a health check whose
    /// open timeout has elapsed moves to HALF_OPEN and runs the check as its probe (SPEC §5.3,
    /// §6). Returns the number of probes run.
    ///
    /// A configured HTTP check runs under its own `timeoutMs` when it has one, else under the
    /// key's callTimeoutMs; a key whose tool has no check this breaker can run is left alone.
    @discardableResult
    public func runHealthProbes() async -> Int {
        var started: [(BreakerKey, InFlightCall, @Sendable (TenantID) async throws -> Void)] = []
        var afters: [Aftermath] = []
        let configuration = self.configuration
        // One step per key, so that each key's facts carry their own effects.
        let due = inner.withLock { inner in
            inner.machine.keysDueForHealthProbe(at: Timestamp(milliseconds: max(now(&inner), inner.lastTime)))
        }
        var checks: [ToolID: (check: @Sendable (TenantID) async throws -> Void, timeoutMs: Int64?)?] = [:]
        for ref in due {
            let key = inner.withLock { $0.machine.key(ref) }
            if checks[key.tool] == nil { checks[key.tool] = .some(healthCheck(of: key.tool, in: configuration)) }
            guard let found = checks[key.tool], let (check, timeoutMs) = found else { continue }
            let (permit, after) = step { m, now, facts in m.beginHealthProbe(ref, at: now, facts: &facts) }
            if let after { afters.append(after) }
            guard var permit else { continue }
            if let timeoutMs {
                permit = Permit(
                    key: permit.key, turn: permit.turn, generation: permit.generation, probe: permit.probe,
                    admittedAt: permit.admittedAt, callTimeoutMs: timeoutMs, shadow: permit.shadow)
            }
            started.append((key, InFlightCall(permit: permit, admitted: ticks()), check))
        }
        let probeInterval = Duration.milliseconds(configuration.runtime.probeIntervalMs)
        for after in afters { _ = try? await finish(after, timeout: probeInterval) }
        await withTaskGroup(of: Void.self) { group in
            for (key, call, check) in started {
                let permit = call.permit
                group.addTask {
                    let (_, ending) = await self.race(call) { try await check(key.tenant) }
                    let recording = call.recording(ending, at: self.ticks())
                    let (_, after) = self.step(at: recording.time) { m, now, facts in
                        m.complete(permit, recording.outcome, at: now, facts: &facts)
                    }
                    _ = try? await self.finish(after, timeout: .milliseconds(permit.callTimeoutMs))
                }
            }
        }
        return started.count
    }
}
