"""Effective limits (SPEC §4 step 2): what a tier may grant of an action, given the rules that fired.

Pure functions over the model. Amounts are integers (money in minor units), so "rounds down to the
currency's minor unit" is a floor of an exact product. `None` means "may not grant it at all".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Mapping, Sequence

from .model import Cap, PolicySet, Rule

Usage = Mapping[str, tuple[int, int]]  # cap key -> (amount used, count used) in its window


@dataclass(frozen=True)
class LimitContext:
    """Everything besides the matrix that effective limits depend on."""

    policy_set: PolicySet
    fired: Sequence[Rule]  # in path order, file order
    requester_tier: str
    order_value: int | None
    usage: Usage


def matrix_limit(ctx: LimitContext, action_id: str, tier_id: str) -> int | None:
    """The cell after `set_limits` (lowest wins), scales and `cap_at_order_value`: no caps, no bans."""
    policy = ctx.policy_set.policy_for(action_id)
    cell = policy.limits.get(action_id, {}).get(tier_id) if policy else None
    replacements = [r.then.set_limits[action_id][tier_id] for r in ctx.fired
                    if tier_id in r.then.set_limits.get(action_id, {})]
    if replacements:
        cell = min(replacements)
    if cell is None:
        return None
    unit = ctx.policy_set.organization.actions[action_id].unit
    if unit != "flag":
        factor = Decimal(1)
        for rule in ctx.fired:
            factor *= rule.then.scale.get(action_id, Decimal(1))
        cell = int((Decimal(cell) * factor).to_integral_value(rounding=ROUND_FLOOR))
        if ctx.order_value is not None and any(action_id in r.then.cap_at_order_value for r in ctx.fired):
            cell = min(cell, ctx.order_value)
    return cell


def effective_limit(ctx: LimitContext, action_id: str, tier_id: str) -> int | None:
    org = ctx.policy_set.organization
    if any(action_id in r.then.forbid for r in ctx.fired):
        return None
    required = [org.tier_rank(r.then.require_tier[action_id]) for r in ctx.fired if action_id in r.then.require_tier]
    if required and org.tier_rank(tier_id) < max(required):
        return None
    cell = matrix_limit(ctx, action_id, tier_id)
    if cell is None:
        return None
    for cap in caps_for(ctx.policy_set, action_id):
        if not binds(cap, tier_id, ctx):
            continue
        used_amount, used_count = ctx.usage.get(cap.key, (0, 0))
        if cap.max_count is not None and used_count >= cap.max_count:
            return None
        ceiling = cap.max_amount_for(tier_id)
        if ceiling is not None:
            cell = min(cell, max(ceiling - used_amount, 0))
    return cell


def caps_for(policy_set: PolicySet, action_id: str) -> list[Cap]:
    return [cap for cap in policy_set.caps if action_id in cap.actions]


def binds(cap: Cap, tier_id: str, ctx: LimitContext) -> bool:
    """Customer caps bind every tier below their override tier; an agent cap binds the requesting
    agent at its own tier (an approver's own budget is checked when it approves)."""
    org = ctx.policy_set.organization
    if cap.override_tier is not None and org.tier_rank(tier_id) >= org.tier_rank(cap.override_tier):
        return False
    return cap.per == "customer" or tier_id == ctx.requester_tier


def limits_table(ctx: LimitContext) -> dict[str, dict[str, int | None]]:
    """Every action's effective limit for every tier (the empowerment matrix under these rules)."""
    org = ctx.policy_set.organization
    return {a: {t.id: effective_limit(ctx, a, t.id) for t in org.tiers} for a in org.actions}
