// TenantBreaker's client for Node ≥ 18: every tool call of an agent under a circuit breaker for
// its (tenant, tool), served by `breakerctl serve`. No dependencies: the global fetch (whose
// connections Node keeps alive and reuses) and AsyncLocalStorage for the turn's context.
import { AsyncLocalStorage } from "node:async_hooks";

const turns = new AsyncLocalStorage();
const calls = new AsyncLocalStorage();

/** Whether `result` is the degradation signal of SPEC §5 rather than the tool's own result. */
export function isUnavailable(result) {
  return result !== null && typeof result === "object" && result.status === "tool_unavailable"
    && typeof result.reason === "string" && "retry_after_seconds" in result;
}

function message(tool, why, retryAfterSeconds) {
  const when = retryAfterSeconds > 0 ? ` It may be available again in about ${retryAfterSeconds} s.` : "";
  return `The tool '${tool}' is temporarily unavailable because ${why}.${when} Re-plan your approach without this tool, or tell the user that this capability is limited right now.`;
}

/** The signal of a call abandoned at its call timeout. */
export function timeoutSignal(tool, retryAfterSeconds = 0) {
  return { status: "tool_unavailable", tool_name: tool, reason: "tool_call_timeout",
    message: message(tool, "this call took too long and was abandoned", retryAfterSeconds), retry_after_seconds: retryAfterSeconds };
}

/** The signal of a call whose tool threw. */
export function failureSignal(tool, errorType, retryAfterSeconds = 0) {
  return { status: "tool_unavailable", tool_name: tool, reason: `tool_call_exception:${errorType}`,
    message: message(tool, "this call failed", retryAfterSeconds), retry_after_seconds: retryAfterSeconds };
}

/** The name recorded for a tool's error: its constructor's name (at most 128 bytes). */
export function errorType(error) {
  const name = (error && error.constructor && error.constructor.name) || (error && error.name) || "Error";
  return Buffer.from(name, "utf8").subarray(0, 128).toString("utf8").replace(/\uFFFD+$/, "") || "Error";
}

/** The service refused a request (4xx). */
export class BreakerError extends Error {
  constructor(status, message) {
    super(`${status}: ${message}`);
    this.name = "BreakerError";
    this.status = status;
  }
}

/** The service could not be reached, or answered with a server error. */
export class BreakerUnavailable extends Error {
  constructor(message) {
    super(message);
    this.name = "BreakerUnavailable";
  }
}

const DEADLINE = Symbol("deadline");

export class BreakerClient {
  /**
   * Every agent-side method fails open: when the service cannot be reached (or refuses the
   * request) the tool runs unguarded, `unavailableTools` is empty and `systemPromptNote` null,
   * with a warning at most every 10 s; nothing throws into the agent's turn. `failOpen: false`
   * throws `BreakerUnavailable` instead. Operator actions and reports throw.
   */
  constructor({ baseUrl = "http://127.0.0.1:8710", token, timeoutMs = 5000, failOpen = true, onError = "throw",
    warn = (text) => console.warn(text), fetch: fetchImpl = globalThis.fetch } = {}) {
    if (onError !== "throw" && onError !== "signal") throw new TypeError('onError must be "throw" or "signal"');
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = token;
    this.timeoutMs = timeoutMs;
    this.failOpen = failOpen;
    this.onError = onError;
    this._warn = warn;
    this._fetch = fetchImpl;
    this._lastWarning = -Infinity;
    this._heldWarnings = 0;
  }

  /** Runs `fn` as one turn of `tenant`: the tool calls inside (awaited or not) belong to it. */
  turn(tenant, turn, fn) {
    return turns.run({ tenant, turn }, fn);
  }

  /** `{ tenant, turn }` of the innermost `turn`, or undefined. */
  currentTurn() {
    return turns.getStore();
  }

  /** The AbortSignal of the guarded call running now (aborted at its deadline), or undefined. */
  abortSignal() {
    return calls.getStore();
  }

  // -- the agent's side -----------------------------------------------------------------------

