"""One decision as an auditor examines it: the answer with events and state, the logged request, its
entries' places in the chain, and the text of its fired rules in its own revision, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, make_app

from policy_service.service.evidence import decision_evidence
from policy_service.web.state import service_state


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Any:
    return make_app(tmp_path, DATABASE_URL=database_url)


def test_an_escalation_with_its_approval_reads_as_evidence(app: Any) -> None:
    """The answer as GET gives it, then each entry's seq and hashes chained, and the rules' own text."""
    client = app.test_client()
    decision_id = client.post("/v1/decisions", json=BODY).get_json()["decision_id"]
    client.post(f"/v1/decisions/{decision_id}/approval", json={"approver_id": "sup-7", "verdict": "approve"})
    with app.app_context():
        evidence = decision_evidence(service_state().store, decision_id)
    assert evidence is not None
    assert evidence.decision == client.get(f"/v1/decisions/{decision_id}").get_json()
    assert evidence.request["proposal"] == BODY["proposal"] and evidence.customer_id == "cu-88"
    decision, approval = evidence.entries
    assert (decision.kind, approval.kind) == ("decision", "approval")
    assert approval.prev_hash == decision.hash and approval.seq == decision.seq + 1
    assert decision.caller == "dev" and approval.agent_id == "sup-7"
    assert evidence.revision_stored
    fired = {r.key: r.passage for r in evidence.rules}
    assert list(fired) == evidence.decision["rules"]
    window = fired["refunds/outside_return_window"]
    assert window is not None and "require_tier: {refund: supervisor}" in window.text


def test_an_unknown_decision_is_none(app: Any) -> None:
    with app.app_context():
        assert decision_evidence(service_state().store, "dec_nothing") is None


def test_a_rule_held_a_proposal_back_only_when_it_lowered_required_forbade_or_handed_off() -> None:
    """Why a decision escalated names the rules that held it back, not those that gave more room or whose
    requirement the agent already met (the owner trial's supervisor was told a rule wanted a supervisor)."""
    from policy_service.authoring.loader import load_policy_set
    from policy_service.service.evidence import held_back

    policy_set = load_policy_set(Path(__file__).resolve().parents[1] / "policies").policy_set
    assert policy_set is not None
    rules = {rule.key: rule for rule in policy_set.rules}

    def decision(action: str, tier: str, amount: str | None = "75.00") -> dict[str, Any]:
        return {"proposal": {"action": action, "amount": amount}, "agent": {"tier": tier}}

    assert held_back(rules["refunds/outside_return_window"], decision("refund", "agent"), policy_set)  # needs a supervisor
    assert not held_back(rules["refunds/outside_return_window"], decision("refund", "supervisor"), policy_set)  # is one
    assert not held_back(rules["refunds/outside_return_window"], decision("store_credit", "agent"), policy_set)
    assert not held_back(rules["refunds/gold_leeway"], decision("refund", "agent"), policy_set)  # scale 1.5 raises
    assert held_back(rules["deliveries/customer_fault"], decision("delivery_compensation", "agent"), policy_set)  # forbid
    # capped at the order value only when the amount is above it; unknown order value counts as capping
    assert not held_back(rules["refunds/never_above_order_value"], decision("refund", "agent"), policy_set, 100)
    assert held_back(rules["refunds/never_above_order_value"], decision("refund", "agent", "120.00"), policy_set, 100)
    assert held_back(rules["refunds/never_above_order_value"], decision("refund", "agent"), policy_set, None)
    # very_late sets agent 25 over a cell of 15 (more room)
    assert not held_back(rules["deliveries/very_late"], decision("delivery_compensation", "agent"), policy_set)
