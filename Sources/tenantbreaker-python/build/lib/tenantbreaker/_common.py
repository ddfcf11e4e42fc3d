"""What the sync and async clients share: signals, the turn scope, fail-open warnings, answers."""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

logger = logging.getLogger("tenantbreaker")

DEFAULT_URL = "http://127.0.0.1:8710"

Signal = Dict[str, Any]
"""SPEC §5's degradation signal: `{"status": "tool_unavailable", "tool_name", "reason", "message",
"retry_after_seconds"}`, handed to the model as the tool's result."""


class BreakerError(Exception):
    """The service refused a request (4xx): `status` and the service's `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class BreakerUnavailable(Exception):
    """The service could not be reached, or answered with a server error."""


# -- the turn scope --------------------------------------------------------------------------

_turn: contextvars.ContextVar[Optional[Tuple[str, str]]] = contextvars.ContextVar("tenantbreaker_turn", default=None)


class TurnScope:
    """`with breaker.turn(tenant, turn_id):` (or `async with`): the tool calls inside belong to
    this tenant's turn. Scopes nest; each task and thread copies the scope it was started in."""

    def __init__(self, tenant: str, turn: str) -> None:
        self.tenant = tenant
        self.turn = turn
        self._tokens: List[contextvars.Token[Optional[Tuple[str, str]]]] = []

    def __enter__(self) -> "TurnScope":
        self._tokens.append(_turn.set((self.tenant, self.turn)))
        return self

    def __exit__(self, *exc: object) -> None:
        _turn.reset(self._tokens.pop())

    async def __aenter__(self) -> "TurnScope":
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)


def turn(tenant: str, turn_id: str) -> TurnScope:
    """The scope of one agent turn of `tenant` (see ``TurnScope``)."""
    return TurnScope(tenant, turn_id)


def current_turn() -> Optional[Tuple[str, str]]:
    """(tenant, turn) of the innermost scope, or None outside any."""
    return _turn.get()


# -- signals ---------------------------------------------------------------------------------


def is_unavailable(result: object) -> bool:
    """Whether `result` is the degradation signal rather than the tool's own result."""
    return (
        isinstance(result, dict)
        and result.get("status") == "tool_unavailable"
        and "reason" in result
        and "retry_after_seconds" in result
    )


def _message(tool: str, why: str, retry_after_seconds: int) -> str:
    when = f" It may be available again in about {retry_after_seconds} s." if retry_after_seconds > 0 else ""
    return (
        f"The tool '{tool}' is temporarily unavailable because {why}.{when} Re-plan your approach without "
        "this tool, or tell the user that this capability is limited right now."
    )


def timeout_signal(tool: str, retry_after_seconds: int = 0) -> Signal:
    """The signal of a call abandoned at its call timeout (SPEC §5)."""
    return {
        "status": "tool_unavailable",
        "tool_name": tool,
        "reason": "tool_call_timeout",
        "message": _message(tool, "this call took too long and was abandoned", retry_after_seconds),
        "retry_after_seconds": retry_after_seconds,
    }


def failure_signal(tool: str, error_type: str, retry_after_seconds: int = 0) -> Signal:
    """The signal of a call whose tool raised (SPEC §5: `tool_call_exception:<ErrorTypeName>`)."""
    return {
        "status": "tool_unavailable",
        "tool_name": tool,
        "reason": f"tool_call_exception:{error_type}",
        "message": _message(tool, "this call failed", retry_after_seconds),
        "retry_after_seconds": retry_after_seconds,
    }


def error_type(error: BaseException) -> str:
    """The name recorded for a tool's error: its type's name (at most 128 bytes)."""
    name = type(error).__name__ or "Error"
    return name.encode("utf-8")[:128].decode("utf-8", "ignore") or "Error"


# -- failing open ----------------------------------------------------------------------------


class FailOpenLog:
    """One warning through `logging` at most every `interval` seconds, with the count held back."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last = -float("inf")
        self._held = 0

    def warn(self, what: str, error: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval:
                self._held += 1
                return
            held, self._held, self._last = self._held, 0, now
        more = f" ({held} more since the last warning)" if held else ""
        logger.warning("tenantbreaker: %s; running tools unguarded: %s%s", what, error, more)


# -- HTTP answers ----------------------------------------------------------------------------


def auth_headers(token: Optional[str]) -> Dict[str, str]:
    return {"Authorization": "Bearer " + token} if token else {}


def answer(status: int, data: bytes, base_url: str) -> Any:
    """The JSON of a 2xx answer; a 409 of /v1/complete as `{"recorded": "timeout"}`.

    Raises ``BreakerUnavailable`` for a 5xx or a 429 (a new key beyond the service's
    `limits.maxKeys`: nothing was recorded, so the call runs unguarded), ``BreakerError`` otherwise."""
    if 200 <= status < 300:
        return json.loads(data) if data else None
    if status == 409:
        return {"recorded": "timeout"}
    text = data.decode("utf-8", "replace")
    try:
        message = str(json.loads(text).get("error", ""))
    except (ValueError, AttributeError):
        message = text
    if status == 429 or status >= 500:
        raise BreakerUnavailable(f"{base_url} answered {status}: {message}")
    raise BreakerError(status, message)


def text_answer(status: int, data: bytes, base_url: str) -> str:
    if 200 <= status < 300:
        return data.decode("utf-8")
    answer(status, data, base_url)
    raise BreakerError(status, data.decode("utf-8", "replace"))


def body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def unavailable_path(tenant: str) -> str:
    return "/v1/tenants/" + quote(tenant, safe="") + "/unavailable-tools"


def report_query(tenant: Optional[str], hour_from: Optional[str], hour_to: Optional[str], shadow: bool) -> Dict[str, str]:
    query = {"tenant": tenant} if tenant is not None else {"all": "1"}
    if hour_from:
        query["from"] = hour_from
    if hour_to:
        query["to"] = hour_to
    if shadow:
        query["shadow"] = "1"
    return query


def audit_query(tenant: str, tool: Optional[str], start: Optional[str], end: Optional[str]) -> Dict[str, str]:
    query = {"tenant": tenant}
    if tool:
        query["tool"] = tool
    if start:
        query["from"] = start
    if end:
        query["to"] = end
    return query


def action_body(tool: str, actor: str, reason: str, tenant: Optional[str], hold: Optional[bool] = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {"tool": tool, "actor": actor, "reason": reason}
    if tenant is not None:
        body["tenant"] = tenant
    if hold is not None:
        body["hold"] = hold
    return body


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """Whether calling `fn` gives a coroutine (an `async def`, also behind partial or a method)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def scope_from(mapping: Optional[Mapping[str, Any]]) -> Optional[Tuple[str, str]]:
    """(tenant, turn) from a mapping with both keys, else None."""
    if mapping and isinstance(mapping.get("tenant"), str) and isinstance(mapping.get("turn"), str):
        return mapping["tenant"], mapping["turn"]
    return None


def dumps(signal: Signal) -> str:
    """The signal as the JSON text a model reads as the tool's output."""
    return json.dumps(signal, ensure_ascii=False)


class Abandoned:
    """A sync tool running in a thread of its own, so that the caller can stop waiting at the
    call's deadline. A Python thread cannot be stopped: past the deadline it is abandoned (left
    to finish on its own, its result discarded); the service records the call as a timeout."""

    def __init__(self, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: Optional[BaseException] = None
        context = contextvars.copy_context()

        def work() -> None:
            try:
                self.result = context.run(fn, *args, **kwargs)
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                self.error = e
            finally:
                self.done.set()

        threading.Thread(target=work, name="tenantbreaker-tool", daemon=True).start()
