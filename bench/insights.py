"""Insights at scale: the report (docs/contract.md §10) over 1,000,000 logged decisions, on SQLite and
on PostgreSQL, and the process's peak memory.

    python bench/insights.py [--database URL ...] [--decisions 1000000] [--repeat 5]

Seeds each database once (reused on later runs) with decisions of the example organisation's
actions and tiers: 55 % allowed, 30 % escalated (of those 85 % decided, 9 in 10 approved, waits of
a minute to two hours), 10 % handed off, 5 % denied (some with no option); outcomes for 70 %. Entries
are bulk-inserted into the log's tables (not chained: the report never reads the chain), each with
its `decision_facts` row derived by decisionlog.facts.entry_facts, exactly as an append derives it.
Then it times `service.insights.insights` over the whole log and over the last 90 days (median of
--repeat runs) and prints the number of recommendations, so a report that found nothing is visible.
Defaults: SQLite at ./var/bench-insights.db and PostgreSQL database `ps_bench_insights` on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policy_service.decisionlog import DecisionStore, log_table  # noqa: E402
from policy_service.decisionlog.facts import DECISION_FACT_COLUMNS, DecisionFact, entry_facts  # noqa: E402
from policy_service.decisionlog.schema import approvals_table, facts_table  # noqa: E402
from policy_service.service.insights import insights  # noqa: E402
from policy_service.service.insights_advice import InsightSettings  # noqa: E402
from policy_service.service.reloading import load_runtime  # noqa: E402

AGENTS = [("bot-1", "virtual_agent"), ("ag-101", "agent"), ("ag-102", "agent"), ("ag-103", "agent"),
          ("sr-201", "senior_agent"), ("sr-202", "senior_agent")]
APPROVERS = [("sup-7", "supervisor"), ("sup-8", "supervisor"), ("mgr-1", "manager")]
# action: (policy, cells by tier in minor units, typical amount range)
ACTIONS = {"refund": ("refunds", {"agent": 5000, "senior_agent": 15000}, (1000, 30000)),
           "store_credit": ("refunds", {"virtual_agent": 2000, "agent": 7500, "senior_agent": 20000}, (500, 40000)),
           "fee_waiver": ("fees", {"virtual_agent": 500, "agent": 1500, "senior_agent": 4000}, (200, 8000)),
           "delivery_compensation": ("deliveries", {"virtual_agent": 500, "agent": 1500, "senior_agent": 4000}, (200, 8000))}
RULES = {"refunds": ["refunds/gold_leeway", "refunds/never_above_order_value"], "fees": ["fees/repeated_late_payer"],
         "deliveries": ["deliveries/ai_never_reships"]}
START = datetime(2025, 12, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=365)


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def seed(store: DecisionStore, decisions: int) -> None:
    with store.engine.connect() as connection:
        have = connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(facts_table)
                                  .where(facts_table.c.kind == "decision")).scalar_one()
        head = connection.execute(sqlalchemy.text("SELECT max(seq) FROM decision_log")).scalar() or 0
    if have >= decisions:
        return
    rng = random.Random(have)
    seq, made, started = int(head), int(have), time.perf_counter()
    step = SPAN / decisions
    while made < decisions:
        log_rows: list[dict[str, Any]] = []
        fact_rows: list[dict[str, Any]] = []
        approvals: list[dict[str, Any]] = []
        for _ in range(min(10_000, decisions - made)):
            made += 1
            at = START + step * made
            agent, tier = rng.choice(AGENTS)
            action = rng.choice(list(ACTIONS))
            policy, cells, (low, high) = ACTIONS[action]
            cell = cells.get(tier)
            amount = rng.randrange(low, high) // 100 * 100
            draw = rng.random()
            outcome = ("allow" if draw < 0.55 else "escalate" if draw < 0.85 else "handoff" if draw < 0.95 else "deny")
            if outcome == "allow" and (cell is None or amount > cell):
                amount = max(100, (cell or 1000) // 2)
            if outcome == "escalate" and cell is not None and amount <= cell:
                amount = cell + rng.randrange(1, 20) * 500
            options = [] if outcome == "deny" and rng.random() < 0.5 else [{"action": action, "max": money(cell or 0)}]
            fired = sorted(rng.sample(RULES[policy], rng.randint(0, len(RULES[policy]))))
            decision_id = f"dec_{made:026d}"
            seq += 1
            response = json.dumps({"decision_id": decision_id, "outcome": outcome, "agent": {"id": agent, "tier": tier},
                                   "proposal": {"action": action, "amount": money(amount), "currency": "EUR"},
                                   "limit": None if cell is None else money(cell), "options": options,
                                   "caps": [{"id": f"{policy}/cap", "remaining": "300.00", "remaining_count": 2}]})
            columns = {"action": action, "agent_id": agent, "outcome": outcome, "rules": json.dumps(fired), "policy": policy}
            log_rows.append(_log_row(seq, decision_id, "decision", at, columns, policy, fired, response))
            fact_rows.append(entry_facts(seq, "decision", at, columns, response, None))
            facts = DecisionFact(*(fact_rows[-1][name] for name in DECISION_FACT_COLUMNS))
            if outcome == "escalate":
                approvals.append({"decision_id": decision_id, "seq": seq, "to_tier": "supervisor", "team": None,
                                  "action": action, "amount": amount, "created_at": at})
                if rng.random() < 0.85:
                    approver, approver_tier = rng.choice(APPROVERS)
                    # Supervisors nod through small excesses and look harder at large ones: what insights finds.
                    near = cell is not None and amount <= cell + 2500
                    verdict = "approve" if rng.random() < (0.98 if near else 0.8) else "reject"
                    seq += 1
                    event = json.dumps({"kind": "approval", "verdict": verdict, "approver": {"id": approver, "tier": approver_tier},
                                        "action": action, "amount": money(amount)})
                    when = at + timedelta(seconds=rng.randrange(60, 7200))
                    columns = {"action": action, "agent_id": approver, "outcome": "approved" if verdict == "approve" else "rejected",
                               "policy": policy}
                    log_rows.append(_log_row(seq, decision_id, "approval", when, columns, policy, [], event))
                    fact_rows.append(entry_facts(seq, "approval", when, columns, event, facts))
            if rng.random() < 0.7:
                seq += 1
                declined = outcome in ("deny", "handoff") or rng.random() < 0.1
                event = json.dumps({"kind": "outcome", "declined": declined, "action": None if declined else action,
                                    "amount": None if declined else money(amount)})
                columns = {"action": action, "agent_id": agent, "outcome": "declined" if declined else "granted", "policy": policy}
                log_rows.append(_log_row(seq, decision_id, "outcome", at, columns, policy, [], event))
                fact_rows.append(entry_facts(seq, "outcome", at, columns, event, facts))
        with store.engine.begin() as connection:
            connection.execute(sqlalchemy.insert(log_table), log_rows)
            connection.execute(sqlalchemy.insert(facts_table), fact_rows)
            if approvals:
                connection.execute(sqlalchemy.insert(approvals_table), approvals)
        if made % 100_000 == 0:
            print(f"  {store.dialect}: {made:,} decisions seeded ({time.perf_counter() - started:.0f} s)", flush=True)


def _log_row(seq: int, decision_id: str, kind: str, at: datetime, columns: dict[str, Any], policy: str,
             fired: list[str], response: str) -> dict[str, Any]:
    entry_id = decision_id if kind == "decision" else f"{kind[:3]}_{decision_id[4:]}"
    return {"seq": seq, "id": entry_id, "kind": kind, "decision_id": decision_id, "created_at": at, "caller": "bench",
            "agent_id": columns["agent_id"], "customer_id": f"cu-{seq % 100_000:06d}", "outcome": columns["outcome"],
            "action": columns["action"], "policy": policy, "rules": json.dumps(fired), "policy_revision": "sha256:" + "b" * 64,
            "request": "{}", "response": response, "masked": "[]", "prev_hash": "0" * 64, "hash": "0" * 64}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", action="append",
                        help="SQLAlchemy URL (repeatable); default: SQLite under ./var and PostgreSQL ps_bench_insights")
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    urls = args.database or [f"sqlite:///{ROOT / 'var' / 'bench-insights.db'}", _postgres("ps_bench_insights")]
    runtime, result = load_runtime(ROOT / "policies")
    assert runtime is not None, result.diagnostics
    for url in urls:
        if url.startswith("postgresql") and args.database:
            _postgres(url.rsplit("/", 1)[1])  # created on first use, like the default
        store = DecisionStore(url)
        store.upgrade()
        seed(store, args.decisions)
        with store.engine.connect() as connection:
            if store.dialect == "postgresql":
                connection.execute(sqlalchemy.text("ANALYZE decision_facts"))
                connection.commit()
            entries = connection.execute(sqlalchemy.text("SELECT count(*) FROM decision_facts")).scalar_one()
        window_start = START + SPAN - timedelta(days=90)
        for label, since in (("whole log", None), ("last 90 days", window_start)):
            times, report = [], {}
            for _ in range(args.repeat):
                began = time.perf_counter()
                report = insights(store, runtime.policy_set, InsightSettings(since))
                times.append(time.perf_counter() - began)
            print(f"{store.dialect}: {report['decisions']:,} decisions ({entries:,} entries), {label}: "
                  f"median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}) over {args.repeat}; "
                  f"{len(report['recommendations'])} recommendations, {len(report['by_tier'])} action × tier rows")
        store.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (seeding included): {peak:.0f} MiB")


def _postgres(name: str) -> str:
    admin = sqlalchemy.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


if __name__ == "__main__":
    main()
