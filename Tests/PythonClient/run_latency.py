"""What `run()` adds to a tool call over loopback, per client: p50 and p99 of a no-op tool's run.

    .build/clients/bin/python3 Tests/PythonClient/run_latency.py [--calls N] [--old PATH/TO/tenantbreaker_client.py]

BREAKERCTL names the binary (build it with `swift build -c release` for figures worth quoting).
With --old, the single-file client this package replaced is measured in the same run.
Prints one JSON object."""

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import Serve  # noqa: E402

from tenantbreaker import AsyncBreakerClient, BreakerClient  # noqa: E402


def percentiles(samples):
    samples = sorted(samples)
    return {"p50_us": round(statistics.median(samples), 1), "p99_us": round(samples[int(len(samples) * 0.99) - 1], 1)}


def measure(run, calls):
    for i in range(min(200, calls)):
        run(f"warm-{i}")
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        run(f"t-{i}")
        samples.append((time.perf_counter() - started) * 1e6)
    return percentiles(samples)


async def measure_async(run, calls):
    for i in range(min(200, calls)):
        await run(f"warm-{i}")
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        await run(f"t-{i}")
        samples.append((time.perf_counter() - started) * 1e6)
    return percentiles(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--old")
    options = parser.parse_args()
    out = {"calls": options.calls}
    with tempfile.TemporaryDirectory() as work:
        serve = Serve(work, {"defaults": {"latencyThresholdMs": 60000}})
        try:
            if options.old:
                spec = importlib.util.spec_from_file_location("old_client", options.old)
                old = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(old)
                client = old.BreakerClient(serve.url)
                out["old_single_file"] = measure(lambda t: client.run("acme", "noop", t, lambda: "ok"), options.calls)
            sync = BreakerClient(serve.url)
            out["sync"] = measure(lambda t: sync.run("acme", "noop", t, lambda: "ok"), options.calls)
            inline = BreakerClient(serve.url, thread_timeouts=False)
            out["sync_thread_timeouts_off"] = measure(lambda t: inline.run("acme", "noop", t, lambda: "ok"), options.calls)

            async def asynchronous():
                client = AsyncBreakerClient(serve.url)

                async def noop():
                    return "ok"

                result = await measure_async(lambda t: client.run("acme", "noop", t, noop), options.calls)
                await client.aclose()
                return result

            out["async"] = asyncio.run(asynchronous())
        finally:
            serve.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
