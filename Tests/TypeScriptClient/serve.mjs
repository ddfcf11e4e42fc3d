// Starts a real `breakerctl serve` on an ephemeral loopback port for the tests of this folder.
// BREAKERCTL names the binary (default: the debug build of this checkout).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BREAKERCTL = process.env.BREAKERCTL ?? join(ROOT, ".build", "debug", "breakerctl");

export async function startServe(config) {
  const dir = mkdtempSync(join(tmpdir(), "tenantbreaker-js-"));
  const db = join(dir, "breaker.sqlite");
  const args = ["serve", "--db", db, "--port", "0"];
  if (config) {
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    args.push("--config", join(dir, "config.json"));
  }
  const child = spawn(BREAKERCTL, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("serve did not start:\n" + log)), 60_000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", () => reject(new Error("serve exited:\n" + log)));
  });
  child.stderr.resume();
  return {
    url,
    port: Number(new URL(url).port),
    db,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
    cli(...rest) {
      return execFileSync(BREAKERCTL, [...rest, "--db", db], { encoding: "utf8" });
    },
    export() {
      return this.cli("export").split("\n").filter(Boolean).map((line) => JSON.parse(line));
    },
    states() {
      return Object.fromEntries(JSON.parse(this.cli("status", "--format", "json")).map((k) => [`${k.tenant}/${k.tool}`, k.state]));
    },
  };
}
