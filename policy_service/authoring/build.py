"""From validated file data to model objects, checking every cross-reference (docs/contract.md §3.1–§3.3).

Each builder returns what it could build plus diagnostics; the loader decides whether the set as a
whole may go live (no errors) or not.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from babel.numbers import get_currency_precision, list_currencies

from policy_service.authoring.diagnostics import Diagnostic, did_you_mean
from policy_service.authoring.file_schemas import CapSchema, RuleSchema, validate_shape
from policy_service.authoring.references import ReferenceReader
from policy_service.authoring.satisfiability import can_match
from policy_service.authoring.source import SourceFile
from policy_service.deciding.words import REQUIRED_MESSAGES, STANDARD_MESSAGES
from policy_service.model import (
    BUILTIN_FIELDS,
    Action,
    Agent,
    Cap,
    FieldSpec,
    Organization,
    Policy,
    Rule,
    Team,
    Tier,
)

_FIELD_OBJECTS = ("agent", "customer", "case")


def _unknown_value_labels(source: SourceFile, path: tuple[Any, ...], spec: dict[str, Any],
                          values: tuple[str, ...] | None) -> list[Diagnostic]:
    """Words for a value the field cannot take would never be read: a typo of one that it can."""
    if values is None:  # an open list (customer.flags): any value may be labelled
        return []
    return [source.diagnostic(path + ("value_labels", value), "PS005", f'"{value}" is not a value of {path[-1]}',
                              hint=did_you_mean(value, values) or f"values: {', '.join(values)}", key=True)
            for value in spec.get("value_labels", {}) if value not in values]


def build_organization(source: SourceFile, data: dict[str, Any]) -> tuple[Organization | None, list[Diagnostic]]:
    problems: list[Diagnostic] = []
    currency = data["currency"]
    if currency not in list_currencies():
        problems.append(source.diagnostic(("currency",), "PS005", f'unknown currency "{currency}"', hint=did_you_mean(currency, list_currencies())))
    tiers: list[Tier] = []
    for rank, tier in enumerate(data["tiers"]):
        if any(t.id == tier["id"] for t in tiers):
            problems.append(source.diagnostic(("tiers", rank, "id"), "PS011", f'tier "{tier["id"]}" is defined twice'))
            continue
        tiers.append(Tier(tier["id"], rank, tier.get("label", {})))
    actions = {a: _action(a, spec) for a, spec in data["actions"].items()}
    teams = {t: Team(t, spec.get("label", {}), spec.get("contact")) for t, spec in data.get("teams", {}).items()}
    fields = dict(BUILTIN_FIELDS)
    for name, spec in data.get("fields_", {}).items():
        path = ("fields", name)
        builtin = BUILTIN_FIELDS.get(name)
        values = tuple(spec["values"]) if "values" in spec else None
        if builtin is not None:
            if builtin.type != spec["type"]:
                problems.append(source.diagnostic(path + ("type",), "PS005", f"{name} is a built-in {builtin.type} field; it cannot become {spec['type']}"))
                continue
            values = values or builtin.values
            problems += _unknown_value_labels(source, path, spec, values)
            # Declaring a built-in relabels it: the organisation's words over the defaults, value by value.
            fields[name] = FieldSpec(name, builtin.type, values, builtin=True, label=spec.get("label") or builtin.label,
                                     value_labels={**builtin.value_labels, **spec.get("value_labels", {})})
            continue
        head, _, rest = name.partition(".")
        if head not in _FIELD_OBJECTS or not rest or "." in rest:
            problems.append(source.diagnostic(path, "PS005", f'extra fields are named <object>.<name> with object one of {", ".join(_FIELD_OBJECTS)}; got "{name}"', key=True))
            continue
        problems += _unknown_value_labels(source, path, spec, values)
        fields[name] = FieldSpec(name, spec["type"], values, builtin=False, label=spec.get("label", {}),
                                 value_labels=spec.get("value_labels", {}))
    locales = tuple(data["locales"])
    messages: dict[str, dict[str, str]] = {}
    for key, texts in data.get("messages", {}).items():
        if key not in STANDARD_MESSAGES:
            problems.append(source.diagnostic(("messages", key), "PS004", f'unknown message "{key}"', hint=_message_hint(key, locales), key=True))
            continue
        messages[key] = dict(texts)
    for locale in locales:
        if locale.split("-")[0] in ("es", "en"):
            continue
        missing = [k for k in REQUIRED_MESSAGES if locale not in messages.get(k, {})]
        if missing:
            problems.append(source.diagnostic(("locales",), "PS031", f'locale "{locale}" needs its standard sentences under messages: ({", ".join(missing)})',
                                              hint="the service ships them for es and en only"))
    org = Organization(
        name=data["name"], currency=currency, minor_digits=get_currency_precision(currency) if currency in list_currencies() else 2,
        locales=locales, tiers=tuple(tiers), actions=actions, teams=teams, fields=fields, messages=messages,
    )
    return org, problems


def _message_hint(key: str, locales: tuple[str, ...]) -> str | None:
    """`messages: {es-AR: {cap_reached: ...}}` is the natural first guess; the format is message first."""
    if key in locales or re.fullmatch(r"[a-z]{2,3}([-_][A-Za-z]{2})?", key):
        return f"messages are written message first: messages: {{cap_reached: {{{key}: ...}}}}"
    return did_you_mean(key, STANDARD_MESSAGES)


def _action(action_id: str, spec: dict[str, Any]) -> Action:
    """An action's label per locale is a name, or the forms sentences need (`{name, a}`)."""
    names: dict[str, str] = {}
    forms: dict[str, dict[str, str]] = {}
    for locale, text in spec.get("label", {}).items():
        if isinstance(text, dict):
            names[locale] = text["name"]
            forms[locale] = {form: value for form, value in text.items() if form != "name"}
        else:
            names[locale] = text
    return Action(action_id, spec["unit"], names, forms)


