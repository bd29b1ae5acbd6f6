"""One decision as an auditor examines it (docs/contract.md §9, `/console/decisions/<id>`): the answer
as the agent saw it with its events and state (exactly what `GET /v1/decisions/{id}` returns), the
request as logged, each entry's place in the hash chain, and every rule it fired as the policy revision
that decided it has it (never the live one): its text, its sentence in words, and whether it held the
proposal back or only shaped the answer (a rule that raised a limit is not why a decision escalated).

Reads only: nothing here decides again or writes.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from policy_service.authoring.loader import load_policy_set
from policy_service.decisionlog import DecisionStore
from policy_service.decisionlog.statements import as_utc
from policy_service.model import PolicySet, Rule
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
    rule: Rule | None = None  # as the decision's revision has it; None when that revision cannot be read
    held_back: bool = False  # it kept the proposal from a plain allow (see held_back)


@dataclass(frozen=True)
class Evidence:
    decision: dict[str, Any]  # the answer with `events` and `state`, as GET /v1/decisions/{id}
    request: dict[str, Any]  # as logged: masked fields removed
    masked: tuple[str, ...]  # the request paths removed before storage
    customer_id: str | None  # as stored (a keyed hash when customer ids are keyed)
    entries: tuple[ChainPlace, ...]  # oldest first; the first is the decision's
    rules: tuple[FiredRule, ...]
    revision_stored: bool
    policy_set: PolicySet | None = None  # the decision's revision, parsed: labels and rules as they were


def decision_evidence(store: DecisionStore, decision_id: str) -> Evidence | None:
    """None when the log holds no decision with this id."""
    decision = decision_with_events(store, decision_id)
    rows = store.entries(decision_id)
    first = next((r for r in rows if r["kind"] == "decision"), None)
    if decision is None or first is None:
        return None
    stored = store.revision(first["policy_revision"])
    passages = rule_passages(stored["files"]) if stored is not None else {}
    policy_set = revision_policy_set(store, first["policy_revision"], stored["files"]) if stored else None
    rules = {rule.key: rule for rule in policy_set.rules} if policy_set else {}
    request = json.loads(first["request"])
    order_value = (request.get("case") or {}).get("order_value")
    return Evidence(
        decision=decision,
        request=request,
        masked=tuple(json.loads(first["masked"] or "[]")),
        customer_id=first["customer_id"],
        entries=tuple(ChainPlace(r["seq"], r["id"], r["kind"], as_utc(r["created_at"]), r["caller"], r["agent_id"],
                                 r["prev_hash"], r["hash"]) for r in rows),
        rules=tuple(FiredRule(key, passages.get(key), rules.get(key),
                              key in rules and held_back(rules[key], decision, policy_set, order_value))
                    for key in decision.get("rules", [])),
        revision_stored=stored is not None,
        policy_set=policy_set,
    )


# Parsed revisions by id. A revision is content-addressed, so what it parses to never changes: a list of
# many decisions (the approvals inbox) reads and parses each revision once, not once per decision.
_PARSED: dict[str, PolicySet | None] = {}
_PARSED_KEPT = 16


def revision_policy_set(store: DecisionStore, revision: str, files: dict[str, str] | None = None) -> PolicySet | None:
    """A stored revision's files parsed as a policy set (never compiled: nothing is decided with it);
    `files` when the caller has already read them. None when the log does not hold the revision, or its
    files no longer give it (edited in the database) or do not load."""
    if revision in _PARSED:
        return _PARSED[revision]
    if files is None:
        stored = store.revision(revision)
        if stored is None:
            return None  # not kept: it may be stored later
        files = stored["files"]
    parsed = _parse(revision, files)
    if len(_PARSED) >= _PARSED_KEPT:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[revision] = parsed
    return parsed


def _parse(revision: str, files: dict[str, str]) -> PolicySet | None:
    with tempfile.TemporaryDirectory(prefix="policy-revision-") as directory:
        for name, text in files.items():
            path = Path(directory) / name
            if path.resolve().parent != Path(directory).resolve():  # a stored name is a file name, never a path
                return None
            path.write_text(text, encoding="utf-8")
        policy_set = load_policy_set(directory).policy_set
    return policy_set if policy_set is not None and policy_set.revision == revision else None


def held_back(rule: Rule, decision: dict[str, Any], policy_set: PolicySet | None, order_value: Any = None) -> bool:
    """Whether a fired rule kept the decision's proposal from a plain allow: it forbids the action, hands
    the case off, requires a tier above the agent's, caps the action at an order value below the amount,
    or lowers the agent's limit (a scale below 1, a set limit below the matrix's cell). A rule that only
    raised a limit, or whose requirement the agent already met, shaped the answer, not the "no" (owner
    trial: "lo autoriza un supervisor" listed for a supervisor). `order_value` as the request spelled it;
    unknown (masked, not at hand) counts as capping."""
    then = rule.then
    action, tier = decision["proposal"]["action"], decision["agent"].get("tier")
    if action in then.forbid or then.handoff:
        return True
    org = policy_set.organization if policy_set else None
    if action in then.require_tier:
        known = org is not None and tier is not None and {tier, then.require_tier[action]} <= {t.id for t in org.tiers}
        return not known or org.tier_rank(tier) < org.tier_rank(then.require_tier[action])  # type: ignore[union-attr]
    if action in then.cap_at_order_value:
        amount = decision["proposal"].get("amount")
        if order_value is None or amount is None or org is None:
            return True
        try:
            return Decimal(str(amount)) > Decimal(str(order_value))
        except InvalidOperation:
            return True
    if action in then.scale and then.scale[action] < 1:
        return True
    if tier is not None and tier in then.set_limits.get(action, {}):
        policy = policy_set.policy_for(action) if policy_set else None
        cell = policy.limits.get(action, {}).get(tier) if policy else None
        value = then.set_limits[action][tier]
        return value == 0 or (cell is not None and value < cell)  # no cell before: it gave authority
    return False


def held_back_rules(store: DecisionStore, decision: dict[str, Any]) -> list[str]:
    """The fired rules that held a decision back, read in its own revision (for a list of many decisions,
    such as the approvals inbox: the request is not read, so a cap at the order value counts)."""
    policy_set = revision_policy_set(store, decision["policy_revision"])
    rules = {rule.key: rule for rule in policy_set.rules} if policy_set else {}
    return [key for key in decision.get("rules", []) if key not in rules or held_back(rules[key], decision, policy_set)]
