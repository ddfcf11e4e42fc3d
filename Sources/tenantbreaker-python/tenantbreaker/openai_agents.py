"""OpenAI Agents SDK tools under the breaker: `guard(function_tool, breaker)`.

    from agents import Agent, Runner, function_tool
    from tenantbreaker import AsyncBreakerClient
    from tenantbreaker.openai_agents import guard

    @function_tool(failure_error_function=None)   # let its exceptions reach the breaker
    async def web_search(query: str) -> str: ...

    agent = Agent(name="helper", tools=[guard(web_search, breaker)])
    await Runner.run(agent, question, context=Turn(tenant="acme", turn=turn_id))

The guarded tool keeps the name, description and JSON schema the model sees. The tenant and
turn come from the run's context object (attributes, or keys of a mapping, `tenant` and `turn`),
else from a `breaker.turn(...)` scope. A rejection, a failure or a timeout is the tool's output
as the §5 signal's JSON. A tool made with the SDK's default `failure_error_function` turns its
own exceptions into a message before the breaker sees them, so they count as successes: make it
with `failure_error_function=None`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Tuple, Union

from agents import FunctionTool
from agents.tool_context import ToolContext

from ._async import AsyncBreakerClient
from ._common import current_turn, dumps, is_unavailable, scope_from
from ._sync import BreakerClient

__all__ = ["guard"]


def _scope(context: Any) -> Optional[Tuple[str, str]]:
    if isinstance(context, dict):
        return scope_from(context)
    tenant, turn = getattr(context, "tenant", None), getattr(context, "turn", None)
    if isinstance(tenant, str) and isinstance(turn, str):
        return tenant, turn
    return current_turn()


def guard(tool: FunctionTool, breaker: Union[AsyncBreakerClient, BreakerClient]) -> FunctionTool:
    """`tool` under the breaker, with its name, description and schema."""
    client = breaker if isinstance(breaker, AsyncBreakerClient) else breaker.async_twin()
    inner = tool.on_invoke_tool
    name = tool.name

    async def on_invoke_tool(ctx: ToolContext[Any], args_json: str) -> Any:
        scope = _scope(ctx.context)
        if scope is None:
            result = await client.call(name, inner, ctx, args_json)
        else:
            result = await client.guarded_call(scope[0], name, scope[1], inner, (ctx, args_json), {}, on_error="signal")
        return dumps(result) if is_unavailable(result) else result

    return dataclasses.replace(tool, on_invoke_tool=on_invoke_tool)
