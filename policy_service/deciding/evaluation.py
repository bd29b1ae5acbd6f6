"""Outcome, options, escalation, hand-off and words (docs/contract.md §4 steps 3–5), given the rules that fired.

`evaluate` is a pure function of its arguments: the same situation gives the same Evaluation
(docs/contract.md §4 step 6), which is what lets `runtime` memoise it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from policy_service.deciding.limits import (
    ActionLimits,
    LimitContext,
    binds,
    cap_room,
    caps_for,
    effective_limit,
    uncapped_limit,
)
from policy_service.deciding.words import LazyValues, action_label, fill, format_amount, label, message, resolve_locale
from policy_service.model import Action, Cap, Organization, PolicySet, Rule


@dataclass(frozen=True)
class Situation:
    """The part of a request that evaluation reads besides the fired rules (hashable, for the memo)."""

    tier: str
    action: str
    amount: int
    order_value: int | None
    usage: tuple[tuple[str, int, int], ...]  # (cap key, amount used, count used)
    locale: str | None


@dataclass(frozen=True)
class Option:
    action: str
    unit: str
    max: int
    say: str | None
    conditions: tuple[str, ...]


@dataclass(frozen=True)
class Escalation:
    to_tier: str
    label: str
    say: str | None


@dataclass(frozen=True)
class Handoff:
    team: str
    label: str
    contact: str | None


@dataclass(frozen=True)
class CapStatus:
    key: str
    unit: str
    remaining: int | None  # amount left after this decision; None when the cap has no amount bound
    remaining_count: int | None
    binding: bool = False  # this cap is what keeps the proposal from `allow` (docs/contract.md §4 step 3)


@dataclass(frozen=True)
class Evaluation:
    outcome: str
    action: str
    unit: str
    amount: int
    tier: str
    limit: int | None  # what this agent may grant of the proposed action now
    options: tuple[Option, ...]
    escalation: Escalation | None
    handoff: Handoff | None
    say: tuple[str, ...]
    rules: tuple[str, ...]  # the fired rules that shaped this answer (reported, or limiting an option)
    conditions: tuple[str, ...]
    caps: tuple[CapStatus, ...]
    locale: str
    fired: tuple[str, ...] = ()  # every rule whose `when` held (docs/contract.md §4 step 1), as the log records them


def is_reported(rule: Rule, action_id: str, policy_set: PolicySet) -> bool:
    """A fired rule's words, offers, hand-off and conditions count for this proposal only when its limit
    effects name the proposed action; a rule whose limit effects name no action (none at all; a bare
    `scale` already names every action of its policy) speaks to every action of its policy
    (docs/contract.md §3.3). A rule requiring a lead for vouchers says nothing on a lounge pass."""
    named = rule.then.limit_actions
    if named:
        return action_id in named
    policy = policy_set.policy_for(action_id)
    return policy is not None and policy.id == rule.policy_id


@dataclass(frozen=True)
class Prepared:
    """What a decision takes from its fired rules for one proposed action. It depends on nothing else,
    so it is built once per (fired set, action) and shared by every request that matches it."""

    fired: tuple[Rule, ...]  # path order, file order
    table: Mapping[str, ActionLimits]
    reported: tuple[Rule, ...]
    condition_rules: tuple[Rule, ...]
    handoff_rule: Rule | None
    option_candidates: tuple[str, ...]  # offered by reported rules, in order (the proposal excluded)
    policy_others: tuple[str, ...]  # the proposal's automatic alternatives: its policy's `alternatives`, or its other actions


def prepare(policy_set: PolicySet, fired: Sequence[Rule], action_id: str, table: Mapping[str, ActionLimits]) -> Prepared:
    reported = tuple(rule for rule in fired if is_reported(rule, action_id, policy_set))
    policy = policy_set.policy_for(action_id)
    return Prepared(
        fired=tuple(fired), table=table, reported=reported,
        condition_rules=tuple(r for r in reported if r.then.conditions),
        handoff_rule=next((r for r in reported if r.then.handoff), None),
        option_candidates=tuple(dict.fromkeys(a for r in reported for a in r.then.offer if a != action_id)),
        policy_others=policy.alternatives_for(action_id) if policy else (),
    )


def evaluate(policy_set: PolicySet, prepared: Prepared, situation: Situation) -> Evaluation:
    org = policy_set.organization
    locale = resolve_locale(situation.locale, org)
    ctx = LimitContext(policy_set, prepared.table, situation.tier, situation.order_value,
                       {key: (amount, count) for key, amount, count in situation.usage})
    action_id, tier_id, amount = situation.action, situation.tier, situation.amount
    unit = org.actions[action_id].unit
    own_limit = effective_limit(ctx, action_id, tier_id)
    fired, reported, condition_rules = prepared.fired, prepared.reported, prepared.condition_rules
    handoff_rule = prepared.handoff_rule
    handoff = None
    if handoff_rule is not None:
        team = org.teams[handoff_rule.then.handoff]  # type: ignore[index]
        handoff = Handoff(team.id, label(team.label, locale, org, team.id), team.contact)

    higher = [t for t in org.tiers if t.rank > org.tier_rank(tier_id)]
    to_tier = None
    if own_limit is not None and amount <= own_limit:
        outcome = "allow"
    elif to_tier := next((t for t in higher if (lim := effective_limit(ctx, action_id, t.id)) is not None and amount <= lim), None):
        outcome = "escalate"
    else:
        outcome = "handoff" if handoff else "deny"

    caps = _cap_statuses(ctx, action_id, amount, outcome == "allow")
    factories: dict[str, Callable[[], str | None]] = {
        "amount": lambda: format_amount(org, unit, amount, locale),
        "limit": lambda: format_amount(org, unit, own_limit or None, locale),  # a limit of zero grants nothing
        "action": lambda: action_label(org.actions[action_id], locale, org),
        "action_a": lambda: action_label(org.actions[action_id], locale, org, "a"),
        "tier": lambda: label(org.tier(tier_id).label, locale, org, tier_id),
        "to_tier": lambda: label(to_tier.label, locale, org, to_tier.id) if to_tier else None,
        "team": lambda: handoff.label if handoff else None,
        "remaining": lambda: _tightest_remaining(org, unit, caps, locale),
    }
    for other in org.actions.values():
        factories[f"limit[{other.id}]"] = partial(_limit_text, ctx, other, tier_id, locale)
    values = LazyValues(factories)

    options = _options(policy_set, ctx, situation, outcome, own_limit, prepared, locale)
    escalation = None
    if to_tier is not None:
        escalation = Escalation(to_tier.id, values.get("to_tier") or to_tier.id, fill(message(org, "escalate" + _variant(unit), locale), values))

    say = [text for rule in reported if rule.then.say
           if (text := fill(_text(rule.then.say, locale, org), values)) is not None]
    standard = fill(message(org, _standard_key(outcome, unit, bool(options)), locale), values)
    say += _cap_sentences(ctx, action_id, caps, locale)
    if standard is not None:
        say.append(standard)
    say = list(dict.fromkeys(say))  # the same sentence twice reads as a script (docs/contract.md §4 step 5)
    rules_shown = [r.key for r in fired if r in reported or any(o.action in r.then.limit_actions for o in options)]
    return Evaluation(
        outcome=outcome, action=action_id, unit=unit, amount=amount, tier=tier_id, limit=own_limit,
        options=tuple(options), escalation=escalation, handoff=handoff, say=tuple(say), rules=tuple(rules_shown),
        conditions=tuple(_text(r.then.conditions, locale, org) for r in condition_rules),
        caps=tuple(caps), locale=locale, fired=tuple(r.key for r in fired),
    )


def _limit_text(ctx: LimitContext, action: Action, tier_id: str, locale: str) -> str | None:
    """`{limit[x]}`: what this agent may grant of x now; a flag shows its label; None if nothing."""
    org = ctx.policy_set.organization
    limit = effective_limit(ctx, action.id, tier_id) or None
    if action.unit == "flag":
        return label(action.label, locale, org, action.id) if limit else None
    return format_amount(org, action.unit, limit, locale)


def _tightest_remaining(org: Organization, unit: str, caps: list[CapStatus], locale: str) -> str | None:
    tightest = min((c.remaining for c in caps if c.remaining is not None), default=None)
    return format_amount(org, unit, tightest, locale)


def _options(policy_set: PolicySet, ctx: LimitContext, situation: Situation, outcome: str, own_limit: int | None,
             prepared: Prepared, locale: str) -> list[Option]:
    """Alternatives this agent may grant now (docs/contract.md §4 step 4), each action at most once, in order."""
    org = policy_set.organization
    condition_rules = prepared.condition_rules
    candidates: list[str] = []
    if own_limit and own_limit < situation.amount:
        candidates.append(situation.action)
    candidates += prepared.option_candidates
    if outcome != "allow":
        candidates += prepared.policy_others
    options: list[Option] = []
    for action_id in dict.fromkeys(candidates):
        limit = effective_limit(ctx, action_id, situation.tier)
        if not limit:
            continue
        action = org.actions[action_id]
        values = {"limit": format_amount(org, action.unit, limit, locale), "action": action_label(action, locale, org),
                  "action_a": action_label(action, locale, org, "a")}
        governing = policy_set.policy_for(action_id)
        conditions = tuple(_text(r.then.conditions, locale, org) for r in condition_rules
                           if governing is not None and r.policy_id == governing.id)
        options.append(Option(action_id, action.unit, limit, fill(message(org, "option" + _variant(action.unit), locale), values), conditions))
    return options


def _cap_statuses(ctx: LimitContext, action_id: str, amount: int, allowed: bool) -> list[CapStatus]:
    """Every cap on the proposed action for this customer and agent, with what is left after it, and
    whether it is what keeps the proposal from `allow`: without caps the agent's limit would cover the
    amount, and this cap's own room does not (docs/contract.md §4 step 3)."""
    statuses = []
    tier = ctx.requester_tier
    unit = ctx.policy_set.organization.actions[action_id].unit
    uncapped = None if allowed else uncapped_limit(ctx, action_id, tier)
    for cap in caps_for(ctx.policy_set, action_id):
        if cap.per == "agent" and not binds(cap, tier, ctx):
            continue
        used_amount, used_count = ctx.usage.get(cap.key, (0, 0))
        spent = amount if allowed else 0
        ceiling = cap.max_amount_for(tier)
        remaining = max(ceiling - used_amount - spent, 0) if ceiling is not None else None
        remaining_count = max(cap.max_count - used_count - int(allowed), 0) if cap.max_count is not None else None
        room = cap_room(ctx, cap, tier)
        binding = (uncapped is not None and amount <= uncapped and binds(cap, tier, ctx)
                   and room is not None and room < amount)
        statuses.append(CapStatus(cap.key, unit, remaining, remaining_count, binding))
    return statuses


