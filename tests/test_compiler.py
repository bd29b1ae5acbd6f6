"""Golden tests of the durable_rules definitions the compiler emits (pure data)."""

from __future__ import annotations

import json

from policy_service.deciding.compiler import CATCH_ALL, compile_rules, plan_for
from policy_service.model import Effects, FieldSpec, Rule
from policy_service.model.conditions import All, Any, Not
from policy_service.model.conditions import Test as FieldTest

FIELDS = {
    "customer.tier": FieldSpec("customer.tier", "string"),
    "case.days": FieldSpec("case.days", "integer"),
    "case.final": FieldSpec("case.final", "boolean"),
    "customer.flags": FieldSpec("customer.flags", "list"),
}


def compiled(condition: object) -> str:
    ruleset = compile_rules([Rule("r", "p", condition, Effects(), "p.yaml", 1)], FIELDS)  # type: ignore[arg-type]
    return json.dumps(ruleset.definition["r0"]["all"][0]["m"], sort_keys=True)


def test_in_becomes_an_or_of_equalities_guarded_by_presence() -> None:
    """`in` never reaches the engine as $in (ruleset creation fails)."""
    assert compiled(FieldTest("customer.tier", "in", ("gold", "platinum"))) == \
        '{"$and": [{"p0": 1}, {"$or": [{"v0": "gold"}, {"v0": "platinum"}]}]}'


def test_ne_holds_when_the_flag_says_absent() -> None:
    assert compiled(FieldTest("case.days", "ne", 3)) == '{"$or": [{"p0": 0}, {"$and": [{"p0": 1}, {"$neq": {"v0": 3}}]}]}'


def test_exists_reads_only_the_presence_flag() -> None:
    """Never $ex or $nex (they hang or crash the engine)."""
    assert compiled(FieldTest("case.days", "exists", False)) == '{"p0": 0}'


def test_negated_comparison_is_absent_or_the_opposite() -> None:
    assert compiled(Not(FieldTest("case.days", "gt", 30))) == '{"$or": [{"p0": 0}, {"$and": [{"p0": 1}, {"$lte": {"v0": 30}}]}]}'


def test_booleans_are_numbers_and_lists_are_membership_columns() -> None:
    assert compiled(All((FieldTest("case.final", "eq", True), FieldTest("customer.flags", "contains", "vip")))) == \
        '{"$and": [{"p0": 1}, {"v0": 1}, {"m0": 1}]}'


def test_empty_any_and_all_compile_to_constants() -> None:
    assert compiled(Any(())) == '{"k": 0}'
    assert compiled(All(())) == '{"k": 1}'


def test_every_ruleset_has_a_catch_all() -> None:
    ruleset = compile_rules([], FIELDS)
    assert ruleset.definition == {CATCH_ALL: {"all": [{"m": {"k": 1}}]}}


def test_facts_carry_typed_placeholders_never_null() -> None:
    """A missing field is 0 / "" with its flag at 0, so no fact ever holds null."""
    plan = plan_for([FieldTest("customer.tier", "eq", "gold"), FieldTest("case.days", "gt", 1), FieldTest("case.final", "eq", True)], FIELDS)
    fact = plan.fact(plan.key({}), "1")
    assert None not in fact.values()
    assert fact == {"sid": "1", "k": 1, "p0": 0, "v0": 0, "p1": 0, "v1": 0, "p2": 0, "v2": ""}
