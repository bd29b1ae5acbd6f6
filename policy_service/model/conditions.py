"""Rule conditions: the syntax tree, its plain-Python meaning, and negation pushed to the leaves.

`holds` is the reference reading of docs/contract.md §3.3 ("a field missing from a request makes every test on it
false, except `exists: false` and `ne`/`not_in`, which hold"). The compiler must agree with it; the
differential fuzz test checks that it does. `to_nnf` removes `not` (the engine has no negation) by
pushing it down to tests, each of which has an exact complement under the missing-field rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Scalar = str | int | bool
Value = Scalar | tuple[Scalar, ...]
# A request's field values: strings, whole numbers (money in minor units), booleans, tuples of strings.
Facts = Mapping[str, object]

COMPARISONS = ("lt", "lte", "gt", "gte")
OPERATORS = ("eq", "ne", *COMPARISONS, "in", "not_in", "contains", "exists")
# Exact complements under the missing-field rule, used by to_nnf. `not x < v` is NOT `x >= v`: on a
# missing field the first holds and the second does not. So negated comparisons get their own
# operators, "absent, or not (x op v)"; they and `not_contains` exist only after negation.
_COMPLEMENT = {
    "eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in", "contains": "not_contains", "not_contains": "contains",
    **{op: f"not_{op}" for op in COMPARISONS}, **{f"not_{op}": op for op in COMPARISONS},
}
_HOLD_WHEN_MISSING = ("ne", "not_in", "not_contains", *(f"not_{op}" for op in COMPARISONS))


@dataclass(frozen=True)
class Test:
    field: str
    op: str
    value: Value


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Any:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Test | All | Any | Not


def holds(condition: Condition, facts: Facts) -> bool:
    """Whether the condition holds for a request whose present fields are `facts`."""
    if isinstance(condition, All):
        return all(holds(item, facts) for item in condition.items)
    if isinstance(condition, Any):
        return any(holds(item, facts) for item in condition.items)
    if isinstance(condition, Not):
        return not holds(condition.item, facts)
    return _test_holds(condition, facts)


def _test_holds(test: Test, facts: Facts) -> bool:
    present = test.field in facts
    if test.op == "exists":
        return present == test.value
    if not present:
        return test.op in _HOLD_WHEN_MISSING
    actual = facts[test.field]
    op, expected = test.op, test.value
    if op.startswith("not_") and op[4:] in COMPARISONS:
        return not _test_holds(Test(test.field, op[4:], expected), facts)
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "lt":
        return actual < expected  # type: ignore[operator]
    if op == "lte":
        return actual <= expected  # type: ignore[operator]
    if op == "gt":
        return actual > expected  # type: ignore[operator]
    if op == "gte":
        return actual >= expected  # type: ignore[operator]
    if op == "in":
        return actual in expected  # type: ignore[operator]
    if op == "not_in":
        return actual not in expected  # type: ignore[operator]
    if op == "contains":
        return expected in actual  # type: ignore[operator]
    if op == "not_contains":
        return expected not in actual  # type: ignore[operator]
    raise ValueError(f"unknown operator {op!r}")


def to_nnf(condition: Condition, negate: bool = False) -> Condition:
    """The same condition without `Not`: negations pushed to tests (De Morgan and complements)."""
    if isinstance(condition, Not):
        return to_nnf(condition.item, not negate)
    if isinstance(condition, (All, Any)):
        items = tuple(to_nnf(item, negate) for item in condition.items)
        conjunction = isinstance(condition, All) != negate  # De Morgan swaps all/any under negation
        return All(items) if conjunction else Any(items)
    if not negate:
        return condition
    if condition.op == "exists":
        return Test(condition.field, "exists", not condition.value)
    return Test(condition.field, _COMPLEMENT[condition.op], condition.value)


def fields_read(condition: Condition) -> set[str]:
    """Every field a condition reads (the only values its verdict can depend on)."""
    if isinstance(condition, (All, Any)):
        return set().union(*(fields_read(item) for item in condition.items)) if condition.items else set()
    if isinstance(condition, Not):
        return fields_read(condition.item)
    return {condition.field}


def tests_in(condition: Condition) -> list[Test]:
    if isinstance(condition, (All, Any)):
        return [test for item in condition.items for test in tests_in(item)]
    if isinstance(condition, Not):
        return tests_in(condition.item)
    return [condition]
