"""What insights aggregate of each chained entry, as one narrow row of `decision_facts`.

A report over a million decisions cannot parse a million JSON answers (seconds of CPU on either
backend), so the append writes, beside each entry, the few values insights group and sum: who asked
(tier, agent), what (action, amount in the unit's integer form), the answer (outcome, the agent's own
limit, the least room its caps left, how many options, the fired rules), for an approval the
approver's tier and the wait since the decision. An event's row repeats what insights group it by
of its decision, so each kind is read without a join.

Derived only from the entry's own response (the JSON the caller received) and its columns, so the
migration can backfill an existing log the same way the append fills a new one. A row carries no
authority: nothing decides from it. Derivation never fails an append: a value the response does not
hold is stored as NULL. A decision's outcome, action and policy are its entry's columns, as they are:
the auditors' filters on them read these rows (DecisionStore._decisions), and `audit verify` holds
them to the chained entry (verifying.SideTables).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DecisionFact:
    """What an event's fact row repeats of its decision, so insights read each kind without a join."""
    seq: int
    at_ms: int
    action: str | None
    tier: str | None
    agent_id: str | None
    amount: int | None
    agent_limit: int | None
    cap_room: int | None
    rules: str | None


DECISION_FACT_COLUMNS = ("seq", "at_ms", "action", "tier", "agent_id", "amount", "agent_limit", "cap_room", "rules")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def units(value: Any) -> int | None:
    """An amount as the answers spell it, in the integer form the ledger uses: "120.00" -> 12000
    (answers always write every minor digit of the currency), 15 days -> 15, a flag -> 1."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 1 if value else None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.count(".") <= 1 and value.replace(".", "").isdigit():
        return int(value.replace(".", ""))
    return None


def entry_facts(seq: int, kind: str, created_at: datetime, columns: dict[str, Any], response: str | Mapping[str, Any],
                decision: DecisionFact | None) -> dict[str, Any]:
    """The fact row of one entry. `response`: its JSON text, or the document that text spells;
    `columns`: the entry's action, agent_id, outcome, policy and rules columns; `decision`: for an event, its
    decision's fact (None for a decision, or when it cannot be found: the row then belongs to no
    decision, decision_seq 0)."""
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except ValueError:
            response = {}
    body = response if isinstance(response, Mapping) else {}
    at_ms = epoch_ms(created_at)
    if kind == "decision":
        proposal, agent = _mapping(body.get("proposal")), _mapping(body.get("agent"))
        action = columns.get("action")  # the entry's column, which the response's proposal repeats
        options = body.get("options")
        amount = units(proposal.get("amount"))
        return {"seq": seq, "decision_seq": seq, "kind": kind, "at_ms": at_ms, "action": action, "tier": agent.get("tier"),
                "agent_id": agent.get("id") or columns.get("agent_id"), "outcome": columns.get("outcome"),
                "policy": columns.get("policy"),
                "amount": amount, "amount_action": action, "proposed": amount, "agent_limit": units(body.get("limit")),
                "cap_room": cap_room(body.get("caps")), "rules": columns.get("rules"),
                "options": len(options) if isinstance(options, list) else None, "approver_tier": None, "waited_s": None}
    known = decision or DecisionFact(0, at_ms, columns.get("action"), None, None, None, None, None, None)
    return {"seq": seq, "decision_seq": known.seq, "kind": kind, "at_ms": at_ms, "action": known.action, "tier": known.tier,
            "agent_id": known.agent_id, "outcome": columns.get("outcome"),
            "amount": None if body.get("declined") else units(body.get("amount")),
            "amount_action": body.get("action") or columns.get("action"), "proposed": known.amount,
            "agent_limit": known.agent_limit, "cap_room": known.cap_room, "rules": known.rules, "options": None,
            "approver_tier": _mapping(body.get("approver")).get("tier") if kind == "approval" else None,
            "policy": columns.get("policy"),
            "waited_s": (at_ms - known.at_ms) // 1000 if decision is not None else None}


def cap_room(caps: Any) -> int | None:
    """The least any cap on the decision still left (0 once a cap's count is used up); None without
    caps. A new matrix cell cannot lift a proposal above this, so insights need it to say which
    escalations a raised limit turns into allow."""
    rooms = []
    for cap in caps if isinstance(caps, list) else ():
        cap = _mapping(cap)
        if cap.get("remaining_count") == 0:
            rooms.append(0)
        elif (remaining := units(cap.get("remaining"))) is not None:
            rooms.append(remaining)
    return min(rooms, default=None)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
