// The TypeScript/JavaScript client against a real `breakerctl serve`: `node --test Tests/TypeScriptClient/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { BreakerClient, isUnavailable } from "../../Sources/tenantbreaker-js/index.js";
import { startServe, ROOT } from "./serve.mjs";

const OUTAGE = { defaults: { failureThreshold: 2, openTimeoutMs: 600000 }, tools: { slow: { latencyThresholdMs: 60000, callTimeoutMs: 300 } } };

class VendorDown extends Error {}

const callsOf = (serve, tool) => serve.export().filter((r) => r.kind === "call" && r.tool === tool)
  .map((r) => [r.tenant, r.turn, r.outcome, r.reason]);

test("an async tool that throws is a failure and opens the circuit", async () => {
  const serve = await startServe(OUTAGE);
  try {
    const breaker = new BreakerClient({ baseUrl: serve.url });
    const search = async () => { throw new VendorDown("503"); };
    for (const turn of ["t-0", "t-1"]) {
      await assert.rejects(breaker.run("acme", "web_search", turn, search), VendorDown);
    }
    const rejected = await breaker.run("acme", "web_search", "t-2", search);
    assert.ok(isUnavailable(rejected) && rejected.reason === "circuit_open", JSON.stringify(rejected));
    assert.equal(await breaker.run("globex", "web_search", "g-1", async () => "results"), "results");
    assert.equal(serve.states()["acme/web_search"], "open");
    assert.deepEqual(callsOf(serve, "web_search").slice(0, 2), [
      ["acme", "t-0", "failure", "tool_call_exception:VendorDown"], ["acme", "t-1", "failure", "tool_call_exception:VendorDown"]]);
  } finally { await serve.stop(); }
});

test("a slow tool's AbortSignal fires at its deadline and the call is recorded as a timeout", async () => {
  const serve = await startServe(OUTAGE);
  try {
    const breaker = new BreakerClient({ baseUrl: serve.url });
    let abortedAt;
    const started = performance.now();
    const result = await breaker.run("acme", "slow", "t-1", (signal) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve("late"), 5000);
      signal.addEventListener("abort", () => { abortedAt = performance.now(); clearTimeout(timer); });
    }));
    const elapsed = performance.now() - started;
    assert.ok(isUnavailable(result) && result.reason === "tool_call_timeout", JSON.stringify(result));
    assert.ok(elapsed >= 290 && elapsed < 3000, `answered at the 300 ms deadline (${elapsed.toFixed(0)} ms)`);
    assert.ok(abortedAt !== undefined && abortedAt - started >= 290, "the tool's AbortSignal fired at the deadline");
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !callsOf(serve, "slow").some((c) => c[2] === "timeout")) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(callsOf(serve, "slow"), [["acme", "t-1", "timeout", "tool_call_timeout"]]);
  } finally { await serve.stop(); }
});

test("with the service stopped mid-run tools run unguarded and nothing throws", async () => {
  const serve = await startServe(OUTAGE);
  const warnings = [];
  const breaker = new BreakerClient({ baseUrl: serve.url, timeoutMs: 2000, warn: (w) => warnings.push(w) });
  const search = breaker.wrap("web_search", async (query) => `results for ${query}`);
  assert.equal(await breaker.turn("acme", "t-1", () => search("before")), "results for before");
  await serve.stop();
  const results = await breaker.turn("acme", "t-2", async () => {
    const out = [];
    for (let i = 0; i < 5; i++) out.push(await search(`q${i}`));
    assert.deepEqual(await breaker.unavailableTools(), []);
    assert.equal(await breaker.systemPromptNote(), null);
    return out;
  });
  assert.deepEqual(results, [0, 1, 2, 3, 4].map((i) => `results for q${i}`));
  assert.equal(warnings.length, 1, `one warning, at most every 10 s: ${warnings}`);
  assert.match(warnings[0], /running tools unguarded/);
  const strict = new BreakerClient({ baseUrl: serve.url, failOpen: false, timeoutMs: 2000 });
  await assert.rejects(strict.run("acme", "web_search", "t-3", async () => "x"), { name: "BreakerUnavailable" });
});

// The local ports of this process's established TCP connections to `port` (/proc/net/tcp:
// remote port, state 01).
function connectionsTo(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/self/net/tcp", "utf8").split("\n").slice(1).map((line) => line.trim().split(/\s+/))
    .filter((f) => f[2]?.endsWith(":" + hex) && f[3] === "01").map((f) => f[1]);
}

test("one kept-alive connection carries many calls", async () => {
  const serve = await startServe();
  try {
    const breaker = new BreakerClient({ baseUrl: serve.url });
    const seen = new Set();
    for (let i = 0; i < 50; i++) {
      assert.equal(await breaker.run("acme", "web_search", `t-${i}`, () => "ok"), "ok");
      for (const local of connectionsTo(serve.port)) seen.add(local);
    }
    assert.equal(seen.size, 1, `100 requests over ${seen.size} connections`);
    assert.equal(serve.export().filter((r) => r.kind === "call").length, 50);
  } finally { await serve.stop(); }
});

test("wrap keeps the function's name and arity; the turn comes from the scope", async () => {
  const serve = await startServe(OUTAGE);
  try {
    const breaker = new BreakerClient({ baseUrl: serve.url });
    async function lookup(accountId, fields) { return `${accountId}:${fields}:${breaker.abortSignal() instanceof AbortSignal}`; }
    const guarded = breaker.wrap("crm_lookup", lookup);
    assert.equal(guarded.name, "lookup");
    assert.equal(guarded.length, 2);
    assert.equal(await breaker.turn("acme", "turn-7", () => guarded("a-1", 2)), "a-1:2:true");
    await breaker.turn("globex", "turn-8", async () => {
      await Promise.all([guarded("g-1", 1), guarded("g-2", 1)]);
    });
    assert.deepEqual(callsOf(serve, "crm_lookup").map((c) => c.slice(0, 3)),
      [["acme", "turn-7", "success"], ["globex", "turn-8", "success"], ["globex", "turn-8", "success"]]);
  } finally { await serve.stop(); }
});

test("the type declarations compile with tsc --noEmit --strict", { skip: !existsSync("/usr/bin/tsc") && "tsc (Debian's node-typescript) is not installed; bash .ci/run installs it" }, () => {
  execFileSync("tsc", ["--noEmit", "--strict", "--target", "es2022", "--lib", "es2022,dom", "--module", "nodenext",
    "--moduleResolution", "nodenext", join(ROOT, "Tests", "TypeScriptClient", "usage.mts")], { encoding: "utf8" });
});
