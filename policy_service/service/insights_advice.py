"""Insights' recommendations (docs/contract.md §10) and the statistics they and the report share.

For an action A and a tier T, among the decided escalations of A by agents of T in the window, the
suggested limit is the largest approved amount L above today's limit such that the approval rate
among decided escalations proposing at most L is at least `min_rate`, with at least `min_cases` of
them, and L is no higher than the lowest limit of the tiers that approved them (an agent is never
trusted beyond the people who vouched for those cases).

"Amount ≤ L" is read as "needs a cell of at most L" (CellNeeds): for an escalation the matrix alone
decided that is its amount; under a fired scale it is less; where no cell would allow it (a rule
replaced the cell or took the action away, a cap left less) it does not count. Those are exactly
the escalations a new cell turns into `allow` on replay.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from policy_service.model import PolicySet
from policy_service.service.spelling import decimal_text, quantity_json

Z95 = 1.959963984540054  # two-sided 95 %
RECOMMENDABLE_UNITS = ("money", "days", "count")
CANDIDATE = re.compile(r"set_limits: \{([\w.-]+): \{([\w.-]+): ([0-9]+(?:\.[0-9]+)?)\}\}")  # as _recommendation writes it  # a flag's limit is yes or no: there is no amount to raise


@dataclass(frozen=True)
class InsightSettings:
    since: datetime | None = None  # None: the whole log
    min_cases: int = 20
    min_rate: float = 0.95


def wilson_lower_bound(successes: int, trials: int, z: float = Z95) -> float | None:
    """The lower end of the Wilson score interval: how low the true approval rate may plausibly be.
    10 of 10 approved gives 0.72, 200 of 200 gives 0.98: few cases earn little trust."""
    if trials == 0:
        return None
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


def wait_histogram(waits: str | None) -> Counter[int]:
    """Whole seconds to verdict -> escalations, from the log's "60,125,60" (one per verdict)."""
    return Counter(map(int, waits.split(","))) if waits else Counter()


def percentile(histogram: Iterable[tuple[int, int]], q: float) -> int | None:
    """Nearest-rank percentile of (value, count) pairs: the smallest value with at least a share q of
    the counts at or below it (the median of 10, 20 and 30 seconds is 20; of 10 and 20, 10)."""
    ordered = sorted(histogram)
    total = sum(count for _, count in ordered)
    if total == 0:
        return None
    rank, seen = max(1, math.ceil(q * total)), 0
    for value, count in ordered:
        seen += count
        if seen >= rank:
            return value
    return ordered[-1][0]


@dataclass
class _AtCell:
    """The escalations of one (action, tier) that need the same cell to be allowed."""
    approved: int = 0
    approved_amount: int = 0  # what the approvers approved (an approval may lower the amount)
    rejected: int = 0
    rejected_amount: int = 0  # what the rejected ones proposed
    pending: int = 0
    approver_tiers: set[str] = field(default_factory=set)
    waits: list[str] = field(default_factory=list)  # the waits texts of its groups (see wait_histogram)


