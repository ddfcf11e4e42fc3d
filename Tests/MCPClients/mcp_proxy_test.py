"""`breakerctl mcp-proxy` between the Python SDK's ClientSession and a Python SDK server (SPEC §13).

Run: PYTHON_WITH_MCP Tests/MCPClients/mcp_proxy_test.py PATH/TO/breakerctl WORKDIR
The same script runs under mcp 1.x and 2.x; it prints one line per check.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from importlib.metadata import version

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ServeClients"))
from serve_process import ServeProcess  # noqa: E402

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
import mcp.client.stdio  # noqa: E402

# The SDK gives a server 2 s after closing its stdin before SIGTERM (and 2 s more before SIGKILL);
# the proxy's clean stop (server stopped, store durable, final snapshot) has taken longer on a
# loaded two-core runner. What is checked is that closing stdin stops it cleanly, not how fast.
if hasattr(mcp.client.stdio, "PROCESS_TERMINATION_TIMEOUT"):
    mcp.client.stdio.PROCESS_TERMINATION_TIMEOUT = 30.0
from mcp.types import CreateMessageResult, ElicitResult, ListRootsResult, Root, TextContent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "mcp_test_server.py")


def check(condition, what):
    if not condition:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


class Client:
    """A ClientSession through the proxy, recording list_changed notifications."""

    def __init__(self, breakerctl, tenant, breaker_args, state, marks):
        self.params = StdioServerParameters(
            command=breakerctl, args=["mcp-proxy", "--tenant", tenant, *breaker_args, "--", sys.executable, SERVER],
            env={**os.environ, "MCP_TEST_STATE": state, "MCP_TEST_MARKS": marks})
        self.list_changed = 0

    async def handler(self, message):
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/tools/list_changed":
            self.list_changed += 1

    async def sampling(self, context, params):
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text="forty-two"), model="test-model")

    async def elicitation(self, context, params):
        return ElicitResult(action="accept", content={"city": "Paris"})

    async def roots(self, context):
        return ListRootsResult(roots=[Root(uri="file:///srv/work", name="work")])


def field(obj, camel):
    """`obj.camel` in mcp 1.x, `obj.snake_case` in mcp 2.x."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return getattr(obj, camel) if hasattr(obj, camel) else getattr(obj, snake)


def is_error(result):
    return bool(field(result, "isError"))


def set_mode(state, mode):
    with open(state, "w") as f:
        json.dump({"search": mode}, f)


async def within(seconds, what, work):
    """Runs `work`, failing with a check that names `what` if it takes longer than `seconds`:
    an MCP request the proxy never answers would otherwise wait forever."""
    try:
        return await asyncio.wait_for(work, seconds)
    except asyncio.TimeoutError:
        check(False, f"{what} finished within {seconds} s")