def build_agents(source: SourceFile, data: dict[str, Any], org: Organization, seen: dict[str, Agent]) -> list[Diagnostic]:
    reader = ReferenceReader(source, org)
    for index, item in enumerate(data["agents"]):
        path = ("agents", index)
        if item["id"] in seen:
            reader.error(path + ("id",), "PS011", f'agent "{item["id"]}" is defined twice')
            continue
        if reader.tier(item["tier"], path + ("tier",)):
            seen[item["id"]] = Agent(item["id"], item["name"], item["tier"], item["team"], item.get("kind", "human"))
    return reader.diagnostics


def build_policy(source: SourceFile, data: dict[str, Any], org: Organization) -> tuple[Policy, list[Diagnostic]]:
    reader = ReferenceReader(source, org)
    policy_id = data["id"]
    actions = tuple(a for i, a in enumerate(data["actions"]) if reader.action(a, ("actions", i)))
    limits = {}
    for action_id, cells in data.get("limits", {}).items():
        path = ("limits", action_id)
        if not reader.action(action_id, path, key=True):
            continue
        if action_id not in actions:
            reader.error(path, "PS014", f'limits for "{action_id}", which this policy does not govern', hint=f"add it to actions: or move these limits to the policy that governs {action_id}", key=True)
            continue
        limits[action_id] = reader.limit_row(action_id, cells, path)
        _warn_falling_limits(reader, org, limits[action_id], path)
    alternatives = _alternatives(reader, policy_id, actions, data.get("alternatives", {}))
    caps: list[Cap] = []
    for index, raw in enumerate(data.get("caps", [])):
        item, errors = validate_shape(source, CapSchema(), raw, ("caps", index))
        reader.diagnostics.extend(errors)
        if item is None:
            continue
        if any(c.id == item["id"] for c in caps):
            reader.error(("caps", index, "id"), "PS011", f'cap "{item["id"]}" is defined twice in policy {policy_id}')
        elif cap := _build_cap(reader, policy_id, item, ("caps", index)):
            caps.append(cap)
    rules: list[Rule] = []
    for index, raw in enumerate(data.get("rules", [])):
        path = ("rules", index)
        item, errors = validate_shape(source, RuleSchema(), raw, path)
        reader.diagnostics.extend(errors)
        if item is None:
            continue
        if any(r.id == item["id"] for r in rules):
            reader.error(path + ("id",), "PS011", f'rule "{item["id"]}" is defined twice in policy {policy_id}')
            continue
        when = reader.condition(item["when"], path + ("when",))
        then = reader.effects(item["then"], path + ("then",), actions)
        line, _ = source.at(path)
        rule = Rule(item["id"], policy_id, when, then, source.name, line)
        if not can_match(when, org.fields):
            reader.diagnostics.append(source.diagnostic(path + ("when",), "PS041", f'rule "{rule.id}" can never match: its tests contradict each other', hint="check the numbers and values it compares", severity="warning"))
        rules.append(rule)
    policy = Policy(policy_id, data["description"], data["owner"], actions, limits, tuple(caps), tuple(rules), source.name,
                    alternatives)
    return policy, reader.diagnostics


