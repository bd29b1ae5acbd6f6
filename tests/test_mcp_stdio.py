"""`policy-service mcp --agent ID` end to end: a real subprocess (the venv's own executable) driven by
the SDK's stdio client, as Claude Desktop or Claude Code would launch it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import BODY, EXAMPLE_POLICIES
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_client import structured, text_of, tool_args

from policy_service.cli import main
from policy_service.decisionlog import DecisionStore

pytestmark = pytest.mark.anyio

EXECUTABLE = str(Path(sys.executable).with_name("policy-service"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _server(tmp_path: Path, agent: str, database: str) -> StdioServerParameters:
    return StdioServerParameters(command=EXECUTABLE, cwd=str(tmp_path),
                                 args=["mcp", "--agent", agent, "--policies", str(EXAMPLE_POLICIES), "--database", database])


async def test_a_stdio_server_lists_the_tools_decides_as_its_agent_and_records_it(tmp_path: Path) -> None:
    """Over a real pipe: the tools, an escalation, that decision read back, a refused argument, and the
    log (written by the subprocess) verifies with caller mcp:ag-101."""
    database = f"sqlite:///{tmp_path / 'log.db'}"
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(_server(tmp_path, "ag-101", database), errlog=errlog)) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            decision = structured(await client.call_tool("evaluate_exception", tool_args(BODY)))
            read_back = structured(await client.call_tool("get_decision", {"decision_id": decision["decision_id"]}))
            claimed = await client.call_tool("evaluate_exception", {**tool_args(BODY), "agent": {"id": "mgr-1"}})
    assert names == ["evaluate_exception", "get_my_authority", "get_decision", "report_outcome"]
    assert decision["outcome"] == "escalate" and decision["agent"] == {"id": "ag-101", "tier": "agent"}
    assert decision["escalation"]["say"] and decision["options"]
    assert read_back["state"]["approval"] == "pending"
    assert claimed.is_error and "acts for agent ag-101 only" in text_of(claimed)
    store = DecisionStore(database)
    logged = list(store.chain())
    store.dispose()
    assert [(e["kind"], e["caller"], e["decision_id"]) for e in logged] == [("decision", "mcp:ag-101", decision["decision_id"])]
    verified = CliRunner().invoke(main, ["audit", "verify", "--database", database])
    assert verified.exit_code == 0, verified.output


def test_an_agent_missing_from_the_directory_stops_the_server_at_start(tmp_path: Path) -> None:
    """No seat, no server: exit 1 naming the agent, before any client is served."""
    finished = subprocess.run([EXECUTABLE, "mcp", "--agent", "nobody", "--policies", str(EXAMPLE_POLICIES),
                               "--database", f"sqlite:///{tmp_path / 'log.db'}"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert finished.returncode == 1
    assert 'agent "nobody" is not in the agent directory' in finished.stderr
    assert finished.stdout == ""  # stdout is the protocol's: nothing else is ever written there


def test_the_command_takes_an_agent_or_http_not_both() -> None:
    """Over HTTP the key decides the agent; over stdio --agent does."""
    both = CliRunner().invoke(main, ["mcp", "--agent", "ag-101", "--http"])
    neither = CliRunner().invoke(main, ["mcp"])
    assert both.exit_code == 2 and neither.exit_code == 2
    assert "the key decides the agent" in both.output
