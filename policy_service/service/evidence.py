"""One decision as an auditor examines it (docs/contract.md §9, `/console/decisions/<id>`): the answer
as the agent saw it with its events and state (exactly what `GET /v1/decisions/{id}` returns), the
request as logged, each entry's place in the hash chain, and the text of every rule it fired in the
policy revision that decided it (never the live one).

Reads only: nothing here decides again or writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policy_service.decisionlog import DecisionStore
from policy_service.decisionlog.statements import as_utc
from policy_service.service.events import decision_with_events
from policy_service.service.passages import Passage, rule_passages


@dataclass(frozen=True)
class ChainPlace:
    """Where one entry (the decision, an approval, an outcome) sits in the chain."""
    seq: int
    entry_id: str
    kind: str
    created_at: datetime
    caller: str | None  # the API key's name that wrote it
    agent_id: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class FiredRule:
    key: str  # policy/rule, as the decision names it
    passage: Passage | None  # its lines in the decision's revision; None when that revision lacks it


@dataclass(frozen=True)
class Evidence:
    decision: dict[str, Any]  # the answer with `events` and `state`, as GET /v1/decisions/{id}
    request: dict[str, Any]  # as logged: masked fields removed
    masked: tuple[str, ...]  # the request paths removed before storage
    customer_id: str | None  # as stored (a keyed hash when customer ids are keyed)
    entries: tuple[ChainPlace, ...]  # oldest first; the first is the decision's
    rules: tuple[FiredRule, ...]
    revision_stored: bool


def decision_evidence(store: DecisionStore, decision_id: str) -> Evidence | None:
    """None when the log holds no decision with this id."""
    decision = decision_with_events(store, decision_id)
    rows = store.entries(decision_id)
    first = next((r for r in rows if r["kind"] == "decision"), None)
    if decision is None or first is None:
        return None
    stored = store.revision(first["policy_revision"])
    passages = rule_passages(stored["files"]) if stored is not None else {}
    return Evidence(
        decision=decision,
        request=json.loads(first["request"]),
        masked=tuple(json.loads(first["masked"] or "[]")),
        customer_id=first["customer_id"],
        entries=tuple(ChainPlace(r["seq"], r["id"], r["kind"], as_utc(r["created_at"]), r["caller"], r["agent_id"],
                                 r["prev_hash"], r["hash"]) for r in rows),
        rules=tuple(FiredRule(key, passages.get(key)) for key in decision.get("rules", [])),
        revision_stored=stored is not None,
    )
