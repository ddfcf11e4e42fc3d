"""A client for `breakerctl serve` (TenantBreaker, SPEC §12): one file, standard library only.

Copy it into your code base. Wrap each tool call so that a degraded tool answers with a
structured "tool unavailable" result your agent can re-plan around, instead of an exception
or a hang:

    from tenantbreaker_client import BreakerClient

    breaker = BreakerClient("http://127.0.0.1:8710")

    result = breaker.run("acme", "web_search", turn_id, search, "query text")
    if BreakerClient.is_unavailable(result):
        ...  # hand `result` to the model as the tool's result; it says what happened

    @breaker.tool("web_search")
    def web_search(query, *, tenant, turn):
        return search(query)

    system_prompt += breaker.system_prompt_note("acme") or ""

`run` admits the call, runs the tool if admitted, and completes it: success, failure (the
exception's type name is recorded, and the exception re-raised) or cancelled (KeyboardInterrupt
and the like). A rejected call returns the degradation signal of SPEC §5 without running the
tool. A tool that outlives its call timeout is recorded as a timeout by the service, and `run`
returns the timeout signal. If the service itself cannot be reached, `run` calls the tool
unguarded (`fail_open=True`, the default) or raises `BreakerUnavailable`.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["BreakerClient", "BreakerError", "BreakerUnavailable"]


class BreakerError(Exception):
    """The service refused a request (4xx): `status` and the service's `message`."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class BreakerUnavailable(Exception):
    """The service could not be reached."""


class BreakerClient:
    def __init__(self, base_url="http://127.0.0.1:8710", token=None, timeout=5.0, fail_open=True):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.fail_open = fail_open

    # -- the agent's side -------------------------------------------------------------------

    def admit(self, tenant, tool, turn):
        """`{"admitted": True, "permit", "call_timeout_ms", "probe"}` or `{"admitted": False, "signal"}`."""
        return self._json("POST", "/v1/admit", {"tenant": tenant, "tool": tool, "turn": turn})

    def complete(self, permit, outcome, error_type=None):
        """Records how an admitted call ended: "success", "failure" or "cancelled".

        Returns `{"recorded", "stale", "state"}`, or `{"recorded": "timeout"}` when the call's
        deadline had passed (the service recorded a timeout)."""
        body = {"permit": permit, "outcome": outcome}
        if error_type is not None:
            body["error_type"] = error_type
        try:
            return self._json("POST", "/v1/complete", body)
        except BreakerError as e:
            if e.status == 409:
                return {"recorded": "timeout"}
            raise

    def run(self, tenant, tool, turn, fn, *args, **kwargs):
        """Runs `fn(*args, **kwargs)` as one call of `tool` for `tenant` in `turn`, under the breaker.

        Returns `fn`'s result, or the degradation signal (a dict with "status": "tool_unavailable")
        when the call is rejected or timed out. Exceptions from `fn` are recorded and re-raised."""
        try:
            admission = self.admit(tenant, tool, turn)
        except BreakerUnavailable:
            if self.fail_open:
                return fn(*args, **kwargs)
            raise
        if not admission["admitted"]:
            return admission["signal"]
        permit = admission["permit"]
        try:
            result = fn(*args, **kwargs)
        except Exception as e:
            self._complete_quietly(permit, "failure", type(e).__name__[:128] or "Error")
            raise
        except BaseException:
            self._complete_quietly(permit, "cancelled")
            raise
        answer = self._complete_quietly(permit, "success")
        if answer and answer.get("recorded") == "timeout":
            return self.timeout_signal(tool, admission["call_timeout_ms"])
        return result

    def tool(self, name):
        """A decorator: the wrapped function takes `tenant=` and `turn=` keywords and runs under
        the breaker as tool `name` (see `run`)."""

        def wrap(fn):
            def guarded(*args, tenant, turn, **kwargs):
                return self.run(tenant, name, turn, fn, *args, **kwargs)

            guarded.__name__ = getattr(fn, "__name__", name)
            guarded.__doc__ = getattr(fn, "__doc__", None)
            return guarded

        return wrap

    def unavailable_tools(self, tenant):
        """The tools `tenant` cannot use now: `[{"tool_name", "reason", "retry_after_seconds"}, …]`."""
        return self._unavailable(tenant)["tools"]

    def system_prompt_note(self, tenant):
        """A note for the agent's system prompt naming the tools that are down, or None."""
        return self._unavailable(tenant)["system_prompt_note"]

    @staticmethod
    def is_unavailable(result):
        """Whether `result` (from `run`) is the degradation signal rather than the tool's result."""
        return isinstance(result, dict) and result.get("status") == "tool_unavailable" and "retry_after_seconds" in result

    @staticmethod
    def timeout_signal(tool, call_timeout_ms):
        return {
            "status": "tool_unavailable",
            "tool_name": tool,
            "reason": "tool_call_timeout",
            "message": f"The tool '{tool}' is temporarily unavailable because this call took too long "
            f"(over {call_timeout_ms} ms) and was abandoned. Re-plan your approach without this tool, "
            "or tell the user that this capability is limited right now.",
            "retry_after_seconds": 0,
        }

    # -- operators --------------------------------------------------------------------------

    def force_open(self, tool, actor, reason, tenant=None, hold=False):
        return self._json("POST", "/v1/operator/force-open", {"tool": tool, "tenant": tenant, "hold": hold, "actor": actor, "reason": reason})

    def release(self, tool, actor, reason, tenant=None):
        return self._json("POST", "/v1/operator/release", {"tool": tool, "tenant": tenant, "actor": actor, "reason": reason})

    def reset(self, tenant, tool, actor, reason):
        return self._json("POST", "/v1/operator/reset", {"tool": tool, "tenant": tenant, "actor": actor, "reason": reason})

    def configure(self, config, actor, reason):
        return self._json("POST", "/v1/operator/configure", {"config": config, "actor": actor, "reason": reason})

    def report_csv(self, tenant=None, hour_from=None, hour_to=None):
        query = {"tenant": tenant} if tenant is not None else {"all": "1"}
        if hour_from:
            query["from"] = hour_from
        if hour_to:
            query["to"] = hour_to
        return self._request("GET", "/v1/report.csv?" + urllib.parse.urlencode(query))[1].decode("utf-8")

    # -- plumbing ---------------------------------------------------------------------------

    def _unavailable(self, tenant):
        return self._json("GET", "/v1/tenants/" + urllib.parse.quote(tenant, safe="") + "/unavailable-tools")

    def _complete_quietly(self, permit, outcome, error_type=None):
        try:
            return self.complete(permit, outcome, error_type)
        except (BreakerError, BreakerUnavailable):
            return None

    def _json(self, method, path, body=None):
        status, data = self._request(method, path, body)
        return json.loads(data)

    def _request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                message = json.loads(payload).get("error", "")
            except ValueError:
                message = payload.decode("utf-8", "replace")
            if e.code == 409:
                raise BreakerError(409, "timeout")
            if e.code == 429:
                # A new key beyond the service's limits.maxKeys: nothing was recorded; like an
                # unreachable service, the call runs unguarded (fail open).
                raise BreakerUnavailable(f"{self.base_url} holds its limit of keys: {message}")
            raise BreakerError(e.code, message)
        except (urllib.error.URLError, OSError) as e:
            raise BreakerUnavailable(f"cannot reach {self.base_url}: {e}")
