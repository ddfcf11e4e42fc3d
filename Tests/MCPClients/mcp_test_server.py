"""A small MCP server (the Python SDK, 1.x or 2.x) whose `search` tool can be made to fail, hang,
answer slowly or crash, for the mcp-proxy tests. MCP_TEST_STATE names a JSON file
{"search": "ok" | "raise" | "hang" | "slow" | "crash"}; MCP_TEST_MARKS a file the server appends
events to (a cancelled call)."""

import asyncio
import json
import os

try:  # mcp 2.x
    from mcp.server.mcpserver import Context, MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import Context, FastMCP as Server

from mcp.types import SamplingMessage, TextContent

server = Server("tenantbreaker-test")
STATE = os.environ.get("MCP_TEST_STATE", "")
MARKS = os.environ.get("MCP_TEST_MARKS", "")


def mode():
    try:
        with open(STATE) as f:
            return json.load(f).get("search", "ok")
    except (OSError, ValueError):
        return "ok"


def mark(text):
    if MARKS:
        with open(MARKS, "a") as f:
            f.write(text + "\n")


class VendorOutage(Exception):
    pass


@server.tool()
async def search(query: str) -> str:
    """Searches the web (a test double)."""
    m = mode()
    if m == "raise":
        raise VendorOutage("the search vendor is down")
    if m == "hang":
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            mark(f"cancelled search {query}")
            raise
    if m == "slow":
        await asyncio.sleep(0.3)
    if m == "crash":
        os._exit(3)
    return f"results for {query}"


@server.tool()
async def ping() -> str:
    """Always answers."""
    return "pong"


@server.tool()
async def ask_model(question: str, ctx: Context) -> str:
    """Asks the client's model (a sampling request from the server to the client)."""
    result = await ctx.session.create_message(
        messages=[SamplingMessage(role="user", content=TextContent(type="text", text=question))], max_tokens=20)
    return "model says: " + result.content.text


@server.tool()
async def ask_user(ctx: Context) -> str:
    """Asks the user through the client (an elicitation request from the server to the client)."""
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    result = await ctx.session.elicit_form("Which city?", schema)
    return f"user chose {result.content['city']}"


@server.tool()
async def client_roots(ctx: Context) -> str:
    """Lists the client's roots (a roots/list request from the server to the client)."""
    result = await ctx.session.list_roots()
    return ",".join(str(root.uri) for root in result.roots)


@server.resource("test://info")
def info() -> str:
    """A resource that passes through the proxy."""
    return "resource body"


@server.prompt()
def greet(name: str) -> str:
    """A prompt that passes through the proxy."""
    return f"Say hello to {name}."


if __name__ == "__main__":
    server.run()
