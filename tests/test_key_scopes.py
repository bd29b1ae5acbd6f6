"""Keys carry a scope of agents (docs/contract.md §8): a key cannot borrow another agent's authority."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import EXAMPLE_POLICIES, keyed_app

from policy_service.cli import main
from policy_service.errors import KeyFileError
from policy_service.service.keys import ANY_AGENT, AgentScope, KeyRing, create_key, list_keys

MANAGER_REFUND = {"agent": {"id": "mgr-1"}, "customer": {"id": "cu-900"},
                  "proposal": {"action": "refund", "amount": "1999.99", "currency": "EUR"}}


def _escalation(client: Any, headers: dict[str, str], amount: str = "1200.00") -> str:
    """An escalation to a manager, made by a senior agent."""
    body = {"agent": {"id": "sr-201"}, "customer": {"id": "cu-901"},
            "proposal": {"action": "refund", "amount": amount, "currency": "EUR"}}
    answer = client.post("/v1/decisions", json=body, headers=headers).get_json()
    assert answer["outcome"] == "escalate" and answer["escalation"]["to_tier"] == "manager", answer
    return str(answer["decision_id"])


@pytest.fixture
def scoped(tmp_path: Path) -> tuple[Any, dict[str, dict[str, str]]]:
    app, headers = keyed_app(tmp_path, {
        "lucia": (["agent_tool"], False, AgentScope(agent="ag-101")),
        "senior": (["agent_tool"], False, AgentScope(agent="sr-201")),
        "care_agents": (["agent_tool"], False, AgentScope(team="care", max_tier="senior_agent")),
        "crm": (["agent_tool"], False, ANY_AGENT),
        "marta": (["approver"], False, AgentScope(agent="sup-7")),
        "carmen": (["approver"], False, AgentScope(agent="mgr-1")),
        "auditor": (["auditor"], False),
    })
    return app.test_client(), headers


def test_a_bound_key_cannot_borrow_a_managers_id(scoped: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """The review's reproduction: a plain key naming mgr-1 got a manager's 2,000 € limit; now 403."""
    client, headers = scoped
    refused = client.post("/v1/decisions", json=MANAGER_REFUND, headers=headers["lucia"])
    assert refused.status_code == 403 and "agent.id" in refused.get_json()["errors"]
    assert client.post("/v1/decisions", json=MANAGER_REFUND, headers=headers["care_agents"]).status_code == 403


def test_a_bound_key_may_leave_its_agent_out_and_acts_as_that_agent(scoped: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """The body's agent.id may be omitted; the decision is the bound agent's, at its tier."""
    client, headers = scoped
    body = {"customer": {"id": "cu-902"}, "proposal": {"action": "refund", "amount": "40.00", "currency": "EUR"}}
    answer = client.post("/v1/decisions", json=body, headers=headers["lucia"]).get_json()
    assert answer["agent"] == {"id": "ag-101", "tier": "agent"} and answer["outcome"] == "allow"


def test_a_team_scope_holds_its_team_up_to_its_tier(scoped: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """care up to senior_agent: ag-101 and sr-201 yes; ag-103 (billing) and sup-7 (supervisor) no."""
    client, headers = scoped

    def status(agent: str) -> int:
        body = {"agent": {"id": agent}, "customer": {"id": "cu-903"},
                "proposal": {"action": "refund", "amount": "10.00", "currency": "EUR"}}
        return int(client.post("/v1/decisions", json=body, headers=headers["care_agents"]).status_code)

    assert [status(a) for a in ("ag-101", "sr-201", "ag-103", "sup-7")] == [201, 201, 403, 403]


def test_an_any_agent_key_names_whom_it_acts_for(scoped: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """An integration that authenticates its own users may name any agent of the directory."""
    client, headers = scoped
    assert client.post("/v1/decisions", json=MANAGER_REFUND, headers=headers["crm"]).get_json()["outcome"] == "allow"


def test_an_approver_key_cannot_approve_as_a_manager(scoped: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """A supervisor's key sending approver_id mgr-1 is refused; the manager's own key approves."""
    client, headers = scoped
    decision = _escalation(client, headers["senior"])
    borrowed = client.post(f"/v1/decisions/{decision}/approval", json={"approver_id": "mgr-1", "verdict": "approve"},
                           headers=headers["marta"])
    assert borrowed.status_code == 403 and "approver_id" in borrowed.get_json()["errors"]
    approved = client.post(f"/v1/decisions/{decision}/approval", json={"verdict": "approve"}, headers=headers["carmen"])
    assert approved.status_code == 201 and approved.get_json()["approver"]["id"] == "mgr-1"


def test_another_key_cannot_decline_a_decision_and_release_its_budget(scoped: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """Only a key whose scope holds the decision's agent reports its outcome."""
    client, headers = scoped
    body = {"customer": {"id": "cu-904"}, "proposal": {"action": "refund", "amount": "40.00", "currency": "EUR"}}
    decision = client.post("/v1/decisions", json=body, headers=headers["lucia"]).get_json()["decision_id"]
    stolen = client.post(f"/v1/decisions/{decision}/outcome", json={"declined": True}, headers=headers["senior"])
    assert stolen.status_code == 403
    assert client.post(f"/v1/decisions/{decision}/outcome", json={"declined": True}, headers=headers["lucia"]).status_code == 201


