"""``BreakerClient``: the blocking client, for tools that are plain functions."""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, TypeVar, cast

import http.client
import json

from ._transport import SyncTransport
from ._common import (
    DEFAULT_URL,
    Abandoned,
    BreakerError,
    BreakerUnavailable,
    FailOpenLog,
    Signal,
    TurnScope,
    action_body,
    answer,
    audit_query,
    auth_headers,
    body as json_body,
    current_turn,
    error_type,
    failure_signal,
    is_async_callable,
    report_query,
    text_answer,
    timeout_signal,
    turn,
    unavailable_path,
)

if TYPE_CHECKING:
    from ._async import AsyncBreakerClient

F = TypeVar("F", bound=Callable[..., Any])


class _Deadline(Exception):
    """The call's deadline passed before the tool returned."""


class BreakerClient:
    """A client of `breakerctl serve` for one process: one pooled HTTP connection per host,
    reused by every call (httpx keeps it alive).

    Every agent-side method fails open: when the service cannot be reached (or refuses the
    request), the tool runs unguarded, `unavailable_tools` is empty and `system_prompt_note` is
    None — with a warning through `logging` ("tenantbreaker") at most every 10 s — and nothing
    raises into the agent's turn. `fail_open=False` raises ``BreakerUnavailable`` instead.
    Operator actions and reports raise: they are not part of a turn.

    A tool's own exception is recorded as a failure (its type's name) and re-raised; with
    `on_error="signal"` the failure's degradation signal is returned instead.

    The call timeout of the admission is enforced: an `async def` tool is cancelled at its
    deadline; a plain function runs in a thread of its own and is *abandoned* at its deadline (a
    Python thread cannot be stopped: it finishes on its own, its result discarded). Either way
    the caller gets the timeout signal at the deadline and the service records a timeout. With
    `thread_timeouts=False` plain functions run in the caller's thread, unbounded.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: Optional[str] = None,
        timeout: float = 5.0,
        fail_open: bool = True,
        on_error: str = "raise",
        thread_timeouts: bool = True,
    ) -> None:
        if on_error not in ("raise", "signal"):
            raise ValueError('on_error must be "raise" or "signal"')
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.fail_open = fail_open
        self.on_error = on_error
        self.thread_timeouts = thread_timeouts
        self._http = SyncTransport(self.base_url, timeout, auth_headers(token))
        self._log = FailOpenLog()
        self._twin: Optional["AsyncBreakerClient"] = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "BreakerClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    turn = staticmethod(turn)
    """`with breaker.turn(tenant, turn_id):` — the calls inside belong to that turn."""

    # -- the agent's side ----------------------------------------------------------------------

    def admit(self, tenant: str, tool: str, turn: str) -> Dict[str, Any]:
        """`{"admitted": True, "permit", "call_timeout_ms", "probe"}` or `{"admitted": False, "signal"}`.
        Raises ``BreakerUnavailable`` or ``BreakerError`` (the low-level call; `run` fails open)."""
        return cast(Dict[str, Any], self._post("/v1/admit", {"tenant": tenant, "tool": tool, "turn": turn}))

    def complete(self, permit: str, outcome: str, error_type: Optional[str] = None) -> Dict[str, Any]:
        """Records how an admitted call ended: "success", "failure" or "cancelled". Returns
        `{"recorded", "stale", "state", "retry_after_seconds"}`, or `{"recorded": "timeout"}` when
        the call's deadline had passed (the service recorded a timeout)."""
        body: Dict[str, Any] = {"permit": permit, "outcome": outcome}
        if error_type is not None:
            body["error_type"] = error_type
        return cast(Dict[str, Any], self._post("/v1/complete", body))

    def run(self, tenant: str, tool: str, turn: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Runs `fn(*args, **kwargs)` as one call of `tool` for `tenant` in `turn`: its result,
        or the degradation signal when the call is rejected or times out (see the class)."""
        return self.guarded_call(tenant, tool, turn, fn, args, kwargs, on_error=self.on_error)

    def guarded_call(
        self, tenant: str, tool: str, turn: str, fn: Callable[..., Any], args: Any, kwargs: Any, *, on_error: str
    ) -> Any:
        """``run`` with its arguments as a tuple and a dict, and `on_error` of its own."""
        if is_async_callable(fn):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                raise TypeError(f"{tool}: an async tool inside a running event loop needs AsyncBreakerClient (or await breaker.tool(...))")
        admission = self._admission(tenant, tool, turn)
        if admission is None:
            return self._unguarded(fn, args, kwargs)
        if not admission["admitted"]:
            return admission["signal"]
        permit = admission["permit"]
        try:
            result = self._execute(fn, args, kwargs, admission["call_timeout_ms"] / 1000)
        except _Deadline:
            return timeout_signal(tool)
        except Exception as e:
            done = self._complete_quietly(permit, "failure", error_type(e))
            if on_error == "signal":
                return failure_signal(tool, error_type(e), int((done or {}).get("retry_after_seconds", 0)))
            raise
        except BaseException:
            self._complete_quietly(permit, "cancelled")
            raise
        done = self._complete_quietly(permit, "success")
        if done and done.get("recorded") == "timeout":
            return timeout_signal(tool)
        return result

    def call(self, tool: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``run`` with the tenant and turn of the current ``turn`` scope."""
        scope = current_turn()
        if scope is None:
            if not self.fail_open:
                raise LookupError(f"{tool}: no turn scope; wrap the agent's turn in `with breaker.turn(tenant, turn_id):`")
            self._log.warn(f"{tool} called outside any `breaker.turn(...)` scope", LookupError("no tenant or turn"))
            return self._unguarded(fn, args, kwargs)
        return self.run(scope[0], tool, scope[1], fn, *args, **kwargs)

    def tool(self, name: Optional[str] = None) -> Callable[[F], F]:
        """A decorator: the function runs under the breaker as tool `name` (default: its own
        name), with the tenant and turn of the current ``turn`` scope. Its signature, name and
        docstring are kept (`functools.wraps`), so framework schemas do not change. An
        `async def` stays a coroutine function."""

        def wrap(fn: F) -> F:
            tool_name: str = name or str(getattr(fn, "__name__", "tool"))
            if is_async_callable(fn):

                @functools.wraps(fn)
                async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                    return await self.async_twin().call(tool_name, fn, *args, **kwargs)

                return cast(F, guarded_async)

            @functools.wraps(fn)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                return self.call(tool_name, fn, *args, **kwargs)

            return cast(F, guarded)

        return wrap

    def unavailable_tools(self, tenant: Optional[str] = None) -> List[Dict[str, Any]]:
        """The tools `tenant` (default: the current scope's) cannot use now:
        `[{"tool_name", "reason", "retry_after_seconds"}, …]`; `[]` when the service is down."""
        found = self._unavailable(tenant)
        return cast(List[Dict[str, Any]], found["tools"]) if found else []

    def system_prompt_note(self, tenant: Optional[str] = None) -> Optional[str]:
        """A note for the agent's system prompt naming the tools that are down, or None."""
        found = self._unavailable(tenant)
        return cast(Optional[str], found["system_prompt_note"]) if found else None

    # -- operators and reports (these raise) ---------------------------------------------------

    def force_open(self, tool: str, *, actor: str, reason: str, tenant: Optional[str] = None, hold: bool = False) -> Any:
        return self._post("/v1/operator/force-open", action_body(tool, actor, reason, tenant, hold))

    def release(self, tool: str, *, actor: str, reason: str, tenant: Optional[str] = None) -> Any:
        return self._post("/v1/operator/release", action_body(tool, actor, reason, tenant))

    def reset(self, tenant: str, tool: str, *, actor: str, reason: str) -> Any:
        return self._post("/v1/operator/reset", action_body(tool, actor, reason, tenant))

    def configure(self, config: Dict[str, Any], *, actor: str, reason: str) -> Any:
        return self._post("/v1/operator/configure", {"config": config, "actor": actor, "reason": reason})

    def report(
        self, tenant: Optional[str] = None, *, hour_from: Optional[str] = None, hour_to: Optional[str] = None, shadow: bool = False
    ) -> List[Dict[str, Any]]:
        """The SLA report's rows (SPEC §9) for `tenant`, or every tenant."""
        response = self._send("GET", "/v1/report.json", params=report_query(tenant, hour_from, hour_to, shadow))
        return cast(List[Dict[str, Any]], answer(*response, self.base_url))

    def report_csv(
        self, tenant: Optional[str] = None, *, hour_from: Optional[str] = None, hour_to: Optional[str] = None, shadow: bool = False
    ) -> str:
        """`breakerctl report`'s CSV, byte for byte."""
        return text_answer(*self._send("GET", "/v1/report.csv", params=report_query(tenant, hour_from, hour_to, shadow)), self.base_url)

    def audit_csv(self, tenant: str, *, tool: Optional[str] = None, start: Optional[str] = None, end: Optional[str] = None) -> str:
        """`breakerctl audit`'s CSV for `tenant`."""
        return text_answer(*self._send("GET", "/v1/audit.csv", params=audit_query(tenant, tool, start, end)), self.base_url)

    # -- plumbing ------------------------------------------------------------------------------

    def async_twin(self) -> "AsyncBreakerClient":
        """An ``AsyncBreakerClient`` with the same settings (for `async def` tools)."""
        if self._twin is None:
            from ._async import AsyncBreakerClient

            self._twin = AsyncBreakerClient(
                self.base_url, token=self.token, timeout=self.timeout, fail_open=self.fail_open, on_error=self.on_error
            )
        return self._twin

    @property
    def connections_opened(self) -> int:
        """Connections this client opened so far (each is kept alive and reused)."""
        return self._http.opened

    def _send(self, method: str, path: str, payload: Any = None, params: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
        try:
            return self._http.request(method, path, None if payload is None else json_body(payload), params)
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise BreakerUnavailable(f"cannot reach {self.base_url}: {e}") from e

    def _post(self, path: str, payload: Dict[str, Any]) -> Any:
        return answer(*self._send("POST", path, payload), self.base_url)

    def _admission(self, tenant: str, tool: str, turn: str) -> Optional[Dict[str, Any]]:
        try:
            return self.admit(tenant, tool, turn)
        except (BreakerUnavailable, BreakerError) as e:
            if not self.fail_open:
                raise
            self._log.warn(f"cannot admit {tool} for {tenant}", e)
            return None

    def _complete_quietly(self, permit: str, outcome: str, error_type: Optional[str] = None) -> Optional[Dict[str, Any]]:
        try:
            return self.complete(permit, outcome, error_type)
        except (BreakerUnavailable, BreakerError) as e:
            self._log.warn("cannot record a call's outcome", e)
            return None

    def _unavailable(self, tenant: Optional[str]) -> Optional[Dict[str, Any]]:
        if tenant is None:
            scope = current_turn()
            if scope is None:
                raise LookupError("give the tenant, or call inside `with breaker.turn(tenant, turn_id):`")
            tenant = scope[0]
        try:
            return cast(Dict[str, Any], answer(*self._send("GET", unavailable_path(tenant)), self.base_url))
        except (BreakerUnavailable, BreakerError) as e:
            if not self.fail_open:
                raise
            self._log.warn(f"cannot read the unavailable tools of {tenant}", e)
            return None

    @staticmethod
    def _unguarded(fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        if is_async_callable(fn):
            return asyncio.run(fn(*args, **kwargs))
        return fn(*args, **kwargs)

    def _execute(self, fn: Callable[..., Any], args: Any, kwargs: Any, deadline: float) -> Any:
        if is_async_callable(fn):

            async def bounded() -> Any:
                task = asyncio.ensure_future(fn(*args, **kwargs))
                done, _ = await asyncio.wait({task}, timeout=deadline)
                if not done:
                    task.cancel()
                    raise _Deadline()
                return task.result()

            return asyncio.run(bounded())
        if not self.thread_timeouts:
            return fn(*args, **kwargs)
        work = Abandoned(fn, args, kwargs)
        if not work.done.wait(deadline):
            raise _Deadline()
        if work.error is not None:
            raise work.error
        return work.result


__all__ = ["BreakerClient", "BreakerError", "BreakerUnavailable", "Signal", "TurnScope"]
