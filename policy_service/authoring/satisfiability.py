"""Can a rule's condition ever hold? Used only to warn policy owners (PS041), never to skip a rule.

The check is exact for the operators of docs/contract.md §3.3 over conjunctions of tests, after `not` is pushed
down and the condition is spread into disjunctive normal form. Past a size limit it answers "maybe"
(treated as satisfiable), so a complex rule is never wrongly reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import product

from policy_service.model import FieldSpec
from policy_service.model.conditions import All, Any, Condition, Test, to_nnf

_MAX_TERMS = 256
_POSITIVE = {"eq", "lt", "lte", "gt", "gte", "in", "contains"}


def can_match(condition: Condition, fields: Mapping[str, FieldSpec]) -> bool:
    terms = _dnf(to_nnf(condition))
    if terms is None:
        return True
    return any(_conjunction_satisfiable(term, fields) for term in terms)


def _dnf(condition: Condition) -> list[list[Test]] | None:
    if isinstance(condition, Test):
        return [[condition]]
    maybe_parts = [_dnf(item) for item in condition.items]  # type: ignore[union-attr]
    parts = [part for part in maybe_parts if part is not None]
    if len(parts) < len(maybe_parts):  # some part is too large to expand: do not judge
        return None
    if isinstance(condition, Any):
        terms = [term for part in parts for term in part]
        return terms if len(terms) <= _MAX_TERMS else None
    assert isinstance(condition, All)
    size = 1
    for part in parts:
        size *= len(part)
        if size > _MAX_TERMS:
            return None
    return [[test for term in combo for test in term] for combo in product(*parts)]


def _conjunction_satisfiable(tests: list[Test], fields: Mapping[str, FieldSpec]) -> bool:
    by_field: dict[str, list[Test]] = {}
    for test in tests:
        by_field.setdefault(test.field, []).append(test)
    return all(_field_satisfiable(fields[name], group) for name, group in by_field.items())


def _field_satisfiable(spec: FieldSpec, tests: list[Test]) -> bool:
    must_exist = any(t.op in _POSITIVE or (t.op == "exists" and t.value) for t in tests)
    must_be_absent = any(t.op == "exists" and not t.value for t in tests)
    if must_exist and must_be_absent:
        return False
    if not must_exist:
        return True  # absent: every remaining (negative) test holds
    if spec.type == "list":
        wanted = {t.value for t in tests if t.op == "contains"}
        refused = {t.value for t in tests if t.op == "not_contains"}
        return not (wanted & refused)
    return any(all(_holds(t, value) for t in tests) for value in _candidates(spec, tests))


def _holds(test: Test, value: object) -> bool:
    if test.op == "exists":
        return bool(test.value)
    return _compare(test.op, value, test.value)


def _compare(op: str, actual: object, expected: object) -> bool:
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        return actual in expected  # type: ignore[operator]
    if op == "not_in":
        return actual not in expected  # type: ignore[operator]
    if op.startswith("not_"):
        return not _compare(op[4:], actual, expected)
    table = {"lt": actual < expected, "lte": actual <= expected, "gt": actual > expected, "gte": actual >= expected}  # type: ignore[operator]
    return bool(table[op])


def _candidates(spec: FieldSpec, tests: list[Test]) -> Iterable[object]:
    """A finite set of values that contains a witness whenever one exists."""
    if spec.type == "boolean":
        return (True, False)
    if spec.type == "string":
        mentioned = {v for t in tests for v in (t.value if isinstance(t.value, tuple) else (t.value,)) if isinstance(v, str)}
        if spec.values is not None:
            return spec.values
        return mentioned | {"\x00unmentioned"}  # any string not named by a test behaves alike
    numbers = {v for t in tests for v in (t.value if isinstance(t.value, tuple) else (t.value,)) if isinstance(v, int) and not isinstance(v, bool)}
    candidates: set[int] = set()
    for n in numbers | {0}:
        candidates.update((n - 1, n, n + 1))
    return sorted(c for c in candidates if c >= 0)  # requests never carry negative numbers