class CellNeeds:
    """The smallest matrix cell for (action, tier) at which the live policies would have allowed a
    logged escalation, or None when no cell would: §10's "amount ≤ L" measured where the candidate
    acts. Plain escalations need their amount; under fired scales the cell is multiplied as the
    evaluation multiplies it (deciding.limits: floor of the exact product), so a gold customer's 90 €
    needs 60 at ×1.5; a fired `set_limits` on that cell, a ban or a required tier above it, or caps
    that left less than the amount mean no cell would, and a recorded limit that today's matrix does
    not explain (the policies changed since) is left out rather than guessed."""

    def __init__(self, policy_set: PolicySet) -> None:
        self._policy_set = policy_set
        self._rules = {rule.key: rule for rule in policy_set.rules}
        self._factors: dict[tuple[str, str, str], Decimal | None] = {}
        self._needs: dict[tuple[Any, ...], int | None] = {}

    def factor(self, action: str, tier: str, fired: str) -> Decimal | None:
        key = (action, tier, fired)
        if key not in self._factors:
            self._factors[key] = self._factor(action, tier, fired)
        return self._factors[key]

    def _factor(self, action: str, tier: str, fired: str) -> Decimal | None:
        org = self._policy_set.organization
        rules = [self._rules.get(key) for key in json.loads(fired or "[]")]
        if any(rule is None for rule in rules):  # a rule today's policies no longer have: unknown effect
            return None
        factor = Decimal(1)
        for rule in rules:
            assert rule is not None
            then = rule.then
            if tier in then.set_limits.get(action, {}) or action in then.forbid or (
                    action in then.require_tier and org.tier_rank(then.require_tier[action]) > org.tier_rank(tier)):
                return None
            factor *= then.scale.get(action, Decimal(1))
        return factor

    def needed(self, action: str, tier: str, amount: int | None, agent_limit: int | None, cap_room: int | None,
               fired: str) -> int | None:
        key = (action, tier, amount, agent_limit, cap_room, fired)
        if key not in self._needs:  # the same few thousand keys recur across a million rows
            self._needs[key] = self._needed(action, tier, amount, agent_limit, cap_room, fired)
        return self._needs[key]

    def _needed(self, action: str, tier: str, amount: int | None, agent_limit: int | None, cap_room: int | None,
                fired: str) -> int | None:
        cell = today_limit(self._policy_set, action, tier)
        factor = self.factor(action, tier, fired)
        if cell is None or amount is None or factor is None or factor <= 0:
            return None
        expected = _scaled(cell, factor) if cap_room is None else min(_scaled(cell, factor), cap_room)
        if agent_limit != expected or (cap_room is not None and amount > cap_room):
            return None
        need = int((Decimal(amount) / factor).to_integral_value(rounding=ROUND_CEILING))
        while _scaled(need, factor) < amount:
            need += 1
        while need > 1 and _scaled(need - 1, factor) >= amount:
            need -= 1
        return need


def _scaled(cell: int, factor: Decimal) -> int:
    return cell if factor == 1 else int((Decimal(cell) * factor).to_integral_value(rounding=ROUND_FLOOR))


