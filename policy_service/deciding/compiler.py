"""Rule conditions compiled to durable_rules definitions (pure data), and requests turned into facts.

The shapes emitted here are the only ones docs/engine.md found safe:
- no `$in` (creation fails), no `$nex`/`$ex` (hangs, crashes), never `null` in a fact;
- every field a rule reads is in every fact, with a typed placeholder when the request lacks it and a
  presence flag beside it: `exists` reads the flag; `ne`/`not_in` hold when the flag is 0; every other
  test is `$and` of flag 1 and the test (docs/contract.md §3.3's missing-field rule, expressed without `$nex`);
  the two branches of `ne` exclude each other, because the engine fires a rule once per true branch;
- `not` is pushed down to complementary tests (the engine has no negation);
- a list field becomes one 0/1 membership column per value a rule asks about;
- numbers are numbers (money in minor units) and booleans are 1/0.
Fact keys are positional (`v3`, `p3`, `m0`), so no field name or value can collide with engine syntax.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from policy_service.model import FieldSpec, Rule
from policy_service.model.conditions import All, Condition, Test, tests_in, to_nnf
from policy_service.model.conditions import Any as AnyOf

CONSTANT = "k"  # every fact carries k=1: the catch-all rule and literal true/false compile to it
TRUE: dict[str, Any] = {CONSTANT: 1}
FALSE: dict[str, Any] = {CONSTANT: 0}
CATCH_ALL = "catch_all"
_UNNAMED = ("unnamed",)  # the class of every string no test names
_PLACEHOLDER = {"string": "", "integer": 0, "money": 0, "boolean": 0, "list": 0}


@dataclass(frozen=True)
class FactPlan:
    """Which request values a fact holds, in a fixed order; `class_key` coarsens them into the engine's memo key."""

    fields: tuple[FieldSpec, ...]  # scalar fields, each with a value column and a presence column
    members: tuple[tuple[str, str], ...]  # (list field, value) pairs, one 0/1 column each
    mentioned: tuple[tuple[object, ...], ...] = ()  # per field: the sorted values its tests compare with

    def value_key(self, name: str) -> str:
        return f"v{self._field_index[name]}"

    def presence_key(self, name: str) -> str:
        return f"p{self._field_index[name]}"

    def member_key(self, name: str, value: str) -> str:
        return f"m{self.members.index((name, value))}"

    @cached_property
    def _field_index(self) -> dict[str, int]:
        return {spec.name: i for i, spec in enumerate(self.fields)}

    def key(self, values: Mapping[str, object]) -> tuple[object, ...]:
        """The values of exactly the fields the conditions read, as the fact hands them to the engine
        (the memo is keyed on the coarser `class_key`)."""
        key: list[object] = []
        for spec in self.fields:
            value = values.get(spec.name)
            if value is None:
                key.append(0)
                key.append(_PLACEHOLDER[spec.type])
            elif spec.type == "list":  # only `exists` reads a list's presence; its value column stays 0
                key.append(1)
                key.append(0)
            else:
                key.append(1)
                key.append(int(bool(value)) if spec.type == "boolean" else value)
        for name, member in self.members:
            present = values.get(name)
            key.append(1 if present is not None and member in present else 0)  # type: ignore[operator]
        return tuple(key)

    def class_key(self, values: Mapping[str, object]) -> tuple[object, ...]:
        """A coarser memo key with the same verdict: a number only matters by where it falls among the
        numbers the tests compare it with, and a string no test names behaves like any other such
        string. So 120.37 € and 120.38 € share a key when no rule's threshold lies between them."""
        key: list[object] = []
        for spec, mentioned in zip(self.fields, self.mentioned, strict=True):
            value = values.get(spec.name)
            if value is None:
                key.append(None)
            elif spec.type == "list":
                key.append(1)
            elif spec.type in ("integer", "money"):
                position = bisect_left(cast("tuple[int, ...]", mentioned), cast(int, value))
                key.append(2 * position + (position < len(mentioned) and mentioned[position] == value))
            elif spec.type == "string":
                key.append(value if value in mentioned else _UNNAMED)
            else:
                key.append(int(value))  # type: ignore[call-overload]
        for name, member in self.members:
            present = values.get(name)
            key.append(1 if present is not None and member in present else 0)  # type: ignore[operator]
        return tuple(key)

    def fact(self, key: Sequence[object], sid: str) -> dict[str, object]:
        fact: dict[str, object] = {"sid": sid, CONSTANT: 1}
        for i in range(len(self.fields)):
            fact[f"p{i}"] = key[2 * i]
            fact[f"v{i}"] = key[2 * i + 1]
        offset = 2 * len(self.fields)
        for j in range(len(self.members)):
            fact[f"m{j}"] = key[offset + j]
        return fact