async def eventually(condition, seconds=10.0):
    """Whether `condition()` holds within `seconds`, looked at every 20 ms: a notification or a
    server's note arrives when a busy machine gets to it, not after a fixed pause."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def text_of(result):
    return result.content[0].text if result.content else ""


async def drive(breakerctl, work, breaker_args, tenant="acme"):
    state = os.path.join(work, f"state-{tenant}.json")
    marks = os.path.join(work, f"marks-{tenant}.txt")
    set_mode(state, "ok")
    c = Client(breakerctl, tenant, breaker_args, state, marks)
    async with stdio_client(c.params) as (read, write):
        async with ClientSession(read, write, sampling_callback=c.sampling, elicitation_callback=c.elicitation,
                                 list_roots_callback=c.roots, message_handler=c.handler) as session:
            init = await session.initialize()
            check(init.capabilities.tools is not None and field(init.capabilities.tools, "listChanged") is True,
                  "the initialize answer announces tools.listChanged")
            names = {t.name for t in (await session.list_tools()).tools}
            check({"search", "ping", "ask_model"} <= names, f"tools/list passes the server's tools ({sorted(names)})")
            r = await session.call_tool("search", {"query": "q1"})
            check(not is_error(r) and text_of(r) == "results for q1", "a call goes to the server and back")

            # The vendor goes down: isError results are failures; two open the circuit.
            set_mode(state, "raise")
            for i in range(2):
                r = await session.call_tool("search", {"query": f"down-{i}"})
                check(is_error(r) and "Error executing tool search" in text_of(r), f"failure {i} is the server's isError result")
            r = await session.call_tool("search", {"query": "rejected"})
            signal = json.loads(text_of(r))
            check(is_error(r) and signal["status"] == "tool_unavailable" and signal["reason"] == "circuit_open",
                  f"the next call is rejected with the signal ({signal['reason']})")
            check(await eventually(lambda: c.list_changed >= 1), f"the client got notifications/tools/list_changed ({c.list_changed})")
            names = {t.name for t in (await session.list_tools()).tools}
            check("search" not in names and "ping" in names, f"tools/list hides search while it is down ({sorted(names)})")
            r = await session.call_tool("ping", {})
            check(not is_error(r) and text_of(r) == "pong", "other tools still work")

            # The vendor recovers: after the open timeout a probe closes the circuit.
            set_mode(state, "ok")
            await asyncio.sleep(1.6)
            before = c.list_changed
            r = await session.call_tool("search", {"query": "probe"})
            check(not is_error(r) and text_of(r) == "results for probe", "after the open timeout a probe goes through")
            check(await eventually(lambda: c.list_changed > before), "the client was told search is back")
            names = {t.name for t in (await session.list_tools()).tools}
            check("search" in names, f"search is listed again ({sorted(names)})")

            # A hanging tool times out at callTimeoutMs; the server is told to cancel.
            set_mode(state, "hang")
            started = time.monotonic()
            # SPEC §13: an error result carrying the signal (tool_call_timeout), not a JSON-RPC
            # error: the client returns it to the model instead of raising.
            r = await session.call_tool("search", {"query": "hang"}, read_timeout_seconds=None)
            elapsed = time.monotonic() - started
            signal = json.loads(text_of(r)) if is_error(r) else {}
            # Not before the call timeout (5 s); the upper bound only tells "answered" from "never"
            # on a busy machine.
            check(signal.get("reason") == "tool_call_timeout" and signal.get("status") == "tool_unavailable" and 4.9 < elapsed < 20,
                  f"a hanging call is answered at the call timeout with the tool_call_timeout signal ({elapsed:.2f} s, {signal})")
            def marked():
                return os.path.exists(marks) and "cancelled search hang" in open(marks).read()
            check(await eventually(marked), "the server got notifications/cancelled for it")
            set_mode(state, "ok")

            # Everything else passes through: resources, prompts, a sampling request.
            resources = await session.list_resources()
            check(any(str(r.uri) == "test://info" for r in resources.resources), "resources/list passes through")
            body = await session.read_resource("test://info")
            check(body.contents[0].text == "resource body", "resources/read passes through")
            prompt = await session.get_prompt("greet", {"name": "Ada"})
            check("Ada" in prompt.messages[0].content.text, "prompts/get passes through")
            r = await session.call_tool("ask_model", {"question": "the answer?"})
            check(not is_error(r) and text_of(r) == "model says: forty-two", "a sampling request from the server reaches the client and back")
            r = await session.call_tool("ask_user", {})
            check(not is_error(r) and text_of(r) == "user chose Paris", f"an elicitation request passes both ways ({text_of(r)})")
            r = await session.call_tool("client_roots", {})
            check(not is_error(r) and text_of(r) == "file:///srv/work", f"a roots request passes both ways ({text_of(r)})")
    return c


def raw_proxy(breakerctl, args, lines, env=None, timeout=20, wait_for=None):
    """Runs the proxy with raw JSON lines on stdin, as a client would: stdin stays open until the
    answer with id `wait_for` arrives (or at once when None). Returns (status, stdout lines, stderr)."""
    p = subprocess.Popen([breakerctl, "mcp-proxy", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, **(env or {})})
    out = []
    # Drained meanwhile: the server writes its tracebacks to the proxy's stderr, and a full pipe would block it.
    errors = []
    drain = threading.Thread(target=lambda: errors.append(p.stderr.read()), daemon=True)
    drain.start()
    for line in lines:
        p.stdin.write(line + "\n")
    p.stdin.flush()
    deadline = time.monotonic() + timeout
    while wait_for is not None and time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        out.append(line.strip())
        try:
            if json.loads(line).get("id") == wait_for:
                break
        except ValueError:
            pass
    p.stdin.close()  # the client leaves
    rest = p.stdout.read()
    p.wait(timeout)
    drain.join(timeout)
    out += [l for l in rest.splitlines() if l]
    return p.returncode, [l for l in out if l], "".join(errors)


INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})
INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    print("mcp", version("mcp"))
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        # A call timeout of 5 s: a Python server's calls on a busy machine have taken over 2 s.
        json.dump({"defaults": {"failureThreshold": 2, "openTimeoutMs": 1500, "successThreshold": 1, "latencyThresholdMs": 2000,
                                "callTimeoutMs": 5000}}, f)
    # The raw-relay checks are about what passes through, not about time: a call timeout far beyond
    # a Python server's start on a busy machine keeps them from seeing timeouts.
    patient = os.path.join(work, "patient.json")
    with open(patient, "w") as f:
        json.dump({"defaults": {"latencyThresholdMs": 60000}}, f)
    # The two-tenant check counts errors and rejections, so no call may time out and no circuit may
    # reach its open timeout while a busy machine runs the calls.
    shared = os.path.join(work, "shared.json")
    with open(shared, "w") as f:
        json.dump({"defaults": {"failureThreshold": 2, "openTimeoutMs": 600000, "latencyThresholdMs": 60000}}, f)

    # 1. A store of its own.
    db = os.path.join(work, "proxy.sqlite")
    asyncio.run(within(240, "the MCP session through the proxy", drive(breakerctl, work, ["--db", db, "--config", config])))
    v = subprocess.run([breakerctl, "verify", "--db", db], capture_output=True, text=True)
    check(v.returncode == 0, f"the proxy's store verifies ({v.stdout.strip()})")
    # The SDK ends its server by closing stdin: the proxy made everything durable and wrote a
    # final snapshot (a rebuild has no record after it to replay).
    check("rebuild (tail 0)" in v.stdout, f"the proxy stopped with its store snapshotted ({v.stdout.strip()})")
    export = [json.loads(l) for l in subprocess.run([breakerctl, "export", "--db", db], capture_output=True, text=True).stdout.splitlines()]
    outcomes = [(r["tool"], r["outcome"], r.get("reason")) for r in export if r["kind"] == "call"]
    check(("search", "failure", "tool_call_exception:tool_error") in outcomes and ("search", "rejected", "circuit_open") in outcomes
          and ("search", "timeout", "tool_call_timeout") in outcomes, f"calls are recorded as failure, rejection and timeout ({outcomes})")
    report = subprocess.run([breakerctl, "report", "--tenant", "acme", "--db", db], capture_output=True, text=True).stdout
    calls = sum(int(l.split(",")[5]) for l in report.splitlines()[1:])
    check(calls == len(outcomes), f"the report counts every call ({calls})")
    check(len(outcomes) == 10, f"ten calls were made through this proxy ({len(outcomes)})")

    # 2. Two proxies for two tenants share one serve; their circuits stay apart.
    serve = ServeProcess(breakerctl, os.path.join(work, "shared.sqlite"), config=shared)
    try:
        async def two():
            async def tenant_session(tenant, failing):
                state = os.path.join(work, f"state2-{tenant}.json")
                set_mode(state, "raise" if failing else "ok")
                c = Client(breakerctl, tenant, ["--breaker", serve.url], state, os.path.join(work, f"marks2-{tenant}.txt"))
                async with stdio_client(c.params) as (read, write):
                    async with ClientSession(read, write, message_handler=c.handler) as session:
                        await session.initialize()
                        results = [await session.call_tool("search", {"query": str(i)}) for i in range(4)]
                        return [json.loads(text_of(r))["reason"] if is_error(r) and text_of(r).startswith("{") else ("error" if is_error(r) else "ok")
                                for r in results]
            return await asyncio.gather(tenant_session("acme", True), tenant_session("globex", False))
        acme, globex = asyncio.run(within(240, "two tenants' sessions through one serve", two()))
        check(acme == ["error", "error", "circuit_open", "circuit_open"] and globex == ["ok"] * 4,
              f"acme's outage opens only acme's circuit ({acme} / {globex})")
        status = {(s["tenant"], s["tool"]): s["state"] for s in json.loads(
            subprocess.run(["curl", "-s", serve.url + "/v1/status"], capture_output=True, text=True).stdout)}
        check(status == {("acme", "search"): "open", ("globex", "search"): "closed"}, f"serve keeps the two circuits apart ({status})")
        check(serve.stop() == 0, "serve stops cleanly")
        rc, out, _ = serve.cli("verify")
        check(rc == 0, "the shared store verifies")
    finally:
        serve.kill()

    # 2b. SIGTERM and SIGINT stop the proxy as the client's leaving does: the server stopped, the
    # store durable and snapshotted, exit 0.
    set_mode(os.path.join(work, "state-signal.json"), "ok")
    for name, sig in (("SIGTERM", signal.SIGTERM), ("SIGINT", signal.SIGINT)):
        sig_db = os.path.join(work, f"signal-{name}.sqlite")
        p = subprocess.Popen([breakerctl, "mcp-proxy", "--tenant", "acme", "--db", sig_db, "--config", patient, "--", sys.executable, SERVER],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={**os.environ, "MCP_TEST_STATE": os.path.join(work, "state-signal.json")})
        p.stdin.write(INIT + "\n")
        p.stdin.flush()
        p.stdout.readline()
        p.stdin.write(INITIALIZED + "\n" + json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                                       "params": {"name": "search", "arguments": {"query": "q"}}}) + "\n")
        p.stdin.flush()
        answer = json.loads(p.stdout.readline())
        check(answer.get("id") == 2 and "result" in answer, f"{name}: a call went through first ({answer})")
        p.send_signal(sig)
        try:
            status = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            status = "still running after 15 s"
        check(status == 0, f"{name} stops the proxy with status 0 ({status})")
        v = subprocess.run([breakerctl, "verify", "--db", sig_db], capture_output=True, text=True)
        check(v.returncode == 0 and "rebuild (tail 0)" in v.stdout, f"{name}: the store is durable and snapshotted ({v.stdout.strip()})")
        export = subprocess.run([breakerctl, "export", "--db", sig_db], capture_output=True, text=True).stdout
        outcomes = [r["outcome"] for r in map(json.loads, export.splitlines()) if r["kind"] == "call"]
        check(outcomes == ["success"], f"{name}: the call made before it is recorded ({outcomes})")

    # 3. The server crashes mid-call: the call fails as server_exit and the proxy exits with its status.
    crash_db = os.path.join(work, "crash.sqlite")
    state = os.path.join(work, "state-crash.json")
    set_mode(state, "crash")
    call = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "search", "arguments": {"query": "x"}}})
    p = subprocess.Popen([breakerctl, "mcp-proxy", "--tenant", "acme", "--db", crash_db, "--", sys.executable, SERVER],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "MCP_TEST_STATE": state})
    p.stdin.write(INIT + "\n")
    p.stdin.flush()
    p.stdout.readline()
    p.stdin.write(INITIALIZED + "\n" + call + "\n")
    p.stdin.flush()
    answer = json.loads(p.stdout.readline())
    status = p.wait(20)
    check(answer["id"] == 2 and answer["error"]["code"] == -32002, f"the call in flight is answered with an error ({answer})")
    check(status == 3, f"the proxy exits with the server's status ({status})")
    export = subprocess.run([breakerctl, "export", "--db", crash_db], capture_output=True, text=True).stdout
    check('"reason":"tool_call_exception:server_exit"' in export, "the call is recorded as a server_exit failure")

    # 3b. --tool-errors-as-success: isError results count as successes; the circuit stays closed.
    lenient_db = os.path.join(work, "lenient.sqlite")
    set_mode(state, "raise")
    calls = [json.dumps({"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call", "params": {"name": "search", "arguments": {"query": str(i)}}})
             for i in range(3)]
    rc, out, err = raw_proxy(breakerctl, ["--tenant", "acme", "--db", lenient_db, "--config", patient, "--tool-errors-as-success", "--",
                                          sys.executable, SERVER], [INIT, INITIALIZED, *calls], env={"MCP_TEST_STATE": state}, wait_for=12)
    answers = [json.loads(l) for l in out]
    export = subprocess.run([breakerctl, "export", "--db", lenient_db], capture_output=True, text=True).stdout
    outcomes = [json.loads(l)["outcome"] for l in export.splitlines() if json.loads(l)["kind"] == "call"]
    check(rc == 0 and outcomes == ["success"] * 3 and all(a.get("result", {}).get("isError") for a in answers if a.get("id", 0) >= 10),
          f"with --tool-errors-as-success the server's isError results are passed on and recorded as successes ({outcomes})")

    # 3d. A tool in shadow (SPEC §15), forced open: its calls still reach the server, the client gets
    # the real result, and the store records what the breaker would have done.
    shadow_db = os.path.join(work, "shadow.sqlite")
    shadow_config = os.path.join(work, "shadow.json")
    with open(shadow_config, "w") as f:
        json.dump({"defaults": {"latencyThresholdMs": 60000}, "tools": {"search": {"enforce": False}}}, f)
    trace = os.path.join(work, "force.jsonl")
    with open(trace, "w") as f:
        f.write(json.dumps({"at": int(time.time() * 1000) - 60_000, "op": "force_open", "tool": "search", "hold": True,
                            "reason": "vendor maintenance"}) + "\n")
    subprocess.run([breakerctl, "simulate", trace, "--db", shadow_db, "--config", shadow_config], check=True, capture_output=True)
    set_mode(state, "ok")
    shadow_calls = [json.dumps({"jsonrpc": "2.0", "id": 30, "method": "tools/list"}),
                    json.dumps({"jsonrpc": "2.0", "id": 31, "method": "tools/call", "params": {"name": "search", "arguments": {"query": "q"}}})]
    rc, out, err = raw_proxy(breakerctl, ["--tenant", "acme", "--db", shadow_db, "--config", shadow_config, "--", sys.executable, SERVER],
                             [INIT, INITIALIZED, *shadow_calls], env={"MCP_TEST_STATE": state}, wait_for=31)
    answers = {a.get("id"): a for a in (json.loads(l) for l in out)}
    listed = [t["name"] for t in answers.get(30, {}).get("result", {}).get("tools", [])]
    check("search" in listed, f"a tool in shadow stays listed while forced open ({listed})")
    content = answers.get(31, {}).get("result", {}).get("content", [{}])
    check(content[0].get("text") == "results for q", f"a call of a tool in shadow gets the server's real result ({answers.get(31)})")
    export = subprocess.run([breakerctl, "export", "--db", shadow_db], capture_output=True, text=True).stdout
    shadowed = [(r["outcome"], r["shadow"]) for r in map(json.loads, export.splitlines()) if r["kind"] == "call"]
    check(shadowed == [("success", "forced_open")], f"it is recorded as a shadow call standing in for forced_open ({shadowed})")

    # 3c. The relay: the turn from _meta, a message of a megabyte, interleaved requests, a JSON-RPC error.
    relay_db = os.path.join(work, "relay.sqlite")
    set_mode(state, "ok")
    big = "x" * 1_000_000
    requests = [
        {"jsonrpc": "2.0", "id": 20, "method": "tools/call",
         "params": {"name": "search", "arguments": {"query": "meta"}, "_meta": {"tenantbreaker/turn": "turn-xyz"}}},
        {"jsonrpc": "2.0", "id": 21, "method": "tools/call", "params": {"name": "search", "arguments": {"query": big}}},
        {"jsonrpc": "2.0", "id": 22, "method": "tools/call", "params": {"name": "ping", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 23, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 24, "method": "tools/call", "params": {"name": "search", "arguments": "not an object"}},
        {"jsonrpc": "2.0", "id": 25, "method": "ping"},
    ]
    rc, out, err = raw_proxy(breakerctl, ["--tenant", "acme", "--db", relay_db, "--config", patient, "--", sys.executable, SERVER],
                             [INIT, INITIALIZED, *(json.dumps(r) for r in requests)], env={"MCP_TEST_STATE": state}, wait_for=25)
    answers = {a.get("id"): a for a in (json.loads(l) for l in out)}
    check(all(i in answers for i in range(20, 26)), f"interleaved requests are all answered ({sorted(k for k in answers if k)})")
    check(answers[21]["result"]["content"][0]["text"] == "results for " + big, "a message of a megabyte passes both ways")
    check("error" in answers[24], f"the server's JSON-RPC error reaches the client ({answers[24].get('error')})")
    export = [json.loads(l) for l in subprocess.run([breakerctl, "export", "--db", relay_db], capture_output=True, text=True).stdout.splitlines()]
    calls = {r["turn"]: r for r in export if r["kind"] == "call"}
    check("turn-xyz" in calls and calls["turn-xyz"]["outcome"] == "success", f"the turn comes from _meta ({sorted(calls)})")
    check(calls.get("24", {}).get("reason", "").startswith("tool_call_exception:rpc_error_-326"),
          f"a JSON-RPC error answer is a failure rpc_error_CODE ({calls.get('24')})")
    check(calls.get("22", {}).get("outcome") == "success", "without _meta the turn is the request id")

    # 4. Bad input.
    rc, out, err = raw_proxy(breakerctl, ["--tenant", "acme", "--db", os.path.join(work, "bad.sqlite"), "--", sys.executable, SERVER],
                             [INIT, "{this is not json", INITIALIZED, json.dumps({"jsonrpc": "2.0", "id": 9, "method": "ping"})], wait_for=9)
    answers = [json.loads(l) for l in out]
    check(rc == 0 and any(a.get("id") == 9 for a in answers), "a malformed line from the client passes on; the session goes on; exit 0 on stdin close")
    check("not a JSON-RPC message" in err, "the proxy notes the malformed line on stderr")
    rc, out, err = raw_proxy(breakerctl, ["--tenant", "bad\u0007name", "--db", os.path.join(work, "bad2.sqlite"), "--", sys.executable, SERVER], [])
    check(rc == 64 and "--tenant" in err, f"an invalid --tenant is refused with exit 64 ({err.strip()})")
    rc, out, err = raw_proxy(breakerctl, ["--tenant", "acme", "--breaker", "http://127.0.0.1:9", "--", sys.executable, SERVER],
                             [INIT, INITIALIZED, call.replace('"search"', '"ping"')], env={"MCP_TEST_STATE": ""}, wait_for=2)
    answers = {a.get("id"): a for a in (json.loads(l) for l in out)}
    check("cannot reach serve" in err and answers.get(2, {}).get("result", {}).get("content", [{}])[0].get("text") == "pong",
          f"with serve unreachable the proxy says so and lets calls through ({err.strip()[:120]})")
    garbage = os.path.join(work, "garbage_server.py")
    with open(garbage, "w") as f:
        f.write("import sys\nprint('hello, I am not MCP', flush=True)\nprint('a note on stderr', file=sys.stderr, flush=True)\n"
                "for line in sys.stdin:\n    pass\n")
    rc, out, err = raw_proxy(breakerctl, ["--tenant", "acme", "--db", os.path.join(work, "bad3.sqlite"), "--", sys.executable, garbage], [INIT])
    check(rc == 0 and "hello, I am not MCP" in out and "not a JSON-RPC message" in err,
          "a server writing garbage to stdout: passed on, noted on stderr, nothing breaks")
    check("a note on stderr" in err, "the server's stderr is the proxy's")
    silent = os.path.join(work, "silent_server.py")
    with open(silent, "w") as f:
        f.write("import sys, time\nfor line in sys.stdin:\n    pass\n")
    rc, out, err = raw_proxy(breakerctl, ["--tenant", "acme", "--db", os.path.join(work, "bad4.sqlite"), "--", sys.executable, silent], [INIT])
    check(rc == 0 and out == [], "a server that never initializes: the proxy stops it when the client leaves, exit 0")
    print("mcp-proxy: all checks passed")


if __name__ == "__main__":
    main()
