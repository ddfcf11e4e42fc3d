// Compiled by `tsc --noEmit --strict` in the tests: the declarations describe the client as used.
import { BreakerClient, isUnavailable, type Signal } from "../../Sources/tenantbreaker-js/index.js";

const breaker = new BreakerClient({ baseUrl: "http://127.0.0.1:8710", onError: "signal" });

async function search(query: string, limit: number): Promise<string[]> {
  return [query.repeat(limit)];
}

const guarded: (query: string, limit: number) => Promise<string[] | Signal> = breaker.wrap("web_search", search);

export async function turn(): Promise<string> {
  return breaker.turn("acme", "t-1", async () => {
    const result = await guarded("q", 2);
    if (isUnavailable(result)) return result.message;
    const first: string = result[0];
    const note: string | null = await breaker.systemPromptNote();
    const explicit = await breaker.run("acme", "crm", "t-1", (signal: AbortSignal) => fetch("http://crm", { signal }).then((r) => r.status));
    const code: number | Signal = explicit;
    return first + (note ?? "") + String(code);
  });
}