@dataclass(frozen=True)
class CompiledRuleset:
    plan: FactPlan
    rule_keys: tuple[str, ...]  # engine rule name r<i> -> "policy/rule"
    definition: Mapping[str, Any]  # durable_rules ruleset definition (without actions)


def plan_for(conditions: Sequence[Condition], fields: Mapping[str, FieldSpec]) -> FactPlan:
    scalar: set[str] = set()
    members: set[tuple[str, str]] = set()
    for condition in conditions:
        for test in tests_in(condition):
            if fields[test.field].type == "list" and test.op != "exists":
                members.add((test.field, str(test.value)))
            else:
                scalar.add(test.field)
    specs = tuple(fields[name] for name in sorted(scalar))
    compared: dict[str, set[object]] = {name: set() for name in scalar}
    for condition in conditions:
        for test in tests_in(condition):
            if test.field in compared and test.op != "exists":
                compared[test.field].update(test.value if isinstance(test.value, tuple) else (test.value,))
    mentioned = tuple(tuple(sorted(compared[spec.name], key=_sort_key)) for spec in specs)
    return FactPlan(specs, tuple(sorted(members)), mentioned)


def _sort_key(value: object) -> tuple[str, object]:
    return (type(value).__name__, value)


def compile_rules(rules: Sequence[Rule], fields: Mapping[str, FieldSpec]) -> CompiledRuleset:
    plan = plan_for([rule.when for rule in rules], fields)
    definition: dict[str, Any] = {
        f"r{i}": {"all": [{"m": compile_condition(rule.when, plan)}]} for i, rule in enumerate(rules)
    }
    definition[CATCH_ALL] = {"all": [{"m": dict(TRUE)}]}
    return CompiledRuleset(plan, tuple(rule.key for rule in rules), definition)


def compile_condition(condition: Condition, plan: FactPlan) -> dict[str, Any]:
    return _emit(to_nnf(condition), plan)


def _emit(condition: Condition, plan: FactPlan) -> dict[str, Any]:
    if isinstance(condition, All):
        return _and([_emit(item, plan) for item in condition.items])
    if isinstance(condition, AnyOf):
        return _or([_emit(item, plan) for item in condition.items])
    assert isinstance(condition, Test), "to_nnf leaves no Not"
    return _emit_test(condition, plan)


def _emit_test(test: Test, plan: FactPlan) -> dict[str, Any]:
    op = test.op
    if op in ("contains", "not_contains"):
        return {plan.member_key(test.field, str(test.value)): 1 if op == "contains" else 0}
    flag = plan.presence_key(test.field)
    if op == "exists":
        return {flag: 1 if test.value else 0}
    column = plan.value_key(test.field)
    if op in ("in", "not_in"):
        values = [_number(v) for v in test.value]  # type: ignore[union-attr]
        if op == "in":
            return _and([{flag: 1}, _or([{column: v} for v in values])])
        return _or([{flag: 0}, _and([{flag: 1}, *[{"$neq": {column: v}} for v in values]])])
    value = _number(test.value)
    if op.startswith("not_"):  # negated comparison: absent, or the opposite comparison holds
        opposite = {"lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt"}[op[4:]]
        return _or([{flag: 0}, _and([{flag: 1}, {f"${opposite}": {column: value}}])])
    if op == "eq":
        return _and([{flag: 1}, {column: value}])
    if op == "ne":
        return _or([{flag: 0}, _and([{flag: 1}, {"$neq": {column: value}}])])
    return _and([{flag: 1}, {f"${op}": {column: value}}])


def _number(value: object) -> object:
    return int(value) if isinstance(value, bool) else value


def _and(items: list[dict[str, Any]]) -> dict[str, Any]:
    if any(item == FALSE for item in items):
        return dict(FALSE)
    items = [part for item in items if item != TRUE for part in item.get("$and", [item])]
    if not items:
        return dict(TRUE)
    return items[0] if len(items) == 1 else {"$and": items}


def _or(items: list[dict[str, Any]]) -> dict[str, Any]:
    if any(item == TRUE for item in items):
        return dict(TRUE)
    items = [part for item in items if item != FALSE for part in item.get("$or", [item])]
    if not items:
        return dict(FALSE)
    return items[0] if len(items) == 1 else {"$or": items}
