"""Deciding a proposal end to end: validate, evaluate, record, and the JSON a caller sees (SPEC §5).

Plain Python: the web layer calls `decide_and_record` and only turns its result or its exceptions into
HTTP. The decision is recorded before it is returned; if recording fails, the caller gets StoreError
and no decision id, so nothing claims to be decided.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from .chain import canonical_json
from .evaluation import Evaluation
from .model import Organization
from .privacy import PrivacySettings
from .request import build_request
from .runtime import PolicyRuntime
from .store import DecisionStore, NewEntry

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_decision_id() -> str:
    """`dec_` + a ULID: sortable by creation time, unique across workers and instances."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "dec_" + "".join(reversed(chars))


def decimal_text(minor: int, org: Organization) -> str:
    """Money as a decimal string with the currency's minor units: 11250 -> "112.50"."""
    return f"{Decimal(minor).scaleb(-org.minor_digits):.{org.minor_digits}f}"


def quantity_json(unit: str, amount: int | None, org: Organization) -> Any:
    if amount is None:
        return None
    if unit == "money":
        return decimal_text(amount, org)
    if unit == "flag":
        return bool(amount)
    return amount


def decision_body(evaluation: Evaluation, runtime: PolicyRuntime, decision_id: str, created_at: datetime,
                  agent_id: str | None) -> dict[str, Any]:
    org = runtime.policy_set.organization
    proposal: dict[str, Any] = {"action": evaluation.action}
    if evaluation.unit == "money":
        proposal.update(amount=decimal_text(evaluation.amount, org), currency=org.currency)
    elif evaluation.unit != "flag":
        proposal["amount"] = evaluation.amount
    return {
        "decision_id": decision_id,
        "created_at": created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "outcome": evaluation.outcome,
        "proposal": proposal,
        "agent": {"id": agent_id, "tier": evaluation.tier},
        "limit": quantity_json(evaluation.unit, evaluation.limit, org),
        "options": [
            {"action": o.action, "unit": o.unit, "max": quantity_json(o.unit, o.max, org), "say": o.say,
             **({"conditions": list(o.conditions)} if o.conditions else {})}
            for o in evaluation.options
        ],
        "escalation": {"to_tier": evaluation.escalation.to_tier, "label": evaluation.escalation.label,
                       "say": evaluation.escalation.say} if evaluation.escalation else None,
        "handoff": {"team": evaluation.handoff.team, "label": evaluation.handoff.label,
                    "contact": evaluation.handoff.contact} if evaluation.handoff else None,
        "say": list(evaluation.say),
        "conditions": list(evaluation.conditions),
        "rules": list(evaluation.rules),
        "caps": [
            {"id": c.key, "remaining": quantity_json(c.unit, c.remaining, org), "remaining_count": c.remaining_count}
            for c in evaluation.caps
        ],
        "locale": evaluation.locale,
        "policy_revision": runtime.revision,
    }


def decide_and_record(runtime: PolicyRuntime, store: DecisionStore, body: Any, *, caller: str | None,
                      trusted_tier: bool, privacy: PrivacySettings = PrivacySettings()) -> str:
    """The decision as the JSON text the caller receives, recorded byte for byte before it is returned.

    Raises marshmallow.ValidationError for a bad body and StoreError when the log cannot record.
    """
    request = build_request(body, runtime.policy_set, trusted_tier=trusted_tier)
    evaluation = runtime.decide(request)
    decision_id = new_decision_id()

    def render(created_at: datetime) -> str:  # called by the store under its lock, with the logged time
        return json.dumps(decision_body(evaluation, runtime, decision_id, created_at, request.agent_id), ensure_ascii=False)

    stored_request, masked = privacy.protect(body)
    policy = runtime.policy_set.policy_for(evaluation.action)
    appended = store.append(NewEntry(
        id=decision_id, kind="decision", decision_id=decision_id, created_at=datetime.now(timezone.utc), caller=caller,
        agent_id=request.agent_id, customer_id=privacy.customer_ref(request.customer_id),
        outcome=evaluation.outcome, action=evaluation.action, policy=policy.id if policy else None,
        rules=canonical_json(list(evaluation.rules)), policy_revision=runtime.revision,
        request=canonical_json(stored_request), response=render, masked=canonical_json(masked),
        fired_rules=tuple(evaluation.rules),
    ))
    return appended.response
