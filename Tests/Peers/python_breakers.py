"""Per-call cost of the Python circuit breakers, for the README's Performance table.

Times a successful call of a function that returns at once through each breaker, round-robin
over KEYS breakers (by reference, and looked up by name in a dict), beside the bare loop calling
the function directly. Prints one JSON object; figures are ns per call.

    python3 -m venv .build/peers-bench
    .build/peers-bench/bin/pip install pybreaker aiobreaker circuitbreaker
    .build/peers-bench/bin/python Tests/Peers/python_breakers.py --keys 1000 --calls 1000000

None of these breakers records a call anywhere: each keeps counters in memory only.
"""

import argparse
import asyncio
import json
import time


def timed(calls: int, body) -> float:
    start = time.perf_counter_ns()
    body(calls)
    return (time.perf_counter_ns() - start) / calls


def noop() -> int:
    return 1


async def anoop() -> int:
    return 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    keys, calls = args.keys, args.calls
    names = [f"tenant-{i // 10}/tool-{i % 10}" for i in range(keys)]
    out: dict[str, object] = {"scenario": "python-breakers", "keys": keys, "calls": calls}

    def bare(n: int) -> None:
        k = 0
        for _ in range(n):
            noop()
            k += 1
            if k == keys:
                k = 0

    out["bare_loop_ns"] = round(timed(calls, bare), 1)

    import pybreaker

    pb = [pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60, name=n) for n in names]
    pb_by_name = dict(zip(names, pb))

    def pybreaker_ref(n: int) -> None:
        k = 0
        for _ in range(n):
            pb[k].call(noop)
            k += 1
            if k == keys:
                k = 0

    def pybreaker_name(n: int) -> None:
        k = 0
        for _ in range(n):
            pb_by_name[names[k]].call(noop)
            k += 1
            if k == keys:
                k = 0

    out["pybreaker_ns"] = round(timed(calls, pybreaker_ref), 1)
    out["pybreaker_by_name_ns"] = round(timed(calls, pybreaker_name), 1)

    import circuitbreaker

    cb = [circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=60, name=n) for n in names]
    wrapped = [c.decorate(noop) for c in cb]

    def circuitbreaker_ref(n: int) -> None:
        k = 0
        for _ in range(n):
            wrapped[k]()
            k += 1
            if k == keys:
                k = 0

    out["circuitbreaker_ns"] = round(timed(calls, circuitbreaker_ref), 1)

    import aiobreaker
    from datetime import timedelta

    ab = [aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=60), name=n) for n in names]

    async def run_async(n: int) -> float:
        async def bare_async() -> None:
            k = 0
            for _ in range(n):
                await anoop()
                k += 1
                if k == keys:
                    k = 0

        async def through() -> None:
            k = 0
            for _ in range(n):
                await ab[k].call_async(anoop)
                k += 1
                if k == keys:
                    k = 0

        start = time.perf_counter_ns()
        await bare_async()
        middle = time.perf_counter_ns()
        await through()
        end = time.perf_counter_ns()
        out["bare_async_loop_ns"] = round((middle - start) / n, 1)
        return (end - middle) / n

    out["aiobreaker_ns"] = round(asyncio.run(run_async(calls)), 1)
    from importlib.metadata import version

    out["versions"] = {name: version(name) for name in ("pybreaker", "circuitbreaker", "aiobreaker")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