def test_a_key_reads_only_decisions_of_agents_in_its_scope(scoped: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """Another agent's key gets 403; the agent's own key and an auditor read it."""
    client, headers = scoped
    body = {"customer": {"id": "cu-905"}, "proposal": {"action": "refund", "amount": "40.00", "currency": "EUR"}}
    decision = client.post("/v1/decisions", json=body, headers=headers["lucia"]).get_json()["decision_id"]
    assert client.get(f"/v1/decisions/{decision}", headers=headers["senior"]).status_code == 403
    assert client.get(f"/v1/decisions/{decision}", headers=headers["lucia"]).status_code == 200
    assert client.get(f"/v1/decisions/{decision}", headers=headers["auditor"]).status_code == 200


def test_keys_create_requires_exactly_one_scope_for_keys_that_act_for_agents(tmp_path: Path) -> None:
    """No scope, or two kinds of scope, is refused; an auditor key needs none; list shows the scope."""
    keys = ["--keys", str(tmp_path / "keys.json")]
    runner = CliRunner()
    missing = runner.invoke(main, ["keys", "create", "a", "--role", "agent_tool", *keys])
    assert missing.exit_code == 1 and "needs a scope" in missing.output
    both = runner.invoke(main, ["keys", "create", "b", "--role", "approver", "--agent", "sup-7", "--any-agent", *keys])
    assert both.exit_code == 1 and "cannot be combined" in both.output
    assert runner.invoke(main, ["keys", "create", "c", "--role", "approver", "--agent", "sup-7", *keys]).exit_code == 0
    assert runner.invoke(main, ["keys", "create", "d", "--role", "auditor", *keys]).exit_code == 0
    assert runner.invoke(main, ["keys", "create", "e", "--role", "agent_tool", "--team", "care", "--max-tier", "agent", *keys]).exit_code == 0
    listed = runner.invoke(main, ["keys", "list", *keys]).output
    assert "scope: agent sup-7" in listed and "scope: agents of team care up to agent" in listed
    with pytest.raises(KeyFileError):
        create_key(tmp_path / "keys.json", "f", ["agent_tool"])


def test_a_key_file_from_before_scopes_keeps_working_as_any_agent_and_serve_warns(tmp_path: Path) -> None:
    """Old keys act for any agent (as they did), are marked legacy, and `serve` names each one."""
    key_file = tmp_path / "keys.json"
    create_key(key_file, "old", ["agent_tool"], scope=ANY_AGENT)
    records = json.loads(key_file.read_text())
    records["keys"][0].pop("any_agent")  # what a v1.0 key file holds
    key_file.write_text(json.dumps(records))
    assert KeyRing.load(key_file).legacy_names() == ["old"]
    assert "from before scopes" in list_keys(key_file)[0]["scope"]
    # A log that cannot be opened (its directory is a file) stops `serve` right after its key checks,
    # before gunicorn starts.
    (tmp_path / "a-file").write_text("")
    result = CliRunner().invoke(main, ["serve", "--keys", str(key_file), "--database", f"sqlite:///{tmp_path}/a-file/x.db"])
    assert result.exit_code == 1 and "warning: key old acts for any agent" in result.output
    assert "cannot create the decision log's directory" in result.output


def test_a_key_for_an_agent_team_or_tier_the_directory_does_not_know_is_not_created(tmp_path: Path) -> None:
    """An MCP trial made a key for "nobody-99": it signed in, then every call failed naming a field the
    caller never sent. The closest name is offered and no key is written."""
    keys = ["--keys", str(tmp_path / "keys.json"), "--policies", str(EXAMPLE_POLICIES)]
    runner = CliRunner()
    typo = runner.invoke(main, ["keys", "create", "a", "--role", "agent_tool", "--agent", "sup-07", *keys])
    assert typo.exit_code == 1 and 'unknown agent "sup-07"' in typo.output and 'did you mean "sup-7"?' in typo.output
    team = runner.invoke(main, ["keys", "create", "b", "--role", "approver", "--team", "nobody", *keys])
    assert team.exit_code == 1 and 'unknown team "nobody"' in team.output
    tier = runner.invoke(main, ["keys", "create", "c", "--role", "approver", "--max-tier", "boss", *keys])
    assert tier.exit_code == 1 and 'unknown tier "boss"' in tier.output and "known: virtual_agent, agent" in tier.output
    assert not (tmp_path / "keys.json").exists() or "sup-07" not in (tmp_path / "keys.json").read_text()
