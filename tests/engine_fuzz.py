"""Differential fuzz worker (docs/engine.md §7c), run in a child process by tests/test_engine.py.

Random conditions from the policy grammar and random requests are compiled and run through the real
engine, and every verdict is compared with `conditions.holds`, the plain reading of docs/contract.md §3.3.
Prints one JSON line: pairs checked and disagreements (with the first few examples).
"""

from __future__ import annotations

import json
import random
import sys

from policy_service.deciding.compiler import compile_rules
from policy_service.deciding.engine import RuleEngine
from policy_service.model import Effects, FieldSpec, Rule
from policy_service.model.conditions import All, Any, Condition, Not, Test, holds  # noqa: F401

FIELDS = {
    "case.reason": FieldSpec("case.reason", "string"),
    "customer.tier": FieldSpec("customer.tier", "string", ("standard", "gold", "platinum")),
    "case.days": FieldSpec("case.days", "integer"),
    "case.order_value": FieldSpec("case.order_value", "money"),
    "case.final": FieldSpec("case.final", "boolean"),
    "customer.flags": FieldSpec("customer.flags", "list"),
}
STRINGS = ["a", "b", "sí", "año", "", "gold", "platinum", "standard"]
NUMBERS = [0, 1, 2, 5, 30, 31, 1000, 12050]
MEMBERS = ["vip", "fraud_review", "señal"]
OPS = {
    "string": ["eq", "ne", "in", "not_in", "exists"],
    "integer": ["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists"],
    "money": ["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists"],
    "boolean": ["eq", "ne", "exists"],
    "list": ["contains", "exists"],
}


def scalar(rng: random.Random, kind: str) -> object:
    if kind == "string":
        return rng.choice(STRINGS)
    if kind == "boolean":
        return rng.choice([True, False])
    if kind == "list":
        return rng.choice(MEMBERS)
    return rng.choice(NUMBERS)


def random_test(rng: random.Random) -> Test:
    spec = rng.choice(list(FIELDS.values()))
    op = rng.choice(OPS[spec.type])
    if op == "exists":
        return Test(spec.name, op, rng.choice([True, False]))
    if op in ("in", "not_in"):
        return Test(spec.name, op, tuple(scalar(rng, spec.type) for _ in range(rng.randint(0, 3))))
    return Test(spec.name, op, scalar(rng, spec.type))


def random_condition(rng: random.Random, depth: int = 0) -> Condition:
    roll = rng.random()
    if depth >= 3 or roll < 0.45:
        return random_test(rng)
    if roll < 0.65:
        return Not(random_condition(rng, depth + 1))
    items = tuple(random_condition(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return All(items) if roll < 0.85 else Any(items)


def random_request(rng: random.Random) -> dict[str, object]:
    values: dict[str, object] = {}
    for spec in FIELDS.values():
        if rng.random() < 0.35:
            continue
        if spec.type == "list":
            values[spec.name] = tuple(rng.sample(MEMBERS, rng.randint(0, len(MEMBERS))))
        else:
            values[spec.name] = scalar(rng, spec.type)
    return values


def main(seed: int, rulesets: int, rules_per_set: int, requests_per_set: int) -> None:
    rng = random.Random(seed)
    pairs, wrong = 0, []
    for n in range(rulesets):
        rules = [Rule(f"r{i}", "fuzz", random_condition(rng), Effects(), "fuzz.yaml", 1) for i in range(rules_per_set)]
        compiled = compile_rules(rules, FIELDS)
        engine = RuleEngine(compiled, f"fuzz-{seed}-{n}")
        for _ in range(requests_per_set):
            request = random_request(rng)
            # Both paths: the engine itself, and the memo (whose hits come from other requests' calls).
            for fired in (engine.fired_uncached(compiled.plan.key(request)), engine.fired(request)):
                for rule in rules:
                    pairs += 1
                    expected = holds(rule.when, request)
                    if (rule.key in fired) != expected and len(wrong) < 5:
                        wrong.append({"condition": repr(rule.when), "request": repr(request), "expected": expected})
                    elif (rule.key in fired) != expected:
                        wrong.append({})
        engine.close()
    print(json.dumps({"pairs": pairs, "disagreements": len(wrong), "examples": wrong[:5]}))


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:5]))
