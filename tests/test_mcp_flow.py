"""An MCP client follows an escalation to its approval and reports the outcome, on both log backends;
a running MCP server answers with the policies a reload elsewhere made live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import BODY, EXAMPLE_POLICIES, keyed_app, raise_refund_limit, small_refund
from mcp_client import connected, entries, mcp_state, structured, tool_args

from policy_service.cli import main
from policy_service.service import reloading
from policy_service.service.keys import AgentScope

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_an_escalation_is_followed_to_its_approval_and_its_outcome_and_the_log_verifies(
        database_url: str, tmp_path: Path) -> None:
    """evaluate -> escalate with options and words; a supervisor approves through the HTTP API;
    get_decision shows the approval; report_outcome; `audit verify` passes, and the agent's entries
    carry caller mcp:ag-101 (the approval, its approver key's name)."""
    state = mcp_state(EXAMPLE_POLICIES, database_url)
    app, headers = keyed_app(tmp_path, {"marta": (["approver"], False, AgentScope(agent="sup-7"))}, DATABASE_URL=database_url)
    async with connected(state, "ag-101") as client:
        decision = structured(await client.call_tool("evaluate_exception", tool_args(BODY)))
        assert decision["outcome"] == "escalate" and decision["options"] and decision["escalation"]["say"]
        assert decision["say"] and decision["approval"]["status"] == "pending"
        decision_id = decision["decision_id"]

        approved = app.test_client().post(f"/v1/decisions/{decision_id}/approval", json={"verdict": "approve"},
                                          headers=headers["marta"])
        assert approved.status_code == 201, approved.get_json()

        followed = structured(await client.call_tool("get_decision", {"decision_id": decision_id}))
        assert followed["state"]["approval"] == "approved" and followed["state"]["approver_id"] == "sup-7"
        assert followed["state"]["approved_amount"] == "120.00"
        assert [event["kind"] for event in followed["events"]] == ["approval"]
        assert followed["approval"]["status"] == "pending"  # the answer as given stays evidence

        outcome = structured(await client.call_tool("report_outcome", {"decision_id": decision_id, "action": "refund",
                                                                        "amount": "120.00"}))
        assert outcome["kind"] == "outcome" and outcome["amount"] == "120.00"
        final = structured(await client.call_tool("get_decision", {"decision_id": decision_id}))["state"]
        assert final["outcome"] == "granted" and final["granted"] == {"action": "refund", "amount": "120.00"}

    verified = CliRunner().invoke(main, ["audit", "verify", "--database", database_url])
    assert verified.exit_code == 0 and verified.output.startswith("ok: 3 entries"), verified.output
    assert [(e["kind"], e["caller"], e["agent_id"]) for e in entries(state)] == [
        ("decision", "mcp:ag-101", "ag-101"), ("approval", "marta", "sup-7"), ("outcome", "mcp:ag-101", "ag-101")]


async def test_a_running_server_answers_with_the_policies_a_reload_made_live(
        policies_copy: Path, tmp_path: Path, monkeypatch: Any) -> None:
    """A reload through the HTTP API (another process in production) reaches the MCP server before
    its next answer: the new limit in get_my_authority, and a proposal that escalated is now allowed."""
    monkeypatch.setattr(reloading, "SYNC_SECONDS", 0.0)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    state = mcp_state(policies_copy, url)
    app, headers = keyed_app(tmp_path, {"admin": (["policy_admin"], False)}, DATABASE_URL=url, POLICIES=str(policies_copy))
    async with connected(state, "ag-101") as client:
        before = structured(await client.call_tool("evaluate_exception", tool_args(small_refund("120.00"))))
        raise_refund_limit(policies_copy, 200)
        reloaded = app.test_client().post("/v1/policies/reload", headers=headers["admin"])
        assert reloaded.status_code == 200, reloaded.get_json()
        after = structured(await client.call_tool("evaluate_exception", tool_args(small_refund("120.00"))))
        authority = structured(await client.call_tool("get_my_authority", {"action": "refund"}))
    assert before["outcome"] == "escalate" and after["outcome"] == "allow"
    assert after["policy_revision"] == reloaded.get_json()["revision"] != before["policy_revision"]
    assert authority["actions"][0]["limit"] == "200.00"
