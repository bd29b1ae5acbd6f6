"""A month of plausible traffic on the example organisation (policies/), through the service layer,
for `policy-service insights` to read; then each recommendation's candidate is replayed to show it
turns exactly the escalations it counts into allow.

    python bench/seed_month.py [--database sqlite:///var/demo-month.db] [--days 30] [--per-day 160] [--seed 7]
    policy-service insights --database sqlite:///var/demo-month.db --since 60d

Every decision, approval and outcome goes through the same calls the HTTP API makes
(service.recording.decide_and_record, service.approvals.decide_approval and record_outcome), so the
log is a real chained log with budgets, caps and the approval queue. To give a month of traffic a
month of timestamps, the log's clock is moved along (SQLite only: on PostgreSQL the clock is the
server's). The traffic: agents refund, credit, waive fees and compensate late deliveries for
customers of three tiers, some outside the return window, some flagged for fraud; the virtual
assistant handles small credits and fees; supervisors approve an agent's refunds up to about 90 €
almost always and look harder above; a verdict comes 2 to 90 minutes after its escalation; most
allowed or approved decisions report what was granted.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policy_service.decisionlog import DecisionStore, database  # noqa: E402
from policy_service.errors import ConflictError, FieldError  # noqa: E402
from policy_service.service.approvals import decide_approval, record_outcome  # noqa: E402
from policy_service.service.insights import insights  # noqa: E402
from policy_service.service.insights_advice import InsightSettings, apply_candidate  # noqa: E402
from policy_service.service.recording import decide_and_record  # noqa: E402
from policy_service.service.reloading import load_runtime  # noqa: E402
from policy_service.service.replay import replay  # noqa: E402


class Clock(datetime):
    """The log's clock (decisionlog.database reads datetime.now on SQLite), moved by the seeder."""
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.at


# who proposes what: (agent, action, amount range in euros or days, share of that agent's traffic)
TRAFFIC = {
    "bot-1": [("store_credit", (5, 40), 0.5), ("fee_waiver", (2, 12), 0.3), ("delivery_compensation", (3, 15), 0.2)],
    "ag-101": [("refund", (15, 130), 0.5), ("store_credit", (20, 120), 0.2), ("delivery_compensation", (5, 40), 0.3)],
    "ag-102": [("refund", (15, 130), 0.5), ("store_credit", (20, 120), 0.2), ("delivery_compensation", (5, 40), 0.3)],
    "ag-103": [("fee_waiver", (5, 45), 0.6), ("payment_extension", (5, 40), 0.4)],
    "sr-201": [("refund", (60, 260), 0.6), ("store_credit", (100, 300), 0.4)],
    "sr-202": [("fee_waiver", (20, 80), 0.6), ("payment_extension", (15, 60), 0.4)],
}
AGENT_SHARE = {"bot-1": 0.25, "ag-101": 0.18, "ag-102": 0.18, "ag-103": 0.14, "sr-201": 0.13, "sr-202": 0.12}
APPROVERS = {"agent": ["ag-101", "ag-102", "sr-201"], "senior_agent": ["sr-201", "sr-202", "sup-7"], "supervisor": ["sup-7", "sup-8"], "manager": ["mgr-1"]}


def body(rng: random.Random, agent: str, customers: list[tuple[str, str]]) -> dict[str, Any]:
    action, (low, high), _ = rng.choices(TRAFFIC[agent], weights=[t[2] for t in TRAFFIC[agent]])[0]
    customer, tier = rng.choice(customers)
    amount = rng.randint(low, high)
    case: dict[str, Any] = {"days_since_purchase": rng.choice([2, 5, 9, 14, 20, 26, 35, 48]),
                            "reason": rng.choice(["late_delivery", "damaged_item", "wrong_item", "changed_mind"])}
    if action == "delivery_compensation":
        case.update(reason="late_delivery", fault=rng.choices(["carrier", "company", "customer"], [6, 2, 1])[0])
    if action in ("fee_waiver", "payment_extension"):
        case["reason"] = rng.choice(["late_payment_fee", "billing_error", "hardship"])
    flags = ["fraud_review"] if rng.random() < 0.02 else []
    proposal: dict[str, Any] = {"action": action, "amount": str(amount) if action == "payment_extension" else f"{amount}.00"}
    if action != "payment_extension":
        proposal["currency"] = "EUR"
    return {"agent": {"id": agent}, "customer": {"id": customer, "tier": tier, "flags": flags}, "case": case,
            "proposal": proposal, "locale": "es"}


def verdict(rng: random.Random, decision: dict[str, Any]) -> str:
    """Supervisors trust agents with small excesses: what insights should find."""
    amount = float(decision["proposal"]["amount"])
    tier, action = decision["agent"]["tier"], decision["proposal"]["action"]
    easy = {("agent", "refund"): 90, ("agent", "fee_waiver"): 30, ("virtual_agent", "store_credit"): 30,
            ("agent", "store_credit"): 110}.get((tier, action), 0)
    return "approve" if rng.random() < (0.985 if amount <= easy else 0.75) else "reject"


