"""What the MCP tests share, imported as `from mcp_client import ...`: the service state a server runs
on, an in-process SDK client connected to a server seated as one agent, and reads of the log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from policy_service.assistants.server import build_server
from policy_service.assistants.tools import Seat
from policy_service.policytest.gate import failing_cases
from policy_service.service.state import ServiceState, open_state


def tool_args(body: dict[str, Any]) -> dict[str, Any]:
    """A POST /v1/decisions body as evaluate_exception's arguments: the same, without the agent."""
    return {key: value for key, value in body.items() if key != "agent"}


def mcp_state(policies: Path, database_url: str) -> ServiceState:
    return open_state(policies, database_url, gate=failing_cases)


@asynccontextmanager
async def connected(state: ServiceState, agent: str) -> AsyncIterator[Client]:
    """The SDK's own client, in memory, to a server acting as `agent`."""
    async with Client(build_server(state, lambda ctx: Seat(agent)), raise_exceptions=True) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def structured(result: CallToolResult) -> dict[str, Any]:
    """A successful result's structuredContent, checked against the JSON its text carries."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert json.loads(result.content[-1].text) == result.structured_content  # type: ignore[union-attr]
    return result.structured_content


def entries(state: ServiceState) -> list[dict[str, Any]]:
    """The whole log, oldest first."""
    return list(state.store.chain())
