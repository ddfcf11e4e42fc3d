"""TenantBreaker's client: every tool call of an agent under a circuit breaker for its (tenant,
tool), served by `breakerctl serve`.

    from tenantbreaker import BreakerClient, is_unavailable

    breaker = BreakerClient("http://127.0.0.1:8710")

    @breaker.tool("web_search")          # the signature is kept: frameworks see the same tool
    def web_search(query: str) -> str:
        return search(query)

    with breaker.turn("acme", turn_id):  # the tenant and turn of every call inside
        result = web_search("query")     # the result, or the "tool unavailable" signal
        note = breaker.system_prompt_note() or ""

`AsyncBreakerClient` has the same surface for asyncio; `tenantbreaker.langchain` and
`tenantbreaker.openai_agents` wrap the tools of those frameworks.
"""

from ._async import AsyncBreakerClient
from ._common import (
    BreakerError,
    BreakerUnavailable,
    Signal,
    TurnScope,
    current_turn,
    failure_signal,
    is_unavailable,
    timeout_signal,
    turn,
)
from ._sync import BreakerClient

__all__ = [
    "AsyncBreakerClient",
    "BreakerClient",
    "BreakerError",
    "BreakerUnavailable",
    "Signal",
    "TurnScope",
    "current_turn",
    "failure_signal",
    "is_unavailable",
    "timeout_signal",
    "turn",
]