def seed(store: DecisionStore, runtime: Any, days: int, per_day: int, rng: random.Random) -> dict[str, int]:
    customers = [(f"cu-{n:05d}", rng.choices(["standard", "gold", "platinum"], [80, 15, 5])[0]) for n in range(6000)]
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    queue: list[tuple[datetime, str, dict[str, Any]]] = []  # verdicts to come, by time
    counts = {"decisions": 0, "approvals": 0, "outcomes": 0}

    def settle_until(moment: datetime) -> None:
        while queue and queue[0][0] <= moment:
            when, decision_id, decision = heapq.heappop(queue)
            Clock.at = when
            word = verdict(rng, decision)
            for approver in APPROVERS[decision["escalation"]["to_tier"]] + ["mgr-1"]:
                try:
                    decide_approval(runtime, store, decision_id, {"approver_id": approver, "verdict": word}, caller="demo")
                except (FieldError, ConflictError):  # that approver's own limits or caps do not cover it
                    continue
                counts["approvals"] += 1
                if word == "approve" and rng.random() < 0.9:
                    outcome(decision_id, decision["proposal"])
                break

    def outcome(decision_id: str, proposal: dict[str, Any]) -> None:
        report = {"declined": True} if rng.random() < 0.06 else {"action": proposal["action"], "amount": proposal.get("amount")}
        try:
            record_outcome(runtime, store, decision_id, report, caller="demo")
            counts["outcomes"] += 1
        except (FieldError, ConflictError, ValidationError):
            pass

    agents, weights = list(AGENT_SHARE), list(AGENT_SHARE.values())
    for day in range(days):
        opening = start + timedelta(days=day, hours=8)
        moments = sorted(opening + timedelta(seconds=rng.randrange(12 * 3600)) for _ in range(per_day))
        for moment in moments:
            settle_until(moment)
            Clock.at = moment
            try:
                recorded = decide_and_record(runtime, store, body(rng, rng.choices(agents, weights)[0], customers),
                                             caller="demo", trusted_tier=False)
            except ValidationError as error:
                raise SystemExit(f"the demo traffic does not fit the example policies: {error.messages}") from None
            counts["decisions"] += 1
            decision = json.loads(recorded.text)
            if decision["outcome"] == "escalate" and rng.random() < 0.96:  # a few are never decided
                wait = timedelta(minutes=rng.choice([2, 4, 6, 9, 12, 15, 20, 30, 45, 60, 90]))
                heapq.heappush(queue, (moment + wait, recorded.decision_id, decision))
            elif decision["outcome"] == "allow" and rng.random() < 0.85:
                outcome(recorded.decision_id, decision["proposal"])
    settle_until(start + timedelta(days=days))
    return counts


def check_replays(store: DecisionStore, policies: Path, report: dict[str, Any]) -> None:
    """Each recommendation's candidate applied to a copy of the policies and replayed over the log:
    escalate → allow must be exactly escalations_avoided + pending_now_allowed."""
    for recommendation in report["recommendations"]:
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "policies"
            shutil.copytree(policies, copy)
            for suite in copy.glob("*_test.yaml"):  # their cases pin today's limits
                suite.unlink()
            apply_candidate(copy, recommendation)
            candidate, result = load_runtime(copy)
            assert candidate is not None, result.diagnostics
            replayed = replay(store, candidate, None)
        expected = recommendation["escalations_avoided"] + recommendation["pending_now_allowed"]
        found = replayed.transitions.get(("escalate", "allow"), 0)
        mark = "exact" if found == expected and set(replayed.transitions) <= {("escalate", "allow")} else "DIFFERS"
        print(f"replay of {recommendation['candidate']}: {found} escalate → allow, report says "
              f"{recommendation['escalations_avoided']} + {recommendation['pending_now_allowed']} pending: {mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=f"sqlite:///{ROOT / 'var' / 'demo-month.db'}")
    parser.add_argument("--policies", default=str(ROOT / "policies"))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=160)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    runtime, result = load_runtime(args.policies)
    assert runtime is not None, result.diagnostics
    store = DecisionStore(args.database)
    if store.dialect != "sqlite":
        raise SystemExit("the demo seeder moves the log's clock, which only SQLite takes from this process")
    if store.missing_log() is None:
        raise SystemExit(f"{args.database} already holds a log: seed a new file")
    store.upgrade()
    store.store_revision(runtime.revision, dict(runtime.policy_set.files))
    database.datetime = Clock  # type: ignore[attr-defined]  # the log's clock, moved along the month
    counts = seed(store, runtime, args.days, args.per_day, random.Random(args.seed))
    print(f"{counts['decisions']} decisions, {counts['approvals']} verdicts, {counts['outcomes']} outcomes over "
          f"{args.days} days in {args.database}")
    report = insights(store, runtime.policy_set, InsightSettings(None))
    check_replays(store, Path(args.policies), report)
    print(f"now: policy-service insights --database {args.database} --since {args.days + 1}d")


if __name__ == "__main__":
    main()
