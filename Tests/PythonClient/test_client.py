"""The `tenantbreaker` package against a real `breakerctl serve`: sync and async tools, deadlines,
failing open, connection reuse, the turn scope and the decorator."""

import asyncio
import inspect
import logging
import threading
import time

import pytest

from tenantbreaker import AsyncBreakerClient, BreakerClient, is_unavailable

OPENS_AFTER_TWO = {"defaults": {"failureThreshold": 2, "openTimeoutMs": 600000},
                   "tools": {"slow": {"latencyThresholdMs": 60000, "callTimeoutMs": 300}}}


class VendorDown(Exception):
    pass


def calls(serve, tool):
    return [(r["tenant"], r["turn"], r["outcome"], r["reason"]) for r in serve.export() if r["kind"] == "call" and r["tool"] == tool]


def test_an_async_tool_that_raises_is_a_failure_and_opens_the_circuit(serve_factory):
    serve = serve_factory(OPENS_AFTER_TWO)

    async def search(query: str) -> str:
        raise VendorDown(query)

    async def scenario():
        async with AsyncBreakerClient(serve.url) as breaker:
            for i in range(2):
                with pytest.raises(VendorDown):
                    await breaker.run("acme", "web_search", f"t-{i}", search, "q")
            rejected = await breaker.run("acme", "web_search", "t-2", search, "q")
            fine = await breaker.run("globex", "web_search", "g-1", lambda: "results")
            return rejected, fine

    rejected, fine = asyncio.run(scenario())
    assert is_unavailable(rejected) and rejected["reason"] == "circuit_open", rejected
    assert fine == "results", "another tenant's circuit is untouched"
    assert serve.states()[("acme", "web_search")] == "open"
    assert calls(serve, "web_search")[:2] == [("acme", "t-0", "failure", "tool_call_exception:VendorDown"),
                                              ("acme", "t-1", "failure", "tool_call_exception:VendorDown")]


def test_a_slow_async_tool_is_cancelled_at_its_deadline_and_recorded_as_a_timeout(serve_factory):
    serve = serve_factory(OPENS_AFTER_TWO)
    seen = {}

    async def slow() -> str:
        try:
            await asyncio.sleep(5)
            return "late"
        except asyncio.CancelledError:
            seen["cancelled_at"] = time.monotonic()
            raise

    async def scenario():
        async with AsyncBreakerClient(serve.url) as breaker:
            started = time.monotonic()
            result = await breaker.run("acme", "slow", "t-1", slow)
            return result, time.monotonic() - started, started

    result, elapsed, started = asyncio.run(scenario())
    assert is_unavailable(result) and result["reason"] == "tool_call_timeout", result
    assert 0.29 <= elapsed < 3, f"answered at the 300 ms deadline, not after the tool's 5 s ({elapsed:.3f} s)"
    assert "cancelled_at" in seen and seen["cancelled_at"] - started >= 0.29, "the tool's task was cancelled at the deadline"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ("acme", "t-1", "timeout", "tool_call_timeout") not in calls(serve, "slow"):
        time.sleep(0.1)
    assert ("acme", "t-1", "timeout", "tool_call_timeout") in calls(serve, "slow")


def test_a_slow_sync_tool_is_abandoned_at_its_deadline(serve_factory):
    serve = serve_factory(OPENS_AFTER_TWO)
    finished = threading.Event()

    def slow() -> str:
        time.sleep(1.5)
        finished.set()
        return "late"

    with BreakerClient(serve.url) as breaker:
        started = time.monotonic()
        result = breaker.run("acme", "slow", "t-1", slow)
        elapsed = time.monotonic() - started
    assert is_unavailable(result) and result["reason"] == "tool_call_timeout", result
    assert elapsed < 1.4 and not finished.is_set(), f"the caller stopped waiting at the deadline ({elapsed:.3f} s)"
    assert finished.wait(5), "the abandoned tool finished on its own"


def test_with_the_service_stopped_mid_run_tools_run_unguarded_and_nothing_raises(serve_factory, caplog):
    serve = serve_factory(OPENS_AFTER_TWO)
    breaker = BreakerClient(serve.url, timeout=2)

    @breaker.tool("web_search")
    def web_search(query: str) -> str:
        return f"results for {query}"

    async def async_search(query: str) -> str:
        return f"async results for {query}"

    with breaker.turn("acme", "t-1"):
        assert web_search("before") == "results for before"
    serve.stop()
    caplog.set_level(logging.WARNING, logger="tenantbreaker")
    with breaker.turn("acme", "t-2"):
        results = [web_search(f"q{i}") for i in range(5)]
        assert breaker.unavailable_tools() == []
        assert breaker.system_prompt_note() is None
    assert results == [f"results for q{i}" for i in range(5)], "every call ran the tool, unguarded"
    assert breaker.run("acme", "web_search", "t-3", lambda: "explicit") == "explicit"

    async def asynchronous():
        async with AsyncBreakerClient(serve.url, timeout=2) as client:
            async with client.turn("acme", "t-4"):
                ran = await client.call("web_search", async_search, "q")
                note = await client.system_prompt_note()
                tools = await client.unavailable_tools()
            return ran, note, tools

    assert asyncio.run(asynchronous()) == ("async results for q", None, [])
    warnings = [r for r in caplog.records if r.name == "tenantbreaker"]
    assert 1 <= len(warnings) <= 2, f"a warning, at most every 10 s per client ({[r.getMessage() for r in warnings]})"
    assert "running tools unguarded" in warnings[0].getMessage()
    with pytest.raises(Exception):
        BreakerClient(serve.url, fail_open=False, timeout=2).run("acme", "web_search", "t-5", lambda: "x")


