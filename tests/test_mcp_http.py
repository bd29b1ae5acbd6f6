"""`policy-service mcp --http` end to end: a real server process on a free port, driven by the SDK's
Streamable HTTP client with bearer keys bound to agents (and by plain HTTP for what a client is refused)."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from helpers import BODY, EXAMPLE_POLICIES
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_client import structured, text_of, tool_args
from servers import free_port

from policy_service.decisionlog import DecisionStore
from policy_service.service.keys import ANY_AGENT, AgentScope, create_key, revoke_key

pytestmark = pytest.mark.anyio

EXECUTABLE = str(Path(sys.executable).with_name("policy-service"))
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Served:
    port: int
    database: str
    keys: dict[str, str]
    key_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


def _post(port: int, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/mcp", json.dumps(INITIALIZE),
                           {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: Any) -> Iterator[Served]:
    """One server for the module: keys bound to ag-101 and ag-102, an any-agent key and an auditor's."""
    root = tmp_path_factory.mktemp("mcp_http")
    key_file = root / "keys.json"
    keys = {
        "lucia": create_key(key_file, "lucia", ["agent_tool"], scope=AgentScope(agent="ag-101")),
        "jorge": create_key(key_file, "jorge", ["agent_tool"], scope=AgentScope(agent="ag-102")),
        "crm": create_key(key_file, "crm", ["agent_tool"], scope=ANY_AGENT),
        "auditor": create_key(key_file, "auditor", ["auditor"]),
        "leaving": create_key(key_file, "leaving", ["agent_tool"], scope=AgentScope(agent="ag-103")),
    }
    port, database = free_port(), f"sqlite:///{root / 'log.db'}"
    server = subprocess.Popen([EXECUTABLE, "mcp", "--http", "--bind", f"127.0.0.1:{port}", "--keys", str(key_file),
                               "--policies", str(EXAMPLE_POLICIES), "--database", database],
                              cwd=root, stdout=subprocess.DEVNULL, stderr=(root / "stderr.log").open("w"))
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (root / "stderr.log").read_text()
            try:
                if _post(port, {})[0] == 401:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the MCP server did not listen within 30 s"
            time.sleep(0.1)
        yield Served(port, database, keys, key_file)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _client(served: Served, http: httpx2.AsyncClient) -> Client:
    return Client(streamable_http_client(served.url, http_client=http))


def _http(key: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)


async def test_a_bound_key_acts_as_its_agent_and_another_agents_key_cannot_read_its_decisions(served: Served) -> None:
    """lucia's key decides as ag-101 (caller mcp:ag-101 in the log); jorge's key, bound to ag-102,
    gets not found for that decision."""
    async with _http(served.keys["lucia"]) as http, _client(served, http) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        decision = structured(await client.call_tool("evaluate_exception", tool_args(BODY)))
        mine = structured(await client.call_tool("get_decision", {"decision_id": decision["decision_id"]}))
    async with _http(served.keys["jorge"]) as http, _client(served, http) as client:
        theirs = await client.call_tool("get_decision", {"decision_id": decision["decision_id"]})
        own = structured(await client.call_tool("get_my_authority", {"action": "refund"}))
    assert tools == ["evaluate_exception", "get_my_authority", "get_decision", "report_outcome"]
    assert decision["outcome"] == "escalate" and decision["agent"]["id"] == "ag-101"
    assert mine["decision_id"] == decision["decision_id"]
    assert theirs.is_error and "among the decisions of agent ag-102" in text_of(theirs)
    assert own["agent"]["id"] == "ag-102"
    store = DecisionStore(served.database)
    logged = [e for e in store.chain() if e["decision_id"] == decision["decision_id"]]
    store.dispose()
    assert [(e["kind"], e["caller"]) for e in logged] == [("decision", "mcp:ag-101")]


def test_requests_without_a_bound_agent_key_are_refused(served: Served) -> None:
    """No key or an unknown one: 401 with a Bearer challenge; a key that is not an agent_tool key bound
    to one agent (an any-agent integration, an auditor): 403."""
    assert _post(served.port, {})[0] == 401
    assert _post(served.port, {"Authorization": "Bearer psk_not-a-key"})[0] == 401
    assert _post(served.port, {"Authorization": f"Bearer {served.keys['crm']}"})[0] == 403
    assert _post(served.port, {"Authorization": f"Bearer {served.keys['auditor']}"})[0] == 403
    assert _post(served.port, {"Authorization": f"Bearer {served.keys['lucia']}"})[0] == 200


async def test_the_sdk_client_without_a_key_cannot_connect(served: Served) -> None:
    """What a misconfigured host sees: the connection fails before anything is listed. (The SDK reports
    the 401 as a generic MCPError inside task-group exception groups, without the status.)"""
    listed = None
    with pytest.raises(BaseExceptionGroup) as refused:
        async with httpx2.AsyncClient(timeout=30) as http, _client(served, http) as client:
            listed = await client.list_tools()
    assert listed is None
    assert any(isinstance(error, MCPError) and "error response" in str(error) for error in _leaves(refused.value))


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def test_a_foreign_origin_or_host_is_refused(served: Served) -> None:
    """DNS-rebinding protection: a web page's Origin is refused (403), a Host this server does not
    answer to is refused (421), even with a good key."""
    good = {"Authorization": f"Bearer {served.keys['lucia']}"}
    origin_status, origin_body = _post(served.port, {**good, "Origin": "http://evil.example"})
    host_status, _ = _post(served.port, {**good, "Host": "evil.example"})
    assert (origin_status, origin_body) == (403, b"Invalid Origin header")
    assert host_status == 421


def test_the_http_server_needs_a_key_bound_to_an_agent_and_named_hosts(tmp_path: Path) -> None:
    """Without any agent_tool key bound to an agent nobody could call it: it does not start. Listening
    on every address needs the Host names clients use, or no request could pass the Host check."""
    from click.testing import CliRunner

    from policy_service.cli import main

    key_file = tmp_path / "keys.json"
    create_key(key_file, "auditor", ["auditor"])
    unusable = CliRunner().invoke(main, ["mcp", "--http", "--keys", str(key_file), "--policies", str(EXAMPLE_POLICIES)])
    wildcard = CliRunner().invoke(main, ["mcp", "--http", "--bind", "0.0.0.0:8765", "--keys", str(key_file)])
    assert unusable.exit_code == 1 and "no agent_tool key bound to an agent" in unusable.output
    assert wildcard.exit_code == 2 and "--allowed-host" in wildcard.output


def test_a_revoked_key_is_refused_by_the_running_server(served: Served) -> None:
    """The server follows the key file: `keys revoke` takes effect within about a second, no restart."""
    leaving = {"Authorization": f"Bearer {served.keys['leaving']}"}
    assert _post(served.port, leaving)[0] == 200
    revoke_key(served.key_file, "leaving")
    deadline = time.monotonic() + 5
    while _post(served.port, leaving)[0] != 401:
        assert time.monotonic() < deadline, "a revoked key still works after 5 s"
        time.sleep(0.2)
