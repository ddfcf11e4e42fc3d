"""The framework adapters, driven by each framework's own loop and a scripted model (no model
calls), through a vendor outage of a real `breakerctl serve`."""

import asyncio
import json

from agents import Agent, ModelResponse, ModelSettings, RunConfig, Runner, Usage, function_tool, set_tracing_disabled
from agents.items import ToolCallOutputItem
from agents.models.interface import Model
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool as langchain_tool
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from tenantbreaker import AsyncBreakerClient, BreakerClient
from tenantbreaker.langchain import guard as guard_langchain_tool
from tenantbreaker.openai_agents import guard as guard_agents_tool

OUTAGE = {"defaults": {"failureThreshold": 2, "openTimeoutMs": 600000}}


class VendorDown(Exception):
    pass


def test_langchain_the_model_reads_the_signal_and_the_circuit_opens(serve_factory):
    serve = serve_factory(OUTAGE)
    vendor = {"down": True}

    @langchain_tool
    def web_search(query: str) -> str:
        """Searches the web."""
        if vendor["down"]:
            raise VendorDown("503 from the search vendor")
        return f"results for {query}"

    guarded = guard_langchain_tool(web_search, BreakerClient(serve.url))
    assert guarded.name == "web_search" and guarded.description == web_search.description
    assert guarded.tool_call_schema.model_json_schema() == web_search.tool_call_schema.model_json_schema(), "the model sees the same tool"

    # LangChain's own fake chat model scripts the agent: four searches, then an answer.
    calls = [AIMessage(content="", tool_calls=[{"name": "web_search", "args": {"query": f"q{i}"}, "id": f"call-{i}"}]) for i in range(3)]
    model = GenericFakeChatModel(messages=iter(calls + [AIMessage(content="done")]))
    tools = {"web_search": guarded}

    def agent_turn(tenant, turn_id, question):
        """The tool-calling loop of LangChain's docs: the model asks, the tools answer with ToolMessages."""
        messages = [HumanMessage(question)]
        config = {"configurable": {"tenant": tenant, "turn": turn_id}}
        while True:
            ai = model.invoke(messages)
            messages.append(ai)
            if not ai.tool_calls:
                return messages
            for call in ai.tool_calls:
                messages.append(tools[call["name"]].invoke(call, config=config))

    messages = agent_turn("acme", "turn-1", "what is new?")
    outputs = [json.loads(m.content) for m in messages if isinstance(m, ToolMessage)]
    assert [o["reason"] for o in outputs] == ["tool_call_exception:VendorDown", "tool_call_exception:VendorDown", "circuit_open"]
    assert all(o["status"] == "tool_unavailable" and "Re-plan" in o["message"] for o in outputs)
    assert outputs[1]["retry_after_seconds"] == 600, "the failure that opened the circuit says when a probe may run"
    assert messages[-1].content == "done", "the loop ran to the model's answer: nothing raised into it"
    assert serve.states()[("acme", "web_search")] == "open"
    turns = {r["turn"] for r in serve.export() if r["kind"] == "call"}
    assert turns == {"turn-1"}, "the turn came from the RunnableConfig"

    # Async tools and another tenant: globex's circuit is its own.
    vendor["down"] = False

    async def globex():
        aguarded = guard_langchain_tool(web_search, AsyncBreakerClient(serve.url))
        return await aguarded.ainvoke({"name": "web_search", "args": {"query": "x"}, "id": "c", "type": "tool_call"},
                                      config={"configurable": {"tenant": "globex", "turn": "g-1"}})

    answer = asyncio.run(globex())
    assert isinstance(answer, ToolMessage) and answer.content == "results for x"


class Turn:
    """The run context of the OpenAI Agents SDK: who the turn is for."""

    def __init__(self, tenant, turn):
        self.tenant = tenant
        self.turn = turn


class ScriptedModel(Model):
    """A model that calls web_search three times, then answers; it keeps what it was given."""

    def __init__(self):
        self.step = 0
        self.inputs = []

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs, tracing, **kw):
        self.inputs.append(input)
        self.step += 1
        if self.step <= 3:
            item = ResponseFunctionToolCall(type="function_call", call_id=f"call-{self.step}", name="web_search",
                                            arguments=json.dumps({"query": f"q{self.step}"}), id=f"fc-{self.step}", status="completed")
        else:
            item = ResponseOutputMessage(type="message", id="msg", role="assistant", status="completed",
                                         content=[ResponseOutputText(type="output_text", text="done", annotations=[])])
        return ModelResponse(output=[item], usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError


def test_openai_agents_the_model_reads_the_signal_and_the_circuit_opens(serve_factory):
    set_tracing_disabled(True)
    serve = serve_factory(OUTAGE)

    @function_tool(failure_error_function=None)
    async def web_search(query: str) -> str:
        """Searches the web."""
        raise VendorDown("503 from the search vendor")

    guarded = guard_agents_tool(web_search, AsyncBreakerClient(serve.url))
    assert guarded.name == web_search.name and guarded.params_json_schema == web_search.params_json_schema

    model = ScriptedModel()
    agent = Agent(name="helper", instructions="Answer.", tools=[guarded], model=model, model_settings=ModelSettings())
    result = asyncio.run(Runner.run(agent, "what is new?", context=Turn("acme", "turn-1"), max_turns=8,
                                    run_config=RunConfig(tracing_disabled=True)))
    outputs = [json.loads(i.output) for i in result.new_items if isinstance(i, ToolCallOutputItem)]
    assert [o["reason"] for o in outputs] == ["tool_call_exception:VendorDown", "tool_call_exception:VendorDown", "circuit_open"]
    assert result.final_output == "done"
    # What the model was given back: the signal, as the function call's output.
    fed_back = [item["output"] for item in model.inputs[-1] if isinstance(item, dict) and item.get("type") == "function_call_output"]
    assert [json.loads(o)["reason"] for o in fed_back][-1] == "circuit_open"
    assert serve.states()[("acme", "web_search")] == "open"
    assert {r["turn"] for r in serve.export() if r["kind"] == "call"} == {"turn-1"}, "the turn came from the run context"
