"""In-process decision speed on the example policies, beside raw durable_rules in the same run.

    python bench/inprocess.py [--n 20000]

Prints medians (p50) and p90 in microseconds for:
- decide, all-distinct inputs: every request has field values no earlier request had (memo misses);
- decide, repeated shapes: 200 requests cycled (what a contact centre's traffic mostly looks like);
- raw durable_rules: Host.assert_fact + delete_state on the same compiled ruleset and facts, with
  no-op actions (the engine's own Python API, timer threads off), as the baseline.
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import time
from pathlib import Path

from durable import engine as durable_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policy_service.service.reloading import load_runtime  # noqa: E402

ACTIONS = [("refund", "money"), ("store_credit", "money"), ("fee_waiver", "money"),
           ("delivery_compensation", "money"), ("payment_extension", "days"), ("free_shipping", "flag")]


def distinct_bodies(n: int, rng: random.Random) -> list[dict]:
    """n bodies whose rule-read values never repeat (lifetime_value and order_value are unique)."""
    bodies = []
    for i in range(n):
        action, unit = rng.choice(ACTIONS)
        proposal = {"action": action}
        if unit == "money":
            proposal["amount"] = f"{rng.randint(100, 40000) / 100:.2f}"
        elif unit == "days":
            proposal["amount"] = rng.randint(1, 60)
        bodies.append({
            "agent": {"id": rng.choice(["bot-1", "ag-101", "sr-201", "sup-7", "mgr-1"])},
            "customer": {"id": f"cu-{i}", "tier": rng.choice(["standard", "gold", "platinum"]),
                         "tenure_months": rng.randint(0, 120), "lifetime_value": f"{10000 + i}.00",
                         "flags": rng.choice([[], [], ["vip"], ["fraud_review"]])},
            "case": {"reason": rng.choice(["late_delivery", "lost_parcel", "billing_error", "changed_mind", "hardship", "other"]),
                     "fault": rng.choice(["company", "carrier", "customer", "unknown"]),
                     "days_since_purchase": rng.randint(0, 90), "order_value": f"{5000 + i}.00",
                     "attributes": {"days_late": rng.randint(0, 30)}},
            "proposal": proposal, "locale": rng.choice(["es", "en", "es-MX"]),
        })
    return bodies


def timed(calls: list, function) -> list[float]:
    samples = []
    for argument in calls:
        start = time.perf_counter_ns()
        function(argument)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p90 = samples[int(len(samples) * 0.9)]
    print(f"{name:<48} p50 {statistics.median(samples):8.1f} µs   p90 {p90:8.1f} µs   n={len(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    runtime, result = load_runtime(ROOT / "policies")
    assert runtime is not None, result.diagnostics
    rng = random.Random(42)
    distinct = [runtime.read(b, trusted_tier=False) for b in distinct_bodies(args.n, rng)]
    shapes = distinct[:200]
    repeated = [shapes[i % 200] for i in range(args.n)]

    runtime.decide(distinct[0])  # build the engine outside the timings
    fresh = load_runtime(ROOT / "policies")[0]
    assert fresh is not None
    fresh.decide(shapes[0])
    for request in shapes:  # warm the memo for the repeated-shapes run
        fresh.decide(request)

    class QuietHost(durable_engine.Host):
        def _run(self) -> None:  # no timer threads (docs/engine.md §2)
            pass

    definition = copy.deepcopy(dict(runtime.compiled.definition))
    for rule in definition.values():
        rule["run"] = lambda c: None
    host = QuietHost()
    host.register_rulesets({"raw": definition})
    plan = runtime.compiled.plan
    facts = [plan.fact(plan.key(r.values), str(i)) for i, r in enumerate(distinct)]

    def raw(fact: dict) -> None:
        host.assert_fact("raw", fact)
        host.delete_state("raw", fact["sid"])

    print(f"policies: {len(runtime.policy_set.rules)} rules in {len(runtime.policy_set.policies)} policies; "
          f"facts of {len(facts[0])} properties")
    report("raw durable_rules assert_fact+delete_state", timed(facts, raw))
    report("decide, all-distinct inputs", timed(distinct, runtime.decide))
    report("decide, repeated shapes (200 cycled)", timed(repeated, fresh.decide))
    print(f"engine calls for {len(distinct)} distinct requests: {runtime.engine.memo_size} (the rest were memo hits on class keys)")


if __name__ == "__main__":
    main()
