// What `run()` adds to a tool call over loopback: p50 and p99 of a no-op tool's run, in µs.
//   node Tests/TypeScriptClient/run_latency.mjs [calls]
// BREAKERCTL names the binary (build it with `swift build -c release` for figures worth quoting).
import { BreakerClient } from "../../Sources/tenantbreaker-js/index.js";
import { startServe } from "./serve.mjs";

const calls = Number(process.argv[2] ?? 2000);
const serve = await startServe({ defaults: { latencyThresholdMs: 60000 } });
try {
  const breaker = new BreakerClient({ baseUrl: serve.url });
  const noop = async () => "ok";
  for (let i = 0; i < Math.min(200, calls); i++) await breaker.run("acme", "noop", `warm-${i}`, noop);
  const samples = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await breaker.run("acme", "noop", `t-${i}`, noop);
    samples.push((performance.now() - started) * 1000);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => Math.round(samples[Math.max(0, Math.floor(samples.length * q) - 1)] * 10) / 10;
  console.log(JSON.stringify({ calls, typescript: { p50_us: at(0.5), p99_us: at(0.99) } }));
} finally {
  await serve.stop();
}
