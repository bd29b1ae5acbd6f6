"""Guard-rails of docs/engine.md, each tested against the real engine (never mocked)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from policy_service.deciding.compiler import compile_rules
from policy_service.deciding.engine import RuleEngine
from policy_service.model import Effects, FieldSpec, Rule
from policy_service.model.conditions import All, Any, Not, holds
from policy_service.model.conditions import Test as FieldTest

FIELDS = {
    "customer.tier": FieldSpec("customer.tier", "string"),
    "case.days": FieldSpec("case.days", "integer"),
    "case.fault": FieldSpec("case.fault", "string"),
    "customer.flags": FieldSpec("customer.flags", "list"),
}
RULES = [
    Rule("gold", "p", FieldTest("customer.tier", "in", ("gold", "platinum")), Effects(), "p.yaml", 1),
    Rule("late", "p", FieldTest("case.days", "gt", 30), Effects(), "p.yaml", 2),
    Rule("not_customer", "p", FieldTest("case.fault", "ne", "customer"), Effects(), "p.yaml", 3),
    Rule("fraud", "p", FieldTest("customer.flags", "contains", "fraud"), Effects(), "p.yaml", 4),
    Rule("no_fault", "p", FieldTest("case.fault", "exists", False), Effects(), "p.yaml", 5),
]


def make_engine() -> RuleEngine:
    return RuleEngine(compile_rules(RULES, FIELDS), "test")


def random_request(rng: random.Random) -> dict[str, object]:
    request: dict[str, object] = {}
    if rng.random() < 0.7:
        request["customer.tier"] = rng.choice(["standard", "gold", "platinum"])
    if rng.random() < 0.7:
        request["case.days"] = rng.randint(0, 60)
    if rng.random() < 0.7:
        request["case.fault"] = rng.choice(["company", "customer", "carrier"])
    if rng.random() < 0.7:
        request["customer.flags"] = tuple(rng.sample(["fraud", "vip"], rng.randint(0, 2)))
    return request


def expected(request: dict[str, object]) -> frozenset[str]:
    return frozenset(rule.key for rule in RULES if holds(rule.when, request))


def test_eight_threads_each_get_every_result_right() -> None:
    """8 threads x 2,000 unmemoised evaluations on one ruleset: no crash and every verdict correct."""
    engine = make_engine()
    failures: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2000):
            request = random_request(rng)
            got = engine.fired_uncached(engine.compiled.plan.key(request))
            if got != expected(request):
                failures.append(f"{request}: {sorted(got)}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


@pytest.mark.slow
def test_one_hundred_thousand_evaluations_lose_no_result() -> None:
    """100,000 unmemoised evaluations: each returns the full verdict (the catch-all is always there)."""
    engine = make_engine()
    rng = random.Random(7)
    requests = [random_request(rng) for _ in range(500)]
    answers = [expected(r) for r in requests]
    keys = [engine.compiled.plan.key(r) for r in requests]
    wrong = sum(1 for i in range(100_000) if engine.fired_uncached(keys[i % 500]) != answers[i % 500])
    assert wrong == 0


def test_no_dispatcher_threads_are_started() -> None:
    """The engine never starts the Host's timer threads, which steal synchronous results."""
    before = threading.active_count()
    engine = make_engine()
    for _ in range(100):
        engine.fired_uncached(engine.compiled.plan.key({}))
    assert threading.active_count() == before


def test_requests_that_match_no_rule_leave_no_session_behind() -> None:
    """2,500 facts matching no policy rule (past the 1,024-session limit) all succeed."""
    engine = make_engine()
    key = engine.compiled.plan.key({"customer.tier": "standard", "case.days": 1, "case.fault": "customer"})
    for _ in range(2500):
        assert engine.fired_uncached(key) == frozenset()


def test_verdicts_are_memoised_on_what_the_conditions_can_tell_apart() -> None:
    """Days 40 and 41 (both past the only threshold, 30) share one engine call; 20 needs another."""
    engine = make_engine()
    for days in (40, 41, 59, 20):
        engine.fired({"case.days": days})
    assert engine.memo_size == 2


