public import BreakerCore

extension CircuitBreaker {
    /// Declares `tool`'s traits and optional health check, called with the tenant to probe.
    ///
    /// A `sideEffects` tool with a health check never uses a real call as a probe; without one
    /// it admits at most one real probe at a time (SPEC §6).
    public func register(
        tool: ToolID, sideEffects: Bool = false, healthCheck: (@Sendable (TenantID) async throws -> Void)? = nil
    ) {
        healthChecks.withLock { $0[tool] = healthCheck }
        inner.withLock {
            $0.machine.register(tool: tool, traits: ToolTraits(sideEffects: sideEffects, hasHealthCheck: healthCheck != nil))
        }
    }

    /// One round of the background prober: every OPEN key of a tool with a health check whose
    /// open timeout has elapsed moves to HALF_OPEN and runs the check as its probe (SPEC §5.3,
    /// §6). Returns the number of probes run.
    @discardableResult
    public func runHealthProbes() async -> Int {
        var started: [(BreakerKey, Permit)] = []
        var afters: [Aftermath] = []
        // One step per key, so that each key's facts carry their own effects.
        let due = inner.withLock { inner in
            inner.machine.keysDueForHealthProbe(at: Timestamp(milliseconds: max(now(&inner), inner.lastTime)))
        }
        for ref in due {
            let (permit, after) = step { m, now, facts in m.beginHealthProbe(ref, at: now, facts: &facts) }
            if let after { afters.append(after) }
            if let permit { started.append((inner.withLock { $0.machine.key(ref) }, permit)) }
        }
        let probeInterval = Duration.milliseconds(configuration.runtime.probeIntervalMs)
        for after in afters { _ = try? await finish(after, timeout: probeInterval) }
        let checks = healthChecks.withLock { $0 }
        await withTaskGroup(of: Void.self) { group in
            for (key, permit) in started {
                guard let check = checks[key.tool] else { continue }
                group.addTask {
                    let call = InFlightCall(permit: permit, admitted: self.ticks())
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
