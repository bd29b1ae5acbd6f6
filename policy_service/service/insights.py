"""Insights (docs/contract.md §10): where the limits are wrong, read from the log.

Per action × requesting tier (and per action × agent kind): decisions by outcome, escalations
approved, rejected and pending, the approval rate with its Wilson lower bound, the wait from
escalation to verdict, and what was proposed, allowed, approved and granted; `dead_ends` (deny with
no option left); and `recommendations`, each with the figures that justify it and the one-line
`set_limits` change that would act on them.

A recommendation counts an escalation by the cell it needed (service/insights_advice.py): its amount
when the matrix alone set the agent's limit, less under a rule that scaled it (a gold customer's
×1.5), never when a rule replaced the cell, took the action away or a cap left less than the amount.
So replaying the window with the candidate turns exactly `escalations_avoided` decided escalations
(plus `pending_now_allowed` undecided ones) from escalate into allow.

Reads the log only through DecisionStore.insight_rows (aggregated in SQL): the report's memory grows
with the number of distinct groups and amounts, never with the log.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from policy_service.decisionlog import DecisionStore
from policy_service.model import PolicySet
from policy_service.service.insights_advice import (
    InsightSettings,
    percentile,
    recommendations,
    wait_histogram,
    wilson_lower_bound,
)
from policy_service.service.spelling import json_time, quantity_json

OUTCOMES = ("allow", "escalate", "handoff", "deny")


@dataclass
class Tally:
    """One group's figures as the rows come in (amounts in the unit's integer form)."""
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    proposed: int = 0
    allowed: int = 0
    approved: int = 0
    rejected: int = 0
    approved_amount: int = 0
    pending: int = 0
    granted_money: int = 0
    waits: Counter[int] = field(default_factory=Counter)  # whole seconds to verdict -> escalations

    def as_dict(self, unit: str, policy_set: PolicySet) -> dict[str, Any]:
        org = policy_set.organization
        decided = self.approved + self.rejected
        lower = wilson_lower_bound(self.approved, decided)

        def money(amount: int) -> str | None:
            return quantity_json("money", amount, org) if unit == "money" else None
        return {
            "decisions": sum(self.outcomes.values()), "outcomes": dict(self.outcomes),
            "escalations": {"approved": self.approved, "rejected": self.rejected, "pending": self.pending},
            "approval_rate": round(self.approved / decided, 4) if decided else None,
            "approval_rate_lower_bound": None if lower is None else round(lower, 4),
            "wait_seconds": {"median": percentile(self.waits.items(), 0.5), "p90": percentile(self.waits.items(), 0.9)},
            "money": {"proposed": money(self.proposed), "allowed": money(self.allowed),
                      "approved": money(self.approved_amount), "granted": quantity_json("money", self.granted_money, org)},
        }


def insights(store: DecisionStore, policy_set: PolicySet, settings: InsightSettings) -> dict[str, Any]:
    """The report as JSON-ready data (the API's InsightsSchema, the CLI's --format json, the console)."""
    org = policy_set.organization
    rows = store.insight_rows(settings.since)
    tiers: dict[tuple[str, str], Tally] = defaultdict(Tally)
    kinds: dict[tuple[str, str], Tally] = defaultdict(Tally)

    pairs: dict[tuple[str, str | None, str | None], tuple[Tally, Tally]] = {}

    def both(action: str, tier: str | None, agent_id: str | None) -> tuple[Tally, Tally]:
        """The group's tally by tier and by agent kind (memoised: rows repeat agents)."""
        found = pairs.get((action, tier, agent_id))
        if found is None:
            found = pairs[(action, tier, agent_id)] = (tiers[(action, tier or "")], kinds[(action, _kind(policy_set, agent_id))])
        return found

    money_actions = {a for a, spec in org.actions.items() if spec.unit == "money"}
    dead: dict[tuple[str, str], int] = defaultdict(int)
    for action, tier, agent, outcome, n, amount in rows.decisions:
        for tally in both(action, tier, agent):
            tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + n
            tally.proposed += amount
            tally.allowed += amount if outcome == "allow" else 0
    for action, fired, n in rows.dead_ends:
        dead[(action, fired or "[]")] += n
    for action, tier, agent, verdict, n, amount, waits in rows.verdicts:
        histogram = wait_histogram(waits)
        for tally in both(action, tier, agent):
            if verdict == "approved":
                tally.approved, tally.approved_amount = tally.approved + n, tally.approved_amount + amount
            else:
                tally.rejected += n
            tally.waits.update(histogram)
    for action, tier, agent, *_, n in rows.pending:
        for tally in both(action, tier, agent):
            tally.pending += n
    for action, tier, agent, outcome, granted_action, _, amount in rows.outcomes:
        if outcome == "granted" and granted_action in money_actions:
            for tally in both(action, tier, agent):
                tally.granted_money += amount

    def unit(action: str) -> str:
        return org.actions[action].unit if action in org.actions else ""
    action_order = {a: i for i, a in enumerate(org.actions)}

    def order(key: tuple[str, str]) -> tuple[int, str, int, str]:
        rank = org.tier_rank(key[1]) if key[1] in {t.id for t in org.tiers} else len(org.tiers)
        return action_order.get(key[0], len(action_order)), key[0], rank, key[1]
    return {
        "since": None if settings.since is None else json_time(settings.since),
        "currency": org.currency,
        "min_cases": settings.min_cases, "min_rate": settings.min_rate,
        "decisions": sum(n for *_, n, _ in rows.decisions),
        "by_tier": [{"action": a, "tier": t or None, "unit": unit(a), **tiers[(a, t)].as_dict(unit(a), policy_set)}
                    for a, t in sorted(tiers, key=order)],
        "by_agent_kind": [{"action": a, "agent_kind": k, "unit": unit(a), **kinds[(a, k)].as_dict(unit(a), policy_set)}
                          for a, k in sorted(kinds, key=lambda key: (action_order.get(key[0], 99), key[0], key[1]))],
        "dead_ends": dead_ends(((a, rules, n) for (a, rules), n in dead.items()), action_order),
        "recommendations": recommendations(policy_set, settings, rows.decided, rows.pending),
    }


def _kind(policy_set: PolicySet, agent_id: str | None) -> str:
    """human or ai from today's directory; an agent it does not list (a trusted caller's own) is unknown."""
    agent = policy_set.agents.get(agent_id or "")
    return agent.kind if agent is not None else "unknown"


def dead_ends(rows: Iterable[tuple[str, str, int]], action_order: dict[str, int]) -> list[dict[str, Any]]:
    """Answers with outcome deny and no option, per action, with how often each rule fired in them."""
    by_action: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    for action, rules, n in rows:
        totals[action] += n
        for rule in json.loads(rules or "[]"):
            by_action[action][rule] += n
    return [{"action": action, "decisions": totals[action],
             "rules": [{"rule": r, "decisions": n} for r, n in sorted(by_action[action].items(), key=lambda i: (-i[1], i[0]))]}
            for action in sorted(totals, key=lambda a: (action_order.get(a, 99), a))]