def test_rulesets_are_dropped_so_memory_stays_flat() -> None:
    """1,000 engines built and closed (as 1,000 reloads would) grow memory by less than 8 MiB."""
    def rss_kib() -> int:
        return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0])

    for _ in range(50):
        make_engine().close()
    start = rss_kib()
    for _ in range(1000):
        engine = make_engine()
        engine.fired_uncached(engine.compiled.plan.key({"case.days": 40}))
        engine.close()
    assert rss_kib() - start < 8 * 1024


def test_same_revision_loaded_twice_gets_two_rulesets() -> None:
    """Registering the same revision again does not fail ("already registered")."""
    first, second = make_engine(), make_engine()
    assert first.name != second.name
    assert second.fired_uncached(second.compiled.plan.key({"case.days": 40})) == frozenset({"p/late", "p/not_customer", "p/no_fault"})


OPERATOR_CASES = [
    # (condition, request, holds?) -- the missing-field rule of docs/contract.md §3.3 in each line
    (FieldTest("case.days", "eq", 30), {"case.days": 30}, True),
    (FieldTest("case.days", "eq", 30), {}, False),
    (FieldTest("case.days", "ne", 30), {"case.days": 31}, True),
    (FieldTest("case.days", "ne", 30), {}, True),
    (FieldTest("case.days", "lt", 30), {"case.days": 29}, True),
    (FieldTest("case.days", "lt", 30), {}, False),
    (FieldTest("case.days", "lte", 30), {"case.days": 30}, True),
    (FieldTest("case.days", "gt", 30), {"case.days": 30}, False),
    (FieldTest("case.days", "gte", 30), {"case.days": 30}, True),
    (FieldTest("customer.tier", "in", ("gold", "platinum")), {"customer.tier": "gold"}, True),
    (FieldTest("customer.tier", "in", ("gold", "platinum")), {}, False),
    (FieldTest("customer.tier", "not_in", ("gold",)), {}, True),
    (FieldTest("customer.tier", "not_in", ("gold",)), {"customer.tier": "gold"}, False),
    (FieldTest("customer.flags", "contains", "fraud"), {"customer.flags": ("vip", "fraud")}, True),
    (FieldTest("customer.flags", "contains", "fraud"), {}, False),
    (FieldTest("case.fault", "exists", True), {"case.fault": "company"}, True),
    (FieldTest("case.fault", "exists", False), {}, True),
    (FieldTest("case.fault", "exists", False), {"case.fault": "company"}, False),
    (Not(FieldTest("case.days", "gt", 30)), {}, True),
    (Not(FieldTest("case.days", "gt", 30)), {"case.days": 10}, True),
    (Not(FieldTest("customer.flags", "contains", "fraud")), {}, True),
    (Any(()), {}, False),
    (All(()), {}, True),
    (Any((FieldTest("case.days", "gt", 30), FieldTest("customer.tier", "eq", "gold"))), {"customer.tier": "gold"}, True),
    (All((FieldTest("case.days", "gt", 30), FieldTest("customer.tier", "eq", "gold"))), {"customer.tier": "gold"}, False),
    (FieldTest("customer.tier", "eq", "sénior"), {"customer.tier": "sénior"}, True),
]


@pytest.mark.parametrize(("condition", "request_values", "should_hold"), OPERATOR_CASES)
def test_each_operator_in_the_engine(condition: object, request_values: dict[str, object], should_hold: bool) -> None:
    """Each operator, including on a missing field, fires in the engine exactly when docs/contract.md §3.3 says."""
    rule = Rule("r", "p", condition, Effects(), "p.yaml", 1)  # type: ignore[arg-type]
    engine = RuleEngine(compile_rules([rule], FIELDS), "ops")
    assert holds(rule.when, request_values) is should_hold
    assert ("p/r" in engine.fired_uncached(engine.compiled.plan.key(request_values))) is should_hold


def test_differential_fuzz_in_a_child_process() -> None:
    """docs/engine.md §7c: 100,000 random (condition, request) pairs, engine against the reference reading:
    0 disagreements, and a crash or hang fails this test (time-out) instead of the test run."""
    worker = Path(__file__).with_name("engine_fuzz.py")
    completed = subprocess.run([sys.executable, str(worker), "20261122", "8", "25", "500"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    summary = json.loads(completed.stdout)
    assert summary["pairs"] >= 10_000
    assert summary["disagreements"] == 0, summary["examples"]
