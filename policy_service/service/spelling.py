"""How the API spells what the service decided: ids, times, quantities and the decision's JSON.

Plain data built here goes through `responses.dump` with the schema the OpenAPI document shows, so the
recorder, approvals, the policy-test runner and the matrix all spell a decision the same way without
importing the module that writes the log.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

from policy_service.deciding.evaluation import Evaluation
from policy_service.model import Organization
from policy_service.service.responses import SimulationSchema, dump

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every 10-bit group as its two Crockford characters: a ULID is 13 lookups (the standard base32 codec
# is a Python loop on 3.11, twice as slow).
_PAIRS = tuple(first + second for first in _CROCKFORD for second in _CROCKFORD)
_SHIFTS = tuple(range(120, -1, -10))


def new_decision_id() -> str:
    """`dec_` + a ULID: sortable by creation time, unique across workers and instances."""
    return "dec_" + ulid_text((int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big"))


def ulid_text(value: int) -> str:
    """A 128-bit value in Crockford base32, 26 characters, most significant first (as 130 bits with
    two leading zeros: 13 groups of 10)."""
    return "".join([_PAIRS[(value >> shift) & 0x3FF] for shift in _SHIFTS])


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


def decision_body(evaluation: Evaluation, org: Organization, revision: str, decision_id: str, created_at: datetime,
                  agent_id: str | None) -> dict[str, Any]:
    """The decision as its caller sees it: DecisionSchema's fields, in its order, built in that shape.

    Not passed through `responses.dump`: a recorded decision is rendered under the chain lock, where
    the dump's walk of the schema cost ~12 µs that the other worker waited for (docs/performance.md,
    "Tenth session on the bar"). tests/test_responses.py holds every decision of the example and test
    organisations' policy tests to dump(DecisionSchema, ...), so a field the schema does not declare
    still cannot ship."""
    return _answer(evaluation, org, revision, agent_id, (decision_id, created_at))


def simulation_body(evaluation: Evaluation, org: Organization, revision: str, agent_id: str | None) -> dict[str, Any]:
    """A decision recorded nowhere, as the simulator answers it (SimulationSchema): the same fields,
    spelled the same way, less the id, the time and the approval only a recorded decision has."""
    return dump(SimulationSchema, _answer(evaluation, org, revision, agent_id))


def _answer(evaluation: Evaluation, org: Organization, revision: str, agent_id: str | None,
            recorded: tuple[str, datetime] | None = None) -> dict[str, Any]:
    """The fields of DecisionSchema in its order; without `recorded` (id, time), those of SimulationSchema."""
    answer: dict[str, Any] = {}
    if recorded is not None:
        answer["decision_id"], answer["created_at"] = recorded[0], json_time(recorded[1])
    answer.update({
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
    })
    if recorded is not None:
        answer["approval"] = {"id": approval_id(recorded[0]), "status": "pending"} if evaluation.outcome == "escalate" else None
    answer.update({
        "handoff": {"team": evaluation.handoff.team, "label": evaluation.handoff.label,
                    "contact": evaluation.handoff.contact} if evaluation.handoff else None,
        "say": list(evaluation.say),
        "conditions": list(evaluation.conditions),
        "rules": list(evaluation.rules),
        "caps": [
            {"id": c.key, "remaining": quantity_json(c.unit, c.remaining, org), "remaining_count": c.remaining_count,
             "binding": c.binding}
            for c in evaluation.caps
        ],
        "locale": evaluation.locale,
        "policy_revision": revision,
    })
    return answer
