"""``AsyncBreakerClient``: the asyncio client, with the surface of ``BreakerClient``."""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, TypeVar, cast

import json

from ._transport import AsyncTransport
from ._common import (
    DEFAULT_URL,
    Abandoned,
    BreakerError,
    BreakerUnavailable,
    FailOpenLog,
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
    from ._sync import BreakerClient

F = TypeVar("F", bound=Callable[..., Any])


class _Deadline(Exception):
    """The call's deadline passed before the tool returned."""


class AsyncBreakerClient:
    """``BreakerClient`` for asyncio: every method is a coroutine, the HTTP connection is pooled
    and kept alive (httpx.AsyncClient).

    An `async def` tool is cancelled at its call deadline; a plain function runs in a thread of
    its own and is abandoned at its deadline (it cannot be stopped). Failing open, errors and
    signals are as in ``BreakerClient``.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: Optional[str] = None,
        timeout: float = 5.0,
        fail_open: bool = True,
        on_error: str = "raise",
    ) -> None:
        if on_error not in ("raise", "signal"):
            raise ValueError('on_error must be "raise" or "signal"')
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.fail_open = fail_open
        self.on_error = on_error
        self._http = AsyncTransport(self.base_url, timeout, auth_headers(token))
        self._log = FailOpenLog()
        self._twin: Optional["BreakerClient"] = None

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._twin is not None:
            self._twin.close()

    async def __aenter__(self) -> "AsyncBreakerClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    turn = staticmethod(turn)
    """`async with breaker.turn(tenant, turn_id):` — the calls inside belong to that turn."""

    # -- the agent's side ----------------------------------------------------------------------

    async def admit(self, tenant: str, tool: str, turn: str) -> Dict[str, Any]:
        return cast(Dict[str, Any], await self._post("/v1/admit", {"tenant": tenant, "tool": tool, "turn": turn}))

    async def complete(self, permit: str, outcome: str, error_type: Optional[str] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"permit": permit, "outcome": outcome}
        if error_type is not None:
            body["error_type"] = error_type
        return cast(Dict[str, Any], await self._post("/v1/complete", body))

    async def run(self, tenant: str, tool: str, turn: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Runs `fn(*args, **kwargs)` (an `async def` or a plain function) as one call of `tool`
        for `tenant` in `turn`: its result, or the degradation signal."""
        return await self.guarded_call(tenant, tool, turn, fn, args, kwargs, on_error=self.on_error)

    async def guarded_call(
        self, tenant: str, tool: str, turn: str, fn: Callable[..., Any], args: Any, kwargs: Any, *, on_error: str
    ) -> Any:
        """``run`` with its arguments as a tuple and a dict, and `on_error` of its own."""
        admission = await self._admission(tenant, tool, turn)
        if admission is None:
            return await self._unguarded(fn, args, kwargs)
        if not admission["admitted"]:
            return admission["signal"]
        permit = admission["permit"]
        try:
            result = await self._execute(fn, args, kwargs, admission["call_timeout_ms"] / 1000)
        except _Deadline:
            return timeout_signal(tool)
        except Exception as e:
            done = await self._complete_quietly(permit, "failure", error_type(e))
            if on_error == "signal":
                return failure_signal(tool, error_type(e), int((done or {}).get("retry_after_seconds", 0)))
            raise
        except BaseException:
            # The caller's task was cancelled (the turn aborted): recorded as cancelled, unless
            # the loop is going away too.
            try:
                await asyncio.shield(self._complete_quietly(permit, "cancelled"))
            except BaseException:
                pass
            raise
        done = await self._complete_quietly(permit, "success")
        if done and done.get("recorded") == "timeout":
            return timeout_signal(tool)
        return result

    async def call(self, tool: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``run`` with the tenant and turn of the current ``turn`` scope."""
        scope = current_turn()
        if scope is None:
            if not self.fail_open:
                raise LookupError(f"{tool}: no turn scope; wrap the agent's turn in `async with breaker.turn(tenant, turn_id):`")
            self._log.warn(f"{tool} called outside any `breaker.turn(...)` scope", LookupError("no tenant or turn"))
            return await self._unguarded(fn, args, kwargs)
        return await self.run(scope[0], tool, scope[1], fn, *args, **kwargs)

    def tool(self, name: Optional[str] = None) -> Callable[[F], F]:
        """The decorator of ``BreakerClient.tool``: the signature is kept; an `async def` stays a
        coroutine function, a plain function stays plain (it then uses a blocking twin)."""

        def wrap(fn: F) -> F:
            tool_name: str = name or str(getattr(fn, "__name__", "tool"))
            if is_async_callable(fn):

                @functools.wraps(fn)
                async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                    return await self.call(tool_name, fn, *args, **kwargs)

                return cast(F, guarded_async)

            @functools.wraps(fn)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                return self.sync_twin().call(tool_name, fn, *args, **kwargs)

            return cast(F, guarded)

        return wrap

    async def unavailable_tools(self, tenant: Optional[str] = None) -> List[Dict[str, Any]]:
        found = await self._unavailable(tenant)
        return cast(List[Dict[str, Any]], found["tools"]) if found else []

    async def system_prompt_note(self, tenant: Optional[str] = None) -> Optional[str]:
        found = await self._unavailable(tenant)
        return cast(Optional[str], found["system_prompt_note"]) if found else None

    # -- operators and reports (these raise) ---------------------------------------------------

    async def force_open(self, tool: str, *, actor: str, reason: str, tenant: Optional[str] = None, hold: bool = False) -> Any:
        return await self._post("/v1/operator/force-open", action_body(tool, actor, reason, tenant, hold))

    async def release(self, tool: str, *, actor: str, reason: str, tenant: Optional[str] = None) -> Any:
        return await self._post("/v1/operator/release", action_body(tool, actor, reason, tenant))

    async def reset(self, tenant: str, tool: str, *, actor: str, reason: str) -> Any:
        return await self._post("/v1/operator/reset", action_body(tool, actor, reason, tenant))

    async def configure(self, config: Dict[str, Any], *, actor: str, reason: str) -> Any:
        return await self._post("/v1/operator/configure", {"config": config, "actor": actor, "reason": reason})

    async def report(
        self, tenant: Optional[str] = None, *, hour_from: Optional[str] = None, hour_to: Optional[str] = None, shadow: bool = False
    ) -> List[Dict[str, Any]]:
        response = await self._send("GET", "/v1/report.json", params=report_query(tenant, hour_from, hour_to, shadow))
        return cast(List[Dict[str, Any]], answer(*response, self.base_url))

    async def report_csv(
        self, tenant: Optional[str] = None, *, hour_from: Optional[str] = None, hour_to: Optional[str] = None, shadow: bool = False
    ) -> str:
        response = await self._send("GET", "/v1/report.csv", params=report_query(tenant, hour_from, hour_to, shadow))
        return text_answer(*response, self.base_url)

    async def audit_csv(self, tenant: str, *, tool: Optional[str] = None, start: Optional[str] = None, end: Optional[str] = None) -> str:
        response = await self._send("GET", "/v1/audit.csv", params=audit_query(tenant, tool, start, end))
        return text_answer(*response, self.base_url)

    # -- plumbing ------------------------------------------------------------------------------

    def sync_twin(self) -> "BreakerClient":
        """A ``BreakerClient`` with the same settings (for plain-function tools)."""
        if self._twin is None:
            from ._sync import BreakerClient

            self._twin = BreakerClient(
                self.base_url, token=self.token, timeout=self.timeout, fail_open=self.fail_open, on_error=self.on_error
            )
        return self._twin

    @property
    def connections_opened(self) -> int:
        """Connections this client opened so far (each is kept alive and reused)."""
        return self._http.opened

    async def _send(self, method: str, path: str, payload: Any = None, params: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
        try:
            return await self._http.request(method, path, None if payload is None else json_body(payload), params)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            raise BreakerUnavailable(f"cannot reach {self.base_url}: {e}") from e

    async def _post(self, path: str, payload: Dict[str, Any]) -> Any:
        return answer(*await self._send("POST", path, payload), self.base_url)

    async def _admission(self, tenant: str, tool: str, turn: str) -> Optional[Dict[str, Any]]:
        try:
            return await self.admit(tenant, tool, turn)
        except (BreakerUnavailable, BreakerError) as e:
            if not self.fail_open:
                raise
            self._log.warn(f"cannot admit {tool} for {tenant}", e)
            return None

    async def _complete_quietly(self, permit: str, outcome: str, error_type: Optional[str] = None) -> Optional[Dict[str, Any]]:
        try:
            return await self.complete(permit, outcome, error_type)
        except (BreakerUnavailable, BreakerError) as e:
            self._log.warn("cannot record a call's outcome", e)
            return None

    async def _unavailable(self, tenant: Optional[str]) -> Optional[Dict[str, Any]]:
        if tenant is None:
            scope = current_turn()
            if scope is None:
                raise LookupError("give the tenant, or call inside `async with breaker.turn(tenant, turn_id):`")
            tenant = scope[0]
        try:
            return cast(Dict[str, Any], answer(*await self._send("GET", unavailable_path(tenant)), self.base_url))
        except (BreakerUnavailable, BreakerError) as e:
            if not self.fail_open:
                raise
            self._log.warn(f"cannot read the unavailable tools of {tenant}", e)
            return None

    @staticmethod
    async def _unguarded(fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        if is_async_callable(fn):
            return await fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    @staticmethod
    async def _execute(fn: Callable[..., Any], args: Any, kwargs: Any, deadline: float) -> Any:
        if is_async_callable(fn):
            task = asyncio.ensure_future(fn(*args, **kwargs))
            try:
                done, _ = await asyncio.wait({task}, timeout=deadline)
            except BaseException:
                task.cancel()
                raise
            if not done:
                task.cancel()
                raise _Deadline()
            return task.result()
        work = Abandoned(fn, args, kwargs)
        if not await asyncio.to_thread(work.done.wait, deadline):
            raise _Deadline()
        if work.error is not None:
            raise work.error
        return work.result


__all__ = ["AsyncBreakerClient"]
