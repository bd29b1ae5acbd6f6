"""Insights' recommendations (docs/contract.md §10) and the statistics they and the report share.

For an action A and a tier T, among the decided escalations of A by agents of T in the window, the
suggested limit is the largest approved amount L above today's limit such that the approval rate
among decided escalations proposing at most L is at least `min_rate`, with at least `min_cases` of
them, and L is no higher than the lowest limit of the tiers that approved them (an agent is never
trusted beyond the people who vouched for those cases).

Only escalations the matrix alone decided count (the agent's recorded limit was today's cell, see
service/insights.py): those are exactly the ones a new cell turns into `allow` on replay.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from policy_service.decisionlog import DecisionStore
from policy_service.model import PolicySet
from policy_service.service.spelling import decimal_text, quantity_json

Z95 = 1.959963984540054  # two-sided 95 %
RECOMMENDABLE_UNITS = ("money", "days", "count")  # a flag's limit is yes or no: there is no amount to raise


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
class _AtAmount:
    approved: int = 0
    approved_amount: int = 0  # what the approvers approved (an approval may lower the amount)
    rejected: int = 0
    approver_tiers: set[str] = field(default_factory=set)


def recommendations(store: DecisionStore, policy_set: PolicySet, settings: InsightSettings,
                    verdicts: Iterable[tuple[Any, ...]], pending: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """One recommendation per (action, tier) whose evidence meets the thresholds, in matrix order.
    `verdicts` and `pending` are InsightRows.verdicts and .pending."""
    org = policy_set.organization
    cases: dict[tuple[str, str], dict[int, _AtAmount]] = defaultdict(lambda: defaultdict(_AtAmount))
    for action, tier, _, amount, limit, verdict, approver_tier, n, approved_amount in verdicts:
        cell = today_limit(policy_set, action, tier)
        if cell is None or amount is None or limit != cell:
            continue
        at = cases[(action, tier)][amount]
        if verdict == "approved":
            at.approved, at.approved_amount = at.approved + n, at.approved_amount + approved_amount
            at.approver_tiers.add(approver_tier or "")
        else:
            at.rejected += n
    undecided: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for action, tier, _, amount, limit, n in pending:
        if amount is not None and limit is not None and limit == today_limit(policy_set, action, tier):
            undecided[(action, tier)].append((amount, n))
    found = []
    for (action, tier), by_amount in cases.items():
        suggestion = _suggest(policy_set, action, tier, by_amount, settings)
        if suggestion is not None:
            found.append(_recommendation(store, policy_set, settings, action, tier, suggestion, by_amount,
                                         sum(n for amount, n in undecided[(action, tier)] if amount <= suggestion)))
    order = {a: i for i, a in enumerate(org.actions)}
    return sorted(found, key=lambda r: (order.get(r["action"], 99), org.tier_rank(r["tier"])))


def today_limit(policy_set: PolicySet, action: str | None, tier: str | None) -> int | None:
    """The matrix cell of the live policies (integer form), for an action whose unit has amounts."""
    org = policy_set.organization
    if action is None or action not in org.actions or org.actions[action].unit not in RECOMMENDABLE_UNITS:
        return None
    policy = policy_set.policy_for(action)
    return None if policy is None else policy.limits.get(action, {}).get(tier or "")


def _suggest(policy_set: PolicySet, action: str, tier: str, by_amount: dict[int, _AtAmount],
             settings: InsightSettings) -> int | None:
    """The largest L meeting §10's conditions, walking the amounts upwards with running totals."""
    cell = today_limit(policy_set, action, tier) or 0
    policy = policy_set.policy_for(action)
    limits = policy.limits.get(action, {}) if policy else {}
    cases = approved = 0
    ceiling: int | None = None
    best = None
    for amount in sorted(by_amount):
        at = by_amount[amount]
        cases, approved = cases + at.approved + at.rejected, approved + at.approved
        for approver in at.approver_tiers:  # a tier with no cell for the action bounds nothing here
            if approver in limits:
                ceiling = limits[approver] if ceiling is None else min(ceiling, limits[approver])
        if (at.approved and amount > cell and cases >= settings.min_cases and approved >= settings.min_rate * cases
                and (ceiling is None or amount <= ceiling)):
            best = amount
    return best


def _recommendation(store: DecisionStore, policy_set: PolicySet, settings: InsightSettings, action: str, tier: str,
                    suggested: int, by_amount: dict[int, _AtAmount], pending_now_allowed: int) -> dict[str, Any]:
    org = policy_set.organization
    unit = org.actions[action].unit
    cell = today_limit(policy_set, action, tier) or 0
    within = [(amount, at) for amount, at in by_amount.items() if amount <= suggested]
    approved = sum(at.approved for _, at in within)
    cases = approved + sum(at.rejected for _, at in within)
    lower = wilson_lower_bound(approved, cases)
    waits = store.insight_waits(settings.since, action, tier, suggested, cell)
    policy = policy_set.policy_for(action)
    return {
        "action": action, "tier": tier, "policy": policy.id if policy else None, "file": policy.file if policy else None,
        "current_limit": quantity_json(unit, cell, org), "suggested_limit": quantity_json(unit, suggested, org),
        "cases": cases, "approved": approved, "approval_rate": round(approved / cases, 4),
        "approval_rate_lower_bound": None if lower is None else round(lower, 4),
        "escalations_avoided": cases,
        "money_released": quantity_json(unit, sum(at.approved_amount for _, at in within), org),
        "rejected_now_allowed": {"count": sum(at.rejected for _, at in within),
                                 "amount": quantity_json(unit, sum(amount * at.rejected for amount, at in within), org)},
        "pending_now_allowed": pending_now_allowed,
        "median_wait_seconds": percentile(waits, 0.5),
        "candidate": f"set_limits: {{{action}: {{{tier}: {yaml_number(unit, suggested, policy_set)}}}}}",
    }


def yaml_number(unit: str, amount: int, policy_set: PolicySet) -> str:
    """An amount as a policy file writes a limit: 80 for 80.00 €, 80.5 for 80.50 €, 15 for 15 days."""
    if unit != "money":
        return str(amount)
    text = decimal_text(amount, policy_set.organization)
    return text.rstrip("0").rstrip(".") if "." in text else text
