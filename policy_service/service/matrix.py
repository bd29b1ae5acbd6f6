"""The empowerment matrix: per action, what every tier may grant with no rule fired, and the
rules and caps that can change that row. One model, two renderings: a table for people (CLI) and JSON
(GET /v1/policies/matrix). Everything shown to people is in the chosen locale: tiers and actions by
their labels (ids stay in the JSON's `id`/`action` and in rule keys), never "× 1,5" on a yes/no action,
which a scale cannot change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from babel.numbers import format_decimal

from policy_service.deciding.limits import compile_limits
from policy_service.deciding.words import format_amount, label, resolve_locale
from policy_service.model import Cap, PolicySet, Rule
from policy_service.service.responses import MatrixSchema, dump
from policy_service.service.spelling import quantity_json


@dataclass(frozen=True)
class Changer:
    """A rule or cap that can change a row, with what it does to it in words."""
    key: str
    kind: str  # rule | cap
    where: str  # file:line
    effect: str
    label: str | None = None  # a cap's label in the locale (its id when it has none); a rule has none


@dataclass(frozen=True)
class MatrixRow:
    action: str
    label: str
    unit: str
    policy: str | None
    cells: dict[str, int | None]  # tier -> limit (None: may not grant it)
    changers: tuple[Changer, ...]


def build_matrix(policy_set: PolicySet, locale: str) -> list[MatrixRow]:
    org = policy_set.organization
    base = compile_limits(policy_set, ())
    rows = []
    for action_id, action in org.actions.items():
        limits = base[action_id]
        cells = {tier.id: None if limits.forbidden or tier.rank < limits.min_rank else limits.cells.get(tier.id)
                 for tier in org.tiers}
        policy = policy_set.policy_for(action_id)
        changers = [Changer(rule.key, "rule", f"{rule.file}:{rule.line}", effect)
                    for rule in policy_set.rules if (effect := _rule_effect(rule, action_id, policy_set, locale))]
        changers += [Changer(cap.key, "cap", policy.file if policy else "", _cap_effect(cap, policy_set, action.unit, locale),
                             label(cap.label, locale, org, cap.id))
                     for cap in policy_set.caps_for(action_id)]
        rows.append(MatrixRow(action_id, label(action.label, locale, org, action_id), action.unit,
                              policy.id if policy else None, cells, tuple(changers)))
    return rows


def _amount(policy_set: PolicySet, unit: str, amount: int | None, locale: str) -> str:
    if amount is None:
        return "—"
    if unit == "flag":
        return "sí" if locale.startswith("es") else "yes"
    return format_amount(policy_set.organization, unit, amount, locale) or str(amount)


def _tier(policy_set: PolicySet, tier_id: str, locale: str) -> str:
    org = policy_set.organization
    tier = next((t for t in org.tiers if t.id == tier_id), None)
    return label(tier.label, locale, org, tier_id) if tier else tier_id


def _rule_effect(rule: Rule, action_id: str, policy_set: PolicySet, locale: str) -> str:
    then, unit, es = rule.then, policy_set.organization.actions[action_id].unit, locale.startswith("es")
    parts = []
    if action_id in then.scale and unit != "flag":  # a yes/no limit has nothing to multiply
        parts.append(f"× {format_decimal(then.scale[action_id], locale=locale.replace('-', '_'))}")
    for tier, value in then.set_limits.get(action_id, {}).items():
        parts.append(f"{_tier(policy_set, tier, locale)} = {_amount(policy_set, unit, value, locale)}")
    if action_id in then.cap_at_order_value:
        parts.append("hasta el valor del pedido" if es else "up to the order value")
    if action_id in then.require_tier:
        parts.append(f"{'requiere' if es else 'requires'} {_tier(policy_set, then.require_tier[action_id], locale)}")
    if action_id in then.forbid:
        parts.append("prohibido" if es else "forbidden")
    if action_id in then.offer:
        parts.append("se ofrece como alternativa" if es else "offered as an option")
    return ", ".join(parts)


def _cap_effect(cap: Cap, policy_set: PolicySet, unit: str, locale: str) -> str:
    es = locale.startswith("es")
    days = cap.window.days
    parts = []
    if cap.max_amount is not None:
        if isinstance(cap.max_amount, Mapping):
            amounts = ", ".join(f"{_tier(policy_set, t, locale)} {_amount(policy_set, unit, a, locale)}" for t, a in cap.max_amount.items())
        else:
            amounts = _amount(policy_set, unit, cap.max_amount, locale)
        parts.append(amounts)
    if cap.max_count is not None:
        parts.append(_count(cap.max_count, ("vez", "veces") if es else ("time", "times")))
    who = ("por cliente" if cap.per == "customer" else "por agente") if es else f"per {cap.per}"
    hours = int(cap.window.total_seconds()) // 3600
    if days == 1 and hours == 24:
        window = "cada día" if es else "every day"
    elif hours % 24:  # a window written in hours that is not whole days: "cada 12 horas"
        window = f"{'cada' if es else 'every'} {_count(hours, ('hora', 'horas') if es else ('hour', 'hours'))}"
    else:
        window = f"{'cada' if es else 'every'} {_count(days, ('día', 'días') if es else ('day', 'days'))}"
    text = f"{' / '.join(parts)} {who}, {window}"
    if cap.override_tier:
        text += f" ({_tier(policy_set, cap.override_tier, locale)} {'y superiores no se ven limitados' if es else 'and above are not bound'})"
    return text


def _count(number: int, forms: tuple[str, str]) -> str:
    """`1 vez`, `3 veces`: Spanish and English both take the singular for one and only for one."""
    return f"{number} {forms[0] if number == 1 else forms[1]}"


def matrix_json(policy_set: PolicySet, requested_locale: str | None) -> dict[str, Any]:
    """The matrix as GET /v1/policies/matrix and `matrix --format json` answer it (MatrixSchema)."""
    org = policy_set.organization
    locale = resolve_locale(requested_locale, org)
    return dump(MatrixSchema, {
        "revision": policy_set.revision, "currency": org.currency, "locale": locale,
        "tiers": [{"id": t.id, "rank": t.rank, "label": label(t.label, locale, org, t.id)} for t in org.tiers],
        "actions": [{
            "action": row.action, "label": row.label, "unit": row.unit, "policy": row.policy,
            "limits": {tier: quantity_json(row.unit, value, org) for tier, value in row.cells.items()},
            "shown": {tier: _amount(policy_set, row.unit, value, locale) for tier, value in row.cells.items()},
            "changed_by": [{"key": c.key, "kind": c.kind, "where": c.where, "effect": c.effect, "label": c.label}
                           for c in row.changers],
        } for row in build_matrix(policy_set, locale)],
    })


def matrix_text(policy_set: PolicySet, requested_locale: str | None) -> str:
    org = policy_set.organization
    locale = resolve_locale(requested_locale, org)
    rows = build_matrix(policy_set, locale)
    tiers = [t.id for t in org.tiers]
    header = ["acción" if locale.startswith("es") else "action", *(_tier(policy_set, t, locale) for t in tiers)]
    table = [[row.label[:1].upper() + row.label[1:], *(_amount(policy_set, row.unit, row.cells[t], locale) for t in tiers)]
             for row in rows]
    widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        # Amounts align right, as in a spreadsheet; the action name left.
        return "  ".join([cells[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]).rstrip()

    out = [f"{org.name} · {policy_set.revision[:19]}…", line(header), line(["-" * w for w in widths])]
    for row, cells in zip(rows, table, strict=True):
        out.append(line(cells))
        for changer in row.changers:
            if changer.label and changer.label != changer.key.rpartition("/")[2]:  # a cap by the name its words use
                out.append(f"    ↳ {changer.label} ({changer.key}, {changer.where}): {changer.effect}")
            else:
                out.append(f"    ↳ {changer.key} ({changer.where}): {changer.effect}")
    return "\n".join(out)