  /** `{admitted: true, permit, call_timeout_ms, probe}` or `{admitted: false, signal}`; throws. */
  admit(tenant, tool, turn) {
    return this._json("POST", "/v1/admit", { tenant, tool, turn });
  }

  /** Records how an admitted call ended: "success", "failure" or "cancelled"; throws. */
  complete(permit, outcome, errorType) {
    const body = { permit, outcome };
    if (errorType !== undefined) body.error_type = errorType;
    return this._json("POST", "/v1/complete", body);
  }

  /**
   * Runs `fn(abortSignal)` as one call of `tool` for `tenant` in `turn`. Resolves to its result,
   * or to the degradation signal when the call is rejected or passes its call timeout: then the
   * AbortSignal given to `fn` is aborted and the caller stops waiting (the service records a
   * timeout). A thrown error is recorded as a failure and rethrown (`onError: "signal"`: the
   * failure's signal instead).
   */
  async run(tenant, tool, turn, fn) {
    return this._guarded(tenant, tool, turn, fn, this.onError);
  }

  /** `run` with the tenant and turn of the current `turn`. */
  async call(tool, fn) {
    const scope = turns.getStore();
    if (!scope) {
      if (!this.failOpen) throw new BreakerUnavailable(`${tool}: no turn; run the agent's turn inside breaker.turn(tenant, turnId, fn)`);
      this._warnOpen(`${tool} called outside any breaker.turn(...)`, new Error("no tenant or turn"));
      return fn(new AbortController().signal);
    }
    return this._guarded(scope.tenant, tool, scope.turn, fn, this.onError);
  }

  /**
   * `fn` under the breaker as `tool`, with the same parameters; the tenant and turn come from the
   * current `turn`, the call's AbortSignal from `breaker.abortSignal()`.
   */
  wrap(tool, fn, { onError } = {}) {
    const client = this;
    const guarded = function (...args) {
      const scope = turns.getStore();
      const run = (signal) => calls.run(signal, () => fn.apply(this, args));
      if (!scope) return client.call(tool, run);
      return client._guarded(scope.tenant, tool, scope.turn, run, onError ?? client.onError);
    };
    Object.defineProperty(guarded, "name", { value: fn.name });
    Object.defineProperty(guarded, "length", { value: fn.length });
    return guarded;
  }

  /** The tools `tenant` (default: the current turn's) cannot use now; [] when the service is down. */
  async unavailableTools(tenant) {
    const found = await this._unavailable(tenant);
    return found ? found.tools : [];
  }

  /** A note for the agent's system prompt naming the tools that are down, or null. */
  async systemPromptNote(tenant) {
    const found = await this._unavailable(tenant);
    return found ? found.system_prompt_note : null;
  }

  // -- operators and reports (these throw) -------------------------------------------------------

  forceOpen({ tool, actor, reason, tenant, hold = false }) {
    return this._json("POST", "/v1/operator/force-open", { tool, actor, reason, tenant, hold });
  }

  release({ tool, actor, reason, tenant }) {
    return this._json("POST", "/v1/operator/release", { tool, actor, reason, tenant });
  }

  reset({ tenant, tool, actor, reason }) {
    return this._json("POST", "/v1/operator/reset", { tool, actor, reason, tenant });
  }

  configure({ config, actor, reason }) {
    return this._json("POST", "/v1/operator/configure", { config, actor, reason });
  }

  /** The SLA report's rows (SPEC §9) for `tenant`, or every tenant. */
  report({ tenant, from, to, shadow = false } = {}) {
    return this._json("GET", "/v1/report.json?" + reportQuery(tenant, from, to, shadow));
  }

  /** `breakerctl report`'s CSV, byte for byte. */
  reportCsv({ tenant, from, to, shadow = false } = {}) {
    return this._text("/v1/report.csv?" + reportQuery(tenant, from, to, shadow));
  }

  /** `breakerctl audit`'s CSV for `tenant`. */
  auditCsv({ tenant, tool, from, to }) {
    const q = new URLSearchParams({ tenant });
    if (tool) q.set("tool", tool);
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    return this._text("/v1/audit.csv?" + q);
  }

