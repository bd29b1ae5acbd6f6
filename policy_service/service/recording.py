"""Deciding a proposal end to end: validate, evaluate, record, and the JSON a caller sees (SPEC §5).

Plain Python: the web layer calls `decide_and_record` and only turns its result or its exceptions into
HTTP. The decision is recorded before it is returned; if recording fails, the caller gets StoreError
and no decision id, so nothing claims to be decided.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from policy_service.deciding import budgets
from policy_service.deciding.budgets import Budgets
from policy_service.deciding.evaluation import Evaluation
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import ApprovalRequest, DecisionStore, NewEntry
from policy_service.decisionlog.chain import canonical_json
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.model import Organization
from policy_service.service.shadow import ShadowPolicies

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# base64.b32encode's alphabet, mapped to Crockford's: the standard codec does the 5-bit split in C.
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode())


def new_decision_id() -> str:
    """`dec_` + a ULID: sortable by creation time, unique across workers and instances."""
    return "dec_" + ulid_text((int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big"))


def ulid_text(value: int) -> str:
    """A 128-bit value in Crockford base32, 26 characters, most significant first."""
    # As 130 bits (two leading zeros) placed at the front of 17 bytes, the value is the first 26
    # characters of the standard base32 encoding, which does the 5-bit split in C.
    return base64.b32encode((value << 6).to_bytes(17, "big")).translate(_TO_CROCKFORD)[:26].decode()


def approval_id(decision_id: str) -> str:
    """An escalation's approval: one per decision, so its id follows from the decision's."""
    return "apr_" + decision_id.removeprefix("dec_")


def outcome_id(decision_id: str) -> str:
    """A decision's outcome: at most one, so its id follows from the decision's too."""
    return "out_" + decision_id.removeprefix("dec_")


def json_time(moment: datetime) -> str:
    """Times as callers see them: UTC, milliseconds, "Z"."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def proposal_json(action_id: str, unit: str, amount: int, org: Organization) -> dict[str, Any]:
    """A proposal as the API spells it (the inverse of what request.build_request reads)."""
    proposal: dict[str, Any] = {"action": action_id}
    if unit == "money":
        proposal.update(amount=decimal_text(amount, org), currency=org.currency)
    elif unit != "flag":
        proposal["amount"] = amount
    return proposal


def decimal_text(minor: int, org: Organization) -> str:
    """Money as a decimal string with the currency's minor units: 11250 -> "112.50"."""
    if not org.minor_digits:
        return str(minor)
    whole, fraction = divmod(minor, 10 ** org.minor_digits)
    return f"{whole}.{fraction:0{org.minor_digits}d}"


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
    return {
        "decision_id": decision_id,
        "created_at": json_time(created_at),
        "outcome": evaluation.outcome,
        "proposal": proposal_json(evaluation.action, evaluation.unit, evaluation.amount, org),
        "agent": {"id": agent_id, "tier": evaluation.tier},
        "limit": quantity_json(evaluation.unit, evaluation.limit, org),
        "options": [
            {"action": o.action, "unit": o.unit, "max": quantity_json(o.unit, o.max, org), "say": o.say,
             **({"conditions": list(o.conditions)} if o.conditions else {})}
            for o in evaluation.options
        ],
        "escalation": {"to_tier": evaluation.escalation.to_tier, "label": evaluation.escalation.label,
                       "say": evaluation.escalation.say} if evaluation.escalation else None,
        "approval": {"id": approval_id(decision_id), "status": "pending"} if evaluation.outcome == "escalate" else None,
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


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used in the last 24 h with another body (409)."""


IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Recorded:
    """A recorded decision: `text` is exactly what the caller receives; the rest is for metrics and logs."""
    text: str
    decision_id: str
    outcome: str
    action: str
    policy: str | None
    engine_seconds: float  # evaluation time, 0 for an idempotent replay
    replayed: bool = False


def decide_and_record(runtime: PolicyRuntime, store: DecisionStore, body: Any, *, caller: str | None,
                      trusted_tier: bool, privacy: PrivacySettings = PrivacySettings(),
                      idempotency_key: str | None = None, shadow: ShadowPolicies | None = None) -> Recorded:
    """The decision, recorded byte for byte before it is returned.

    Cap usage is read and the decision appended in one chain transaction, so two concurrent requests
    cannot both spend the same remaining budget. With an Idempotency-Key already used by this caller
    in the last 24 h for the same body, the first answer comes back and nothing is recorded.

    Raises marshmallow.ValidationError for a bad body, IdempotencyConflict, and StoreError when the
    log cannot record.
    """
    request = runtime.read(body, trusted_tier=trusted_tier)
    decision_id = new_decision_id()
    customer_ref = privacy.customer_ref(request.customer_id)
    stored_request, masked = privacy.protect(body)
    stored_text = canonical_json(stored_request)
    body_text = stored_text if stored_request is body else canonical_json(body)
    body_hash = hashlib.sha256(body_text.encode("utf-8")).hexdigest() if idempotency_key is not None else ""
    caller_name = caller or "anonymous"
    with store.chain_transaction() as transaction:
        now = datetime.now(timezone.utc)
        if idempotency_key is not None:
            earlier = transaction.idempotent(caller_name, idempotency_key, now - IDEMPOTENCY_WINDOW)
            if earlier is not None:
                if earlier[0] != body_hash:
                    raise IdempotencyConflict(idempotency_key)
                first = next(e["response"] for e in transaction.entries(earlier[1]) if e["kind"] == "decision")
                seen = json.loads(first)
                return Recorded(first, seen["decision_id"], seen["outcome"], seen["proposal"]["action"], None, 0.0, replayed=True)
        started = time.perf_counter()
        evaluation = runtime.decide(request, Budgets(transaction, customer_ref, now))
        engine_seconds = time.perf_counter() - started
        shadowed = shadow.judge(body, trusted_tier, transaction, customer_ref, now) if shadow is not None else None

        def render(created_at: datetime) -> str:  # called under the lock, with the logged time
            return json.dumps(decision_body(evaluation, runtime, decision_id, created_at, request.agent_id), ensure_ascii=False)

        policy = runtime.policy_set.policy_for(evaluation.action)
        allowed = evaluation.outcome == "allow"
        appended = transaction.append(
            NewEntry(
                id=decision_id, kind="decision", decision_id=decision_id, created_at=now, caller=caller,
                agent_id=request.agent_id, customer_id=customer_ref, outcome=evaluation.outcome,
                action=evaluation.action, policy=policy.id if policy else None,
                rules=canonical_json(list(evaluation.fired)), policy_revision=runtime.revision,
                request=stored_text, response=render, masked=canonical_json(masked),
                fired_rules=evaluation.fired,
            ),
            ledger=budgets.reservation(evaluation.action, evaluation.amount, customer_ref, request.agent_id) if allowed else (),
            approval=ApprovalRequest(decision_id, evaluation.escalation.to_tier, _team_of(runtime, request.agent_id),
                                     evaluation.action, evaluation.amount, now) if evaluation.outcome == "escalate" and evaluation.escalation else None,
            idempotency=(caller_name, idempotency_key, body_hash) if idempotency_key is not None else None,
        )
    if shadow is not None:
        shadow.record(decision_id, evaluation, shadowed)
    return Recorded(appended.response, decision_id, evaluation.outcome, evaluation.action,
                    policy.id if policy else None, engine_seconds)


def _team_of(runtime: PolicyRuntime, agent_id: str | None) -> str | None:
    agent = runtime.policy_set.agents.get(agent_id or "")
    return agent.team if agent else None
