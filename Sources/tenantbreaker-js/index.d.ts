/** SPEC §5's degradation signal: handed to the model as the tool's result. */
export interface Signal {
  status: "tool_unavailable";
  tool_name: string;
  /** `circuit_open`, `half_open_probe_in_flight`, `forced_open`, `awaiting_health_probe`,
   * `tool_call_timeout` or `tool_call_exception:<ErrorTypeName>`. */
  reason: string;
  message: string;
  retry_after_seconds: number;
}

export type Admission =
  | { admitted: true; permit: string; call_timeout_ms: number; probe: boolean; shadow?: string }
  | { admitted: false; signal: Signal };

export interface Completion {
  recorded: "success" | "failure" | "cancelled" | "timeout";
  stale?: boolean;
  state?: "closed" | "open" | "half_open" | "forced_open";
  retry_after_seconds?: number;
}

export interface UnavailableTool {
  tool_name: string;
  reason: string;
  retry_after_seconds: number;
}

export interface ReportRow {
  tenant: string;
  hour_start: string;
  turns: number;
  turns_blocked: number;
  turns_degraded: number;
  calls: number;
  calls_blocked: number;
  calls_failed: number;
  calls_timed_out: number;
  open_seconds: number;
  availability_pct: number | null;
  [column: string]: unknown;
}

export interface Turn {
  tenant: string;
  turn: string;
}

export interface BreakerClientOptions {
  /** Default `http://127.0.0.1:8710`. */
  baseUrl?: string;
  /** The agent token (or the operator token, for operator actions). */
  token?: string;
  /** The longest a request to the service may take, ms (default 5000). */
  timeoutMs?: number;
  /** Run tools unguarded when the service cannot be reached (default true). */
  failOpen?: boolean;
  /** A tool's own error: rethrown (default), or returned as its failure signal. */
  onError?: "throw" | "signal";
  /** Where the fail-open warning goes (at most every 10 s); default console.warn. */
  warn?: (text: string) => void;
  fetch?: typeof fetch;
}

export declare function isUnavailable(result: unknown): result is Signal;
export declare function timeoutSignal(tool: string, retryAfterSeconds?: number): Signal;
export declare function failureSignal(tool: string, errorType: string, retryAfterSeconds?: number): Signal;
export declare function errorType(error: unknown): string;

export declare class BreakerError extends Error {
  constructor(status: number, message: string);
  readonly status: number;
}

export declare class BreakerUnavailable extends Error {
  constructor(message: string);
}

export declare class BreakerClient {
  constructor(options?: BreakerClientOptions);
  readonly baseUrl: string;
  readonly failOpen: boolean;

  /** Runs `fn` as one turn of `tenant`: the tool calls inside belong to it. */
  turn<T>(tenant: string, turn: string, fn: () => T): T;
  currentTurn(): Turn | undefined;
  /** The AbortSignal of the guarded call running now (aborted at its deadline). */
  abortSignal(): AbortSignal | undefined;

  admit(tenant: string, tool: string, turn: string): Promise<Admission>;
  complete(permit: string, outcome: "success" | "failure" | "cancelled", errorType?: string): Promise<Completion>;
  run<T>(tenant: string, tool: string, turn: string, fn: (signal: AbortSignal) => T | Promise<T>): Promise<T | Signal>;
  call<T>(tool: string, fn: (signal: AbortSignal) => T | Promise<T>): Promise<T | Signal>;
  wrap<A extends unknown[], R>(
    tool: string,
    fn: (...args: A) => R | Promise<R>,
    options?: { onError?: "throw" | "signal" },
  ): (...args: A) => Promise<R | Signal>;
  unavailableTools(tenant?: string): Promise<UnavailableTool[]>;
  systemPromptNote(tenant?: string): Promise<string | null>;

  forceOpen(action: { tool: string; actor: string; reason: string; tenant?: string; hold?: boolean }): Promise<unknown>;
  release(action: { tool: string; actor: string; reason: string; tenant?: string }): Promise<unknown>;
  reset(action: { tenant: string; tool: string; actor: string; reason: string }): Promise<unknown>;
  configure(change: { config: object; actor: string; reason: string }): Promise<unknown>;
  report(query?: { tenant?: string; from?: string; to?: string; shadow?: boolean }): Promise<ReportRow[]>;
  reportCsv(query?: { tenant?: string; from?: string; to?: string; shadow?: boolean }): Promise<string>;
  auditCsv(query: { tenant: string; tool?: string; from?: string; to?: string }): Promise<string>;
}