  // -- plumbing ---------------------------------------------------------------------------------

  async _guarded(tenant, tool, turn, fn, onError) {
    let admission;
    try {
      admission = await this.admit(tenant, tool, turn);
    } catch (error) {
      if (!this.failOpen || !(error instanceof BreakerUnavailable || error instanceof BreakerError)) throw error;
      this._warnOpen(`cannot admit ${tool} for ${tenant}`, error);
      return fn(new AbortController().signal);
    }
    if (!admission.admitted) return admission.signal;
    const controller = new AbortController();
    let timer;
    const deadline = new Promise((resolve) => {
      timer = setTimeout(() => { controller.abort(new Error(`${tool}: call timeout`)); resolve(DEADLINE); }, admission.call_timeout_ms);
    });
    let result;
    try {
      result = await Promise.race([Promise.resolve().then(() => fn(controller.signal)), deadline]);
    } catch (error) {
      clearTimeout(timer);
      const done = await this._completeQuietly(admission.permit, "failure", errorType(error));
      if (onError === "signal") return failureSignal(tool, errorType(error), done?.retry_after_seconds ?? 0);
      throw error;
    }
    clearTimeout(timer);
    if (result === DEADLINE) return timeoutSignal(tool);
    const done = await this._completeQuietly(admission.permit, "success");
    if (done && done.recorded === "timeout") return timeoutSignal(tool);
    return result;
  }

  async _completeQuietly(permit, outcome, type) {
    try {
      return await this.complete(permit, outcome, type);
    } catch (error) {
      this._warnOpen("cannot record a call's outcome", error);
      return null;
    }
  }

  async _unavailable(tenant) {
    tenant ??= turns.getStore()?.tenant;
    if (tenant === undefined) throw new TypeError("give the tenant, or call inside breaker.turn(tenant, turnId, fn)");
    try {
      return await this._json("GET", `/v1/tenants/${encodeURIComponent(tenant)}/unavailable-tools`);
    } catch (error) {
      if (!this.failOpen || !(error instanceof BreakerUnavailable || error instanceof BreakerError)) throw error;
      this._warnOpen(`cannot read the unavailable tools of ${tenant}`, error);
      return null;
    }
  }

  _warnOpen(what, error) {
    const now = performance.now();
    if (now - this._lastWarning < 10_000) {
      this._heldWarnings++;
      return;
    }
    const held = this._heldWarnings;
    this._heldWarnings = 0;
    this._lastWarning = now;
    this._warn(`tenantbreaker: ${what}; running tools unguarded: ${error.message}${held ? ` (${held} more since the last warning)` : ""}`);
  }

  async _request(method, path, body) {
    const headers = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    // A connection goes back to fetch's pool a turn of the event loop after its answer was
    // read: waiting for that turn lets the next request reuse it instead of opening another.
    await new Promise((resolve) => setImmediate(resolve));
    let response;
    try {
      response = await this._fetch(this.baseUrl + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new BreakerUnavailable(`cannot reach ${this.baseUrl}: ${error.cause?.message ?? error.message}`);
    }
    if (response.ok) return response;
    const text = await response.text();
    let reason = text;
    try { reason = JSON.parse(text).error ?? text; } catch { /* not JSON */ }
    if (response.status === 409) return new Response('{"recorded":"timeout"}');
    if (response.status === 429 || response.status >= 500) throw new BreakerUnavailable(`${this.baseUrl} answered ${response.status}: ${reason}`);
    throw new BreakerError(response.status, reason);
  }

  async _json(method, path, body) {
    return (await this._request(method, path, body)).json();
  }

  async _text(path) {
    return (await this._request("GET", path)).text();
  }
}

function reportQuery(tenant, from, to, shadow) {
  const q = new URLSearchParams(tenant === undefined ? { all: "1" } : { tenant });
  if (from) q.set("from", from);
  if (to) q.set("to", to);
  if (shadow) q.set("shadow", "1");
  return q.toString();
}