def connections_to(port):
    """The local addresses of this process's established TCP connections to `port`
    (/proc/net/tcp: remote port, state 01) — counted by the kernel, not by the client."""
    hex_port = f"{port:04X}"
    with open("/proc/self/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return {r[1] for r in rows if r[2].endswith(":" + hex_port) and r[3] == "01"}


def test_one_connection_carries_many_calls(serve_factory):
    serve = serve_factory()
    port = int(serve.url.rsplit(":", 1)[1])
    breaker = BreakerClient(serve.url, thread_timeouts=False)
    seen = set()
    for i in range(50):
        assert breaker.run("acme", "web_search", f"t-{i}", lambda: "ok") == "ok"
        seen |= connections_to(port)
    assert len(seen) == 1 and breaker.connections_opened == 1, f"100 requests over {len(seen)} connections"

    async def asynchronous():
        client = AsyncBreakerClient(serve.url)
        found = set()

        async def ok():
            return "ok"

        for i in range(50):
            assert await client.run("acme", "web_search", f"a-{i}", ok) == "ok"
            found |= connections_to(port)
        opened = client.connections_opened
        await client.aclose()
        return found, opened

    found, opened = asyncio.run(asynchronous())
    assert len(found - seen) == 1 and opened == 1, f"the async client: 100 requests over {len(found - seen)} connections"
    assert len([r for r in serve.export() if r["kind"] == "call"]) == 100


def test_the_decorator_keeps_the_signature_and_takes_tenant_and_turn_from_the_scope(serve_factory):
    serve = serve_factory(OPENS_AFTER_TWO)
    breaker = BreakerClient(serve.url)

    def lookup(account_id: str, *, fields: int = 3) -> str:
        """Looks an account up."""
        return f"{account_id}:{fields}"

    guarded = breaker.tool("crm_lookup")(lookup)
    assert inspect.signature(guarded) == inspect.signature(lookup)
    assert guarded.__name__ == "lookup" and guarded.__doc__ == "Looks an account up."
    with breaker.turn("acme", "turn-7"):
        assert guarded("a-1", fields=2) == "a-1:2"
        with breaker.turn("globex", "turn-8"):
            assert guarded("g-1") == "g-1:3"
    assert calls(serve, "crm_lookup") == [("acme", "turn-7", "success", None), ("globex", "turn-8", "success", None)]

    async def alookup(account_id: str) -> str:
        return account_id

    aguarded = breaker.tool("crm_lookup")(alookup)
    assert inspect.iscoroutinefunction(aguarded) and inspect.signature(aguarded) == inspect.signature(alookup)

    async def in_a_task():
        with breaker.turn("initech", "turn-9"):
            return await aguarded("i-1")

    assert asyncio.run(in_a_task()) == "i-1"
    assert asyncio.run(in_a_task()) == "i-1", "a second event loop gets connections of its own"
    assert calls(serve, "crm_lookup")[-1] == ("initech", "turn-9", "success", None)


def test_operator_actions_and_reports(serve_factory, tmp_path):
    token = "operator-" + "t" * 40
    token_file = tmp_path / "op.token"
    token_file.write_text(token + "\n")
    serve = serve_factory()
    serve.stop()
    # Restarted with an operator token: the same store.
    import subprocess
    import re
    p = subprocess.Popen([serve.process.args[0], "serve", "--db", serve.db, "--port", "0", "--operator-token-file", str(token_file)],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        url = None
        for line in p.stderr:
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
                break
        operator = BreakerClient(url, token=token)
        agent = BreakerClient(url)
        assert agent.run("acme", "web_search", "t-1", lambda: "ok") == "ok"
        operator.force_open("web_search", actor="oncall", reason="vendor outage", hold=True)
        rejected = agent.run("acme", "web_search", "t-2", lambda: "never")
        assert is_unavailable(rejected) and rejected["reason"] == "forced_open"
        assert [t["tool_name"] for t in agent.unavailable_tools("acme")] == ["web_search"]
        assert "web_search" in (agent.system_prompt_note("acme") or "")
        operator.release("web_search", actor="oncall", reason="vendor back")
        rows = agent.report("acme")
        assert sum(r["turns"] for r in rows) == 2 and sum(r["turns_blocked"] for r in rows) == 1
        assert agent.report_csv("acme").startswith("tenant,hour_start,")
        assert "force_open_hold" in agent.audit_csv("acme")
    finally:
        p.terminate()
        p.wait(30)
