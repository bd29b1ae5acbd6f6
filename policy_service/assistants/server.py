"""The SDK server for policy-service's tools, and `mcp --agent ID` over stdio.

One low-level `mcp.server.Server` serves every connection: its tools are listed from the live policy
set on each `tools/list` (so a reload changes the action enum and fields a model sees), and each call
is answered for the seat its connection acts as. `seat_of` says who that is: a fixed agent over stdio,
the bearer key's bound agent over HTTP (assistants/http.py).

The low-level server is used rather than the decorator layer because the input schemas are not a
Python signature: they are built from the organisation at request time.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from policy_service import __version__
from policy_service.assistants.tools import Seat, call_tool, list_tools
from policy_service.errors import StartupError
from policy_service.service.state import ServiceState

log = logging.getLogger(__name__)

SERVER_NAME = "policy-service"
INSTRUCTIONS = """This server is your organisation's policy service. Before you promise a customer anything \
beyond the standard process (money back, credit, compensation, a waived fee, a reshipment, more time to pay), \
call evaluate_exception and do what it answers: allow, escalate, deny or handoff, relaying its words (`say`). \
You act as one agent of the directory; your authority is that agent's, and no argument changes it."""

SeatOf = Callable[[ServerRequestContext[Any, Any]], Seat | None]


class NoSeatError(Exception):
    """A request reached a tool without an agent to act for (an HTTP request that got past the key check)."""


def build_server(state: ServiceState, seat_of: SeatOf) -> Server[Any]:
    """A server over `state` whose calls act for `seat_of(ctx)`."""

    async def on_list_tools(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        def tools() -> list[types.Tool]:
            state.live.sync()  # the schemas are the live organisation's, after any reload
            return list_tools(state.runtime.policy_set)
        return types.ListToolsResult(tools=await anyio.to_thread.run_sync(tools))

    async def on_call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        seat = seat_of(ctx)
        if seat is None:
            raise NoSeatError("no agent to act for")  # a protocol error: no model can fix missing credentials
        # Blocking work (the database, the engine) runs in a worker thread, never on the event loop.
        return await anyio.to_thread.run_sync(functools.partial(call_tool, state, seat, params.name, params.arguments))

    return Server(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS,
                  on_list_tools=on_list_tools, on_call_tool=on_call_tool)


def check_seat(state: ServiceState, agent_id: str) -> Seat:
    """The seat for `--agent ID`; StartupError when the live directory has no such agent."""
    agents = state.runtime.policy_set.agents
    if agent_id not in agents:
        raise StartupError(f'agent "{agent_id}" is not in the agent directory; one of: {", ".join(sorted(agents))}')
    return Seat(agent_id)


def run_stdio(state: ServiceState, agent_id: str) -> None:
    """Serve one client on stdin/stdout as `agent_id` until it closes the stream."""
    seat = check_seat(state, agent_id)
    server = build_server(state, lambda ctx: seat)

    async def serve() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    log.info("MCP server on stdio acting as agent %s", agent_id)
    anyio.run(serve)
