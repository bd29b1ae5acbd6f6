"""An approver's inbox (policy_service/service/inbox.py): who may decide which escalation, ahead of
decide_approval, and the history each key sees."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from helpers import make_app

from policy_service.service.inbox import approval_inbox, approvers_for
from policy_service.service.keys import ANY_AGENT, AgentScope


def _escalate(client: Any, customer: str) -> str:
    body = {"agent": {"id": "ag-101"}, "customer": {"id": customer, "tier": "standard"},
            "case": {"reason": "late_delivery", "fault": "carrier"},
            "proposal": {"action": "delivery_compensation", "amount": "90.00", "currency": "EUR"}}
    decision = client.post("/v1/decisions", json=body).get_json()
    assert decision["outcome"] == "escalate"
    return decision["decision_id"]  # type: ignore[no-any-return]


def test_the_approvers_of_a_scope_are_those_at_or_above_the_tier(tmp_path: Path) -> None:
    """Highest tier first; a bound key has only its agent, a team key its team's, a lower tier none."""
    policy_set = make_app(tmp_path).extensions["policy_service"].runtime.policy_set
    assert approvers_for(ANY_AGENT, policy_set, "supervisor") == ("mgr-1", "sup-7", "sup-8")
    assert approvers_for(AgentScope(agent="sup-7"), policy_set, "supervisor") == ("sup-7",)
    assert approvers_for(AgentScope(team="billing"), policy_set, "supervisor") == ("sup-8",)
    assert approvers_for(AgentScope(agent="sr-201"), policy_set, "supervisor") == ()
    assert approvers_for(ANY_AGENT, policy_set, "no-such-tier") == ()


def test_the_inbox_lists_what_the_key_may_decide_and_the_history_it_decided(tmp_path: Path) -> None:
    """Pending oldest first for an approver of the tier; history newest first, a bound key's own verdicts only."""
    app = make_app(tmp_path)
    client = app.test_client()
    state = app.extensions["policy_service"]
    first, second = _escalate(client, "cu-1"), _escalate(client, "cu-2")
    now = datetime.now(timezone.utc)
    pending = approval_inbox(state.store, state.runtime.policy_set, AgentScope(agent="sup-7"), "pending", now)
    assert [entry.item["decision_id"] for entry in pending] == [first, second]
    assert pending[0].decision is not None and pending[0].decision["outcome"] == "escalate"
    assert approval_inbox(state.store, state.runtime.policy_set, AgentScope(agent="sr-201"), "pending", now) == []
    client.post(f"/v1/decisions/{first}/approval", json={"approver_id": "sup-8", "verdict": "reject", "note": "no"})
    client.post(f"/v1/decisions/{second}/approval", json={"approver_id": "sup-7", "verdict": "reject", "note": "no"})
    mine = approval_inbox(state.store, state.runtime.policy_set, AgentScope(agent="sup-7"), "rejected", now)
    assert [entry.item["decision_id"] for entry in mine] == [second]
    everyone = approval_inbox(state.store, state.runtime.policy_set, ANY_AGENT, "rejected", now)
    assert [entry.item["decision_id"] for entry in everyone] == [second, first]  # newest first


def test_a_long_history_shows_the_newest_verdicts(tmp_path: Path, monkeypatch: Any) -> None:
    """Before, the history was the newest of the oldest QUEUE_LIMIT escalations: past that many, the
    newest verdicts never showed."""
    import policy_service.service.inbox as inbox

    monkeypatch.setattr(inbox, "QUEUE_LIMIT", 2)
    app = make_app(tmp_path)
    client = app.test_client()
    state = app.extensions["policy_service"]
    ids = [_escalate(client, f"cu-{n}") for n in range(3)]
    for decision_id in ids:
        client.post(f"/v1/decisions/{decision_id}/approval", json={"approver_id": "sup-7", "verdict": "reject", "note": "no"})
    shown = approval_inbox(state.store, state.runtime.policy_set, ANY_AGENT, "rejected", datetime.now(timezone.utc))
    assert [entry.item["decision_id"] for entry in shown] == [ids[2], ids[1]]