def _cap_sentences(ctx: LimitContext, action_id: str, caps: list[CapStatus], locale: str) -> list[str]:
    """`cap_reached` for each binding cap: which budget is used up and what remains of it."""
    org = ctx.policy_set.organization
    by_key = {cap.key: cap for cap in caps_for(ctx.policy_set, action_id)}
    sentences = []
    for status in caps:
        if not status.binding:
            continue
        cap: Cap = by_key[status.key]
        used_up = cap.max_count is not None and status.remaining_count == 0
        whole = cap.max_amount_for(ctx.requester_tier) if status.remaining is not None else None
        untouched = whole is not None and status.remaining == whole  # the proposal alone is more than the cap
        key = "cap_reached" + ("_agent" if cap.per == "agent" else "") + ("_count" if used_up else "_whole" if untouched else "")
        remaining = status.remaining if status.remaining is not None else status.remaining_count
        values = {"cap": label(cap.label, locale, org, cap.id),
                  "remaining": format_amount(org, status.unit if status.remaining is not None else "count", remaining, locale)}
        text = fill(message(org, key, locale), values)
        if text is not None:
            sentences.append(text)
    return sentences


def _standard_key(outcome: str, unit: str, has_options: bool) -> str:
    if outcome == "deny":
        return ("deny_with_options" if has_options else "deny") + _variant(unit)
    return outcome if outcome == "handoff" else outcome + _variant(unit)


def _variant(unit: str) -> str:
    """Sentences differ for a flag (no amount) and a count (a number of things)."""
    return {"flag": "_flag", "count": "_count"}.get(unit, "")


def _text(texts: Mapping[str, str], locale: str, org: Organization) -> str:
    """A rule's text in the locale, falling back as labels do (the loader guarantees one text)."""
    return label(texts, locale, org, next(iter(texts.values())))
