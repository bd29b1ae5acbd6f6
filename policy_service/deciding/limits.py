"""Effective limits (docs/contract.md §4 step 2): what a tier may grant of an action, given the rules that fired.

Pure functions over the model. Amounts are integers (money in minor units), so "rounds down to the
currency's minor unit" is a floor of an exact product. `None` means "may not grant it at all".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from policy_service.model import Cap, PolicySet, Rule

Usage = Mapping[str, tuple[int, int]]  # cap key -> (amount used, count used) in its window


@dataclass(frozen=True)
class ActionLimits:
    """One action's limits under a set of fired rules, before order value and caps (which vary per
    request). Built once per distinct fired set: the expensive part, and it repeats all day."""

    cells: Mapping[str, int]  # tier -> cell after set_limits (lowest wins) and scales
    forbidden: bool
    min_rank: int  # tiers ranked below may not grant it (require_tier; the highest wins)
    capped_at_order_value: bool


def compile_limits(policy_set: PolicySet, fired: Sequence[Rule]) -> dict[str, ActionLimits]:
    org = policy_set.organization
    table = {}
    for action_id, action in org.actions.items():
        policy = policy_set.policy_for(action_id)
        cells = dict(policy.limits.get(action_id, {})) if policy else {}
        replacements: dict[str, int] = {}
        for rule in fired:
            for tier_id, value in rule.then.set_limits.get(action_id, {}).items():
                replacements[tier_id] = min(value, replacements.get(tier_id, value))
        cells.update(replacements)
        if action.unit != "flag":
            factor = Decimal(1)
            for rule in fired:
                factor *= rule.then.scale.get(action_id, Decimal(1))
            if factor != 1:
                cells = {t: int((Decimal(v) * factor).to_integral_value(rounding=ROUND_FLOOR)) for t, v in cells.items()}
        required = [org.tier_rank(r.then.require_tier[action_id]) for r in fired if action_id in r.then.require_tier]
        table[action_id] = ActionLimits(
            cells=cells,
            forbidden=any(action_id in r.then.forbid for r in fired),
            min_rank=max(required, default=0),
            capped_at_order_value=action.unit != "flag" and any(action_id in r.then.cap_at_order_value for r in fired),
        )
    return table


@dataclass(frozen=True)
class LimitContext:
    """Everything besides the matrix that effective limits depend on."""

    policy_set: PolicySet
    table: Mapping[str, ActionLimits]  # from compile_limits for the fired rules
    requester_tier: str
    order_value: int | None
    usage: Usage


def matrix_limit(ctx: LimitContext, action_id: str, tier_id: str) -> int | None:
    """The cell after `set_limits`, scales and `cap_at_order_value`: no caps, no bans."""
    limits = ctx.table[action_id]
    cell = limits.cells.get(tier_id)
    if cell is not None and limits.capped_at_order_value and ctx.order_value is not None:
        cell = min(cell, ctx.order_value)
    return cell


def uncapped_limit(ctx: LimitContext, action_id: str, tier_id: str) -> int | None:
    """The effective limit as it would be without any cap's bound (bans and required tiers still count)."""
    limits = ctx.table[action_id]
    org = ctx.policy_set.organization
    if limits.forbidden or org.tier_rank(tier_id) < limits.min_rank:
        return None
    return matrix_limit(ctx, action_id, tier_id)


def cap_room(ctx: LimitContext, cap: Cap, tier_id: str) -> int | None:
    """What `cap` still lets `tier_id` grant of its actions: 0 once its count is used up; None when it
    bounds no amount for that tier."""
    used_amount, used_count = ctx.usage.get(cap.key, (0, 0))
    if cap.max_count is not None and used_count >= cap.max_count:
        return 0
    ceiling = cap.max_amount_for(tier_id)
    return None if ceiling is None else max(ceiling - used_amount, 0)


def effective_limit(ctx: LimitContext, action_id: str, tier_id: str) -> int | None:
    cell = uncapped_limit(ctx, action_id, tier_id)
    if cell is None:
        return None
    for cap in ctx.policy_set.caps_for(action_id):
        if not binds(cap, tier_id, ctx):
            continue
        used_amount, used_count = ctx.usage.get(cap.key, (0, 0))
        if cap.max_count is not None and used_count >= cap.max_count:
            return None
        ceiling = cap.max_amount_for(tier_id)
        if ceiling is not None:
            cell = min(cell, max(ceiling - used_amount, 0))
    return cell


def caps_for(policy_set: PolicySet, action_id: str) -> tuple[Cap, ...]:
    return policy_set.caps_for(action_id)


def binds(cap: Cap, tier_id: str, ctx: LimitContext) -> bool:
    """Customer caps bind every tier below their override tier; an agent cap binds the requesting
    agent at its own tier (an approver's own budget is checked when it approves)."""
    org = ctx.policy_set.organization
    if cap.override_tier is not None and org.tier_rank(tier_id) >= org.tier_rank(cap.override_tier):
        return False
    return cap.per == "customer" or tier_id == ctx.requester_tier

