"""LangChain tools under the breaker: `guard(tool, breaker)`.

    from tenantbreaker import BreakerClient
    from tenantbreaker.langchain import guard

    tools = [guard(t, breaker) for t in [web_search, crm_lookup]]
    agent.invoke(inputs, config={"configurable": {"tenant": "acme", "turn": turn_id}})

The guarded tool has the wrapped tool's name, description and argument schema, so the model sees
the same tool. The tenant and turn come from the `RunnableConfig` LangChain hands every tool
(`configurable`, else `metadata`, keys `tenant` and `turn`), else from a `breaker.turn(...)`
scope. A rejection, a failure (the tool raised) or a timeout is the tool's output as the §5
signal's JSON, so the model reads why and re-plans; nothing raises into the agent's loop.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import patch_config
from langchain_core.tools import BaseTool
from pydantic import ConfigDict

from ._async import AsyncBreakerClient
from ._common import current_turn, dumps, is_unavailable, scope_from
from ._sync import BreakerClient

__all__ = ["GuardedTool", "guard"]


def _scope(config: Optional[RunnableConfig]) -> Optional[Tuple[str, str]]:
    config = config or {}
    return scope_from(config.get("configurable")) or scope_from(config.get("metadata")) or current_turn()


def _input(args: Tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if args and not kwargs else kwargs


def _output(result: Any) -> Any:
    return dumps(result) if is_unavailable(result) else result


class GuardedTool(BaseTool):
    """A LangChain tool that runs `inner` under the breaker (see the module)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseTool
    breaker: BreakerClient
    async_breaker: AsyncBreakerClient

    def _run(
        self, *args: Any, config: RunnableConfig, run_manager: Optional[CallbackManagerForToolRun] = None, **kwargs: Any
    ) -> Any:
        child = patch_config(config, callbacks=run_manager.get_child() if run_manager else None)
        scope = _scope(config)
        if scope is None:
            return _output(self.breaker.call(self.name, self.inner.invoke, _input(args, kwargs), child))
        result = self.breaker.guarded_call(
            scope[0], self.name, scope[1], self.inner.invoke, (_input(args, kwargs), child), {}, on_error="signal"
        )
        return _output(result)

    async def _arun(
        self, *args: Any, config: RunnableConfig, run_manager: Optional[AsyncCallbackManagerForToolRun] = None, **kwargs: Any
    ) -> Any:
        child = patch_config(config, callbacks=run_manager.get_child() if run_manager else None)
        scope = _scope(config)
        if scope is None:
            return _output(await self.async_breaker.call(self.name, self.inner.ainvoke, _input(args, kwargs), child))
        result = await self.async_breaker.guarded_call(
            scope[0], self.name, scope[1], self.inner.ainvoke, (_input(args, kwargs), child), {}, on_error="signal"
        )
        return _output(result)


def guard(tool: BaseTool, breaker: Union[BreakerClient, AsyncBreakerClient]) -> GuardedTool:
    """`tool` under the breaker, with its name, description and argument schema."""
    sync = breaker if isinstance(breaker, BreakerClient) else breaker.sync_twin()
    asynchronous = breaker if isinstance(breaker, AsyncBreakerClient) else breaker.async_twin()
    return GuardedTool(
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        return_direct=tool.return_direct,
        response_format=tool.response_format,
        inner=tool,
        breaker=sync,
        async_breaker=asynchronous,
    )