def recommendations(policy_set: PolicySet, settings: InsightSettings,
                    decided: Iterable[tuple[Any, ...]], pending: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """One recommendation per (action, tier) whose evidence meets the thresholds, in matrix order.
    `decided` and `pending` are InsightRows.decided and .pending."""
    org = policy_set.organization
    needs = CellNeeds(policy_set)
    by_cell: dict[tuple[str, str], dict[int, _AtCell]] = defaultdict(lambda: defaultdict(_AtCell))
    for action, tier, amount, agent_limit, cap_room, fired, verdict, approver_tier, n, approved_amount, waits in decided:
        need = needs.needed(action, tier, amount, agent_limit, cap_room, fired)
        if need is None:
            continue
        at = by_cell[(action, tier)][need]
        if verdict == "approved":
            at.approved, at.approved_amount = at.approved + n, at.approved_amount + approved_amount
            at.approver_tiers.add(approver_tier or "")
        else:
            at.rejected, at.rejected_amount = at.rejected + n, at.rejected_amount + amount * n
        if waits:
            at.waits.append(waits)  # parsed only for the cases a recommendation counts
    for action, tier, _, amount, agent_limit, cap_room, fired, n in pending:
        need = needs.needed(action, tier, amount, agent_limit, cap_room, fired)
        if need is not None:
            by_cell[(action, tier)][need].pending += n
    found = []
    for (action, tier), at_cells in by_cell.items():
        suggested = _suggest(policy_set, action, tier, at_cells, settings)
        if suggested is not None:
            found.append(_recommendation(policy_set, action, tier, suggested, at_cells))
    order = {a: i for i, a in enumerate(org.actions)}
    return sorted(found, key=lambda r: (order.get(r["action"], 99), org.tier_rank(r["tier"])))


def today_limit(policy_set: PolicySet, action: str | None, tier: str | None) -> int | None:
    """The matrix cell of the live policies (integer form), for an action whose unit has amounts."""
    org = policy_set.organization
    if action is None or action not in org.actions or org.actions[action].unit not in RECOMMENDABLE_UNITS:
        return None
    policy = policy_set.policy_for(action)
    return None if policy is None else policy.limits.get(action, {}).get(tier or "")


def _suggest(policy_set: PolicySet, action: str, tier: str, at_cells: dict[int, _AtCell],
             settings: InsightSettings) -> int | None:
    """The largest L meeting §10's conditions, walking the needed cells upwards with running totals."""
    cell = today_limit(policy_set, action, tier) or 0
    policy = policy_set.policy_for(action)
    limits = policy.limits.get(action, {}) if policy else {}
    cases = approved = 0
    ceiling: int | None = None
    best = None
    for need in sorted(at_cells):
        at = at_cells[need]
        cases, approved = cases + at.approved + at.rejected, approved + at.approved
        for approver in at.approver_tiers:  # a tier with no cell for the action bounds nothing here
            if approver in limits:
                ceiling = limits[approver] if ceiling is None else min(ceiling, limits[approver])
        if (at.approved and need > cell and cases >= settings.min_cases and approved >= settings.min_rate * cases
                and (ceiling is None or need <= ceiling)):
            best = need
    return best


def _recommendation(policy_set: PolicySet, action: str, tier: str, suggested: int,
                    at_cells: dict[int, _AtCell]) -> dict[str, Any]:
    org = policy_set.organization
    unit = org.actions[action].unit
    within = [at for need, at in at_cells.items() if need <= suggested]
    approved = sum(at.approved for at in within)
    rejected = sum(at.rejected for at in within)
    cases = approved + rejected
    lower = wilson_lower_bound(approved, cases)
    waits = wait_histogram(",".join(text for at in within for text in at.waits))
    policy = policy_set.policy_for(action)
    return {
        "action": action, "tier": tier, "policy": policy.id if policy else None, "file": policy.file if policy else None,
        "current_limit": quantity_json(unit, today_limit(policy_set, action, tier), org),
        "suggested_limit": quantity_json(unit, suggested, org),
        "cases": cases, "approved": approved, "approval_rate": round(approved / cases, 4),
        "approval_rate_lower_bound": None if lower is None else round(lower, 4),
        "escalations_avoided": cases,
        "money_released": quantity_json(unit, sum(at.approved_amount for at in within), org),
        "rejected_now_allowed": {"count": rejected, "amount": quantity_json(unit, sum(at.rejected_amount for at in within), org)},
        "pending_now_allowed": sum(at.pending for at in within),
        "median_wait_seconds": percentile(waits.items(), 0.5),
        "candidate": f"set_limits: {{{action}: {{{tier}: {yaml_number(unit, suggested, policy_set)}}}}}",
    }


def yaml_number(unit: str, amount: int, policy_set: PolicySet) -> str:
    """An amount as a policy file writes a limit: 80 for 80.00 €, 80.5 for 80.50 €, 15 for 15 days."""
    if unit != "money":
        return str(amount)
    text = decimal_text(amount, policy_set.organization)
    return text.rstrip("0").rstrip(".") if "." in text else text


def apply_candidate(directory: Path, recommendation: dict[str, Any]) -> None:
    """Write a recommendation's candidate into a policy directory (a copy, to replay it): the cell of
    the action's `limits:` line in the policy's file, as `set_limits` replaces a matrix cell. The
    line must be a flow mapping (`refund: {agent: 50, ...}`), as the example policies write it."""
    change = CANDIDATE.fullmatch(recommendation["candidate"])
    if change is None:
        raise ValueError(f"not a candidate line: {recommendation['candidate']!r}")
    action, tier, value = change.groups()
    path = directory / recommendation["file"]
    text = path.read_text(encoding="utf-8")
    line = re.search(rf"^(\s+{re.escape(action)}:\s*\{{)([^}}]*)(\}})", text[text.index("\nlimits:"):], re.MULTILINE)
    if line is None:
        raise ValueError(f"{path}: no `{action}: {{...}}` line under limits:")
    offset = text.index("\nlimits:")
    entries = dict(item.split(":", 1) for item in line.group(2).replace(" ", "").split(",") if item)
    entries[tier] = str(value)
    cells_text = ", ".join(f"{k}: {v}" for k, v in entries.items())
    path.write_text(text[:offset + line.start(2)] + cells_text + text[offset + line.end(2):], encoding="utf-8")