def _alternatives(reader: ReferenceReader, policy_id: str, actions: tuple[str, ...],
                  data: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """`alternatives:`: each key and each listed action must be an action of this policy (PS025)."""
    def own(action_id: str, path: tuple[Any, ...], key: bool = False) -> bool:
        if not reader.action(action_id, path, key=key):
            return False
        if action_id not in actions:
            reader.error(path, "PS025", f'"{action_id}" is not an action of policy {policy_id}',
                         hint="alternatives are actions of the same policy: " + ", ".join(actions), key=key)
            return False
        return True

    alternatives: dict[str, tuple[str, ...]] = {}
    for action_id, listed in data.items():
        path = ("alternatives", action_id)
        if not own(action_id, path, key=True):
            continue
        alternatives[action_id] = tuple(dict.fromkeys(
            a for i, a in enumerate(listed) if own(a, path + (i,)) and a != action_id))
    return alternatives


def _warn_falling_limits(reader: ReferenceReader, org: Organization, row: dict[str, int], path: tuple[Any, ...]) -> None:
    best: tuple[str, int] | None = None
    for tier in org.tiers:
        if tier.id not in row:
            continue
        if best is not None and row[tier.id] < best[1]:
            reader.diagnostics.append(reader.source.diagnostic(
                path + (tier.id,), "PS040", f"{tier.id} may grant less than {best[0]}, a lower tier",
                hint="limits usually rise with authority", severity="warning"))
        if best is None or row[tier.id] >= best[1]:
            best = (tier.id, row[tier.id])


def _build_cap(reader: ReferenceReader, policy_id: str, data: dict[str, Any], path: tuple[Any, ...]) -> Cap | None:
    actions = tuple(a for i, a in enumerate(data["actions"]) if reader.action(a, path + ("actions", i)))
    if len(actions) != len(data["actions"]):
        return None
    units = {reader.org.actions[a].unit for a in actions}
    if len(units) > 1:
        reader.error(path + ("actions",), "PS022", "a cap's actions must share one unit; got " + ", ".join(sorted(units)))
        return None
    unit = units.pop()
    raw = data.get("max_amount")
    max_amount: int | dict[str, int] | None = None
    if isinstance(raw, dict):
        max_amount = {t: v for t, value in raw.items() if reader.tier(t, path + ("max_amount", t), key=True)
                      and (v := reader.quantity(unit, value, path + ("max_amount", t))) is not None}
    elif raw is not None:
        max_amount = reader.quantity(unit, raw, path + ("max_amount",))
    if raw is None and data.get("max_count") is None:
        reader.error(path, "PS003", f'cap "{data["id"]}" needs max_amount, max_count or both')
        return None
    override = data.get("override_tier")
    if override is not None and not reader.tier(override, path + ("override_tier",)):
        return None
    number, suffix = int(data["window"][:-1]), data["window"][-1]
    window = timedelta(days=number) if suffix == "d" else timedelta(hours=number)
    label = reader.words(data.get("label", {}), path + ("label",), placeholders=False)
    return Cap(data["id"], policy_id, data["per"], actions, window, max_amount, data.get("max_count"), override, label)


def check_set(org: Organization, policies: list[tuple[SourceFile, Policy]]) -> list[Diagnostic]:
    """Problems that only show across files: duplicate policy ids, an action governed twice or never."""
    problems = []
    governed: dict[str, str] = {}
    ids: set[str] = set()
    for source, policy in policies:
        if policy.id in ids:
            problems.append(source.diagnostic(("id",), "PS011", f'policy "{policy.id}" is defined twice'))
        ids.add(policy.id)
        for index, action_id in enumerate(policy.actions):
            if action_id in governed:
                problems.append(source.diagnostic(("actions", index), "PS012", f'action "{action_id}" is already governed by policy {governed[action_id]}',
                                                  hint="each action is governed by exactly one policy"))
            else:
                governed[action_id] = policy.id
    return problems
