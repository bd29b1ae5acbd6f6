"""What a decision's events (approvals, outcomes) make of it now: the `state` that `GET /v1/decisions/{id}`
and the auditors' list show beside the answer as it was given (docs/contract.md §5).

The answer itself is evidence and never changes, so its `approval.status` stays `pending` after an
approver decides; `state` is derived from the chained events every time it is read, never stored.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from policy_service.decisionlog import DecisionStore, audit
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.model import Organization
from policy_service.service.spelling import approval_id, json_time, quantity_json

APPROVAL_STATUSES = ("pending", "approved", "rejected", "all")


def decision_state(decision: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """`decision` as its caller received it, `events` its parsed events oldest first."""
    approval = next((e for e in events if e["kind"] == "approval"), None)
    outcome = next((e for e in events if e["kind"] == "outcome"), None)
    verdict = None if approval is None else "approved" if approval["verdict"] == "approve" else "rejected"
    opened = decision.get("approval") is not None or approval is not None
    granted = outcome is not None and not outcome.get("declined")
    return {
        # An outcome recorded before any verdict closed the escalation: nothing awaits approval (an
        # approval is refused from then on), and the answer's `escalation` still shows it was escalated.
        "approval": verdict or ("pending" if opened and outcome is None else None),
        "approved_amount": approval["amount"] if verdict == "approved" and approval is not None else None,
        "approver_id": approval["approver"]["id"] if approval is not None else None,
        "outcome": None if outcome is None else "granted" if granted else "declined",
        "granted": {"action": outcome["action"], "amount": outcome["amount"]} if granted and outcome is not None else None,
    }


def decision_with_events(store: DecisionStore, decision_id: str) -> dict[str, Any] | None:
    """One decision as answered, its events oldest first and its state; None when unknown."""
    found = store.get(decision_id)
    if found is None:
        return None
    decision, events = json.loads(found[0]), [json.loads(e) for e in found[1]]
    return {**decision, "events": events, "state": decision_state(decision, events)}


def decision_page(store: DecisionStore, args: dict[str, Any], privacy: PrivacySettings) -> dict[str, Any]:
    """An auditor's page of decisions (audit.page), each with its state: one read for the page's events."""
    listed = audit.page(store, args, privacy)
    events = store.events_for([item["decision_id"] for item in listed["items"]])
    for item in listed["items"]:
        item["state"] = decision_state(item, [json.loads(e) for e in events.get(item["decision_id"], [])])
    return listed


def approval_queue(store: DecisionStore, org: Organization, status: str, to_tier: str | None, team: str | None,
                   limit: int, now: datetime, newest_first: bool = False) -> list[dict[str, Any]]:
    """Escalations oldest first (or newest first, for a history) by status: pending ones with how long they have waited, decided ones
    with the verdict (as `status`), the approver, the approved amount and when it was decided."""
    items = []
    for row in store.approval_requests(status, to_tier, team, limit, newest_first):
        unit = org.actions[row["action"]].unit if row["action"] in org.actions else None
        verdict = json.loads(row["verdict_response"]) if row["verdict_response"] else None
        until = row["decided_at"] or now
        items.append({
            "approval_id": approval_id(row["decision_id"]), "decision_id": row["decision_id"],
            "status": row["verdict"] or "pending",
            "to_tier": row["to_tier"], "team": row["team"], "agent_id": row["agent_id"], "customer_id": row["customer_id"],
            "action": row["action"], "amount": row["amount"] if unit is None else quantity_json(unit, row["amount"], org),
            "created_at": json_time(row["created_at"]),
            "waited_seconds": int((until - row["created_at"]).total_seconds()),
            "approver_id": row["approver_id"],
            "approved_amount": verdict["amount"] if verdict is not None and row["verdict"] == "approved" else None,
            "decided_at": None if row["decided_at"] is None else json_time(row["decided_at"]),
        })
    return items
