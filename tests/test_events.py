"""What a decision's events make of it, as callers read it: `state` on a decision and on the auditors'
list, and the approval queue by status (docs/contract.md §5), on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import make_app


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Any:
    return make_app(tmp_path, DATABASE_URL=database_url).test_client()


def compensation(agent: str, amount: str, customer: str = "cu-1") -> dict[str, Any]:
    return {"agent": {"id": agent}, "customer": {"id": customer, "tier": "standard"},
            "case": {"reason": "late_delivery", "fault": "carrier"},
            "proposal": {"action": "delivery_compensation", "amount": amount, "currency": "EUR"}, "locale": "es"}


def escalated(client: Any, customer: str = "cu-1") -> str:
    """A senior agent's second 40 € compensation for one customer: the cap sends it to a supervisor."""
    client.post("/v1/decisions", json=compensation("sr-201", "40.00", customer))
    decision = client.post("/v1/decisions", json=compensation("sr-201", "40.00", customer)).get_json()
    assert decision["outcome"] == "escalate", decision
    return decision["decision_id"]  # type: ignore[no-any-return]


def state(client: Any, decision_id: str) -> dict[str, Any]:
    return client.get(f"/v1/decisions/{decision_id}").get_json()["state"]  # type: ignore[no-any-return]


NOTHING_YET = {"approval": "pending", "approved_amount": None, "approver_id": None, "outcome": None, "granted": None}


def test_a_decision_says_where_it_stands_after_its_approval_and_outcome(client: Any) -> None:
    """The answer keeps `approval.status: pending` as it was given; `state` says it was approved at
    30 € by sup-7 and that 25 € were granted, on GET and on the auditors' list."""
    decision_id = escalated(client)
    assert state(client, decision_id) == NOTHING_YET
    client.post(f"/v1/decisions/{decision_id}/approval", json={"approver_id": "sup-7", "verdict": "approve", "amount": "30"})
    fetched = client.get(f"/v1/decisions/{decision_id}").get_json()
    assert fetched["approval"]["status"] == "pending"  # the answer as given: evidence, never rewritten
    assert fetched["state"] == {**NOTHING_YET, "approval": "approved", "approved_amount": "30.00", "approver_id": "sup-7"}
    client.post(f"/v1/decisions/{decision_id}/outcome", json={"action": "delivery_compensation", "amount": "25"})
    now = {"approval": "approved", "approved_amount": "30.00", "approver_id": "sup-7", "outcome": "granted",
           "granted": {"action": "delivery_compensation", "amount": "25.00"}}
    assert state(client, decision_id) == now
    listed = {i["decision_id"]: i for i in client.get("/v1/decisions").get_json()["items"]}
    assert listed[decision_id]["state"] == now
    first = next(i for i in listed.values() if i["decision_id"] != decision_id)
    assert first["outcome"] == "allow" and first["state"] == {**NOTHING_YET, "approval": None}


def test_a_rejected_escalation_and_a_declined_outcome_read_as_such(client: Any) -> None:
    decision_id = escalated(client)
    client.post(f"/v1/decisions/{decision_id}/approval", json={"approver_id": "mgr-1", "verdict": "reject"})
    client.post(f"/v1/decisions/{decision_id}/outcome", json={"declined": True})
    assert state(client, decision_id) == {**NOTHING_YET, "approval": "rejected", "approver_id": "mgr-1", "outcome": "declined"}


def test_the_approval_queue_shows_decided_escalations_by_status(client: Any) -> None:
    """`status=approved` lists what was approved, by whom, for how much and when; `rejected`, `all` and
    the default `pending` list theirs, oldest first."""
    approved, rejected, waiting = (escalated(client, customer) for customer in ("cu-1", "cu-2", "cu-3"))
    client.post(f"/v1/decisions/{approved}/approval", json={"approver_id": "sup-7", "verdict": "approve", "amount": "30"})
    client.post(f"/v1/decisions/{rejected}/approval", json={"approver_id": "mgr-1", "verdict": "reject"})

    def listed(status: str) -> list[tuple[Any, ...]]:
        response = client.get(f"/v1/approvals?status={status}")
        assert response.status_code == 200, response.get_json()
        return [(i["decision_id"], i["status"], i["approver_id"], i["amount"], i["approved_amount"], i["decided_at"] is None)
                for i in response.get_json()["items"]]

    assert listed("approved") == [(approved, "approved", "sup-7", "40.00", "30.00", False)]
    assert listed("rejected") == [(rejected, "rejected", "mgr-1", "40.00", None, False)]
    assert listed("pending") == [(waiting, "pending", None, "40.00", None, True)]
    assert [i[0] for i in listed("all")] == [approved, rejected, waiting]
    decided = client.get("/v1/approvals?status=approved").get_json()["items"][0]
    assert decided["decided_at"] >= decided["created_at"] and decided["waited_seconds"] >= 0
    assert client.get("/v1/approvals?status=maybe").get_json()["errors"] == {
        "status": ["Must be one of: pending, approved, rejected, all."]}


def test_an_escalation_an_outcome_closed_leaves_the_queue_and_awaits_nothing(client: Any) -> None:
    """The agent takes the 20 € it was offered instead of waiting: an approval is refused from then on,
    so the escalation is no longer in the pending queue (nor under `all`), and `state.approval` is null
    while the answer's `escalation` still shows it was escalated."""
    closed, waiting = escalated(client, "cu-1"), escalated(client, "cu-2")
    taken = client.post(f"/v1/decisions/{closed}/outcome", json={"action": "delivery_compensation", "amount": "20"})
    assert taken.status_code == 201, taken.get_json()
    assert client.post(f"/v1/decisions/{closed}/approval", json={"approver_id": "sup-7", "verdict": "approve"}).status_code == 409
    for status in ("pending", "all"):
        items = client.get(f"/v1/approvals?status={status}").get_json()["items"]
        assert [i["decision_id"] for i in items] == [waiting], status
    fetched = client.get(f"/v1/decisions/{closed}").get_json()
    assert fetched["escalation"]["to_tier"] == "supervisor"
    assert fetched["state"] == {**NOTHING_YET, "approval": None, "outcome": "granted",
                                "granted": {"action": "delivery_compensation", "amount": "20.00"}}
