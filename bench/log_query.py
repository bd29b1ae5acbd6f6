"""Auditor queries at scale: page p95, export time and peak memory, verify time, at 1,000,000 decisions.

    python bench/log_query.py [--database URL ...] [--rows 1000000] [--repeat 10]

Seeds each database once (a valid hash chain of realistic decisions: 9 agents, 100,000 customers,
four outcomes, seven actions, a year of timestamps) and reuses it on later runs. Then:
- pages: `audit.page` (what GET /v1/decisions runs) for 12 filter combinations, first page and three
  cursor pages each, `--repeat` times; prints p50 and p95 per backend and the slowest filter;
- exports and verify: `policy-service audit export|verify` in a child process; prints wall time and
  the child's peak RSS (constant memory shows as the same peak whatever the row count);
- baseline: `SELECT count(*)` over the log in the same run, a full scan for comparison.
Defaults: SQLite at ./var/bench-1m.db and PostgreSQL database `ps_bench_1m` on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policy_service.decisionlog import (  # noqa: E402
    DecisionStore,
    audit,  # noqa: E402
    log_table,
    rules_table,
)
from policy_service.decisionlog.chain import GENESIS, canonical_json, entry_hash, timestamp_text  # noqa: E402
from policy_service.decisionlog.facts import entry_facts  # noqa: E402
from policy_service.decisionlog.privacy import PrivacySettings  # noqa: E402
from policy_service.decisionlog.schema import facts_table  # noqa: E402

RESPONSE = Path(__file__).with_name("sample_response.json").read_text(encoding="utf-8")
RESPONSE_DOCUMENT = json.loads(RESPONSE)
AGENTS = [f"ag-{n}" for n in range(101, 110)]
ACTIONS = {"refund": "refunds", "store_credit": "refunds", "fee_waiver": "fees", "late_fee_waiver": "fees",
           "delivery_compensation": "deliveries", "payment_extension": "extensions", "free_shipping": "deliveries"}
RULES = [f"{policy}/rule_{n}" for policy in sorted(set(ACTIONS.values())) for n in range(5)]
OUTCOMES = ["allow"] * 55 + ["escalate"] * 30 + ["handoff"] * 10 + ["deny"] * 5
START = datetime(2025, 11, 22, tzinfo=timezone.utc)


def seed(store: DecisionStore, rows: int) -> None:
    with store.engine.connect() as connection:
        have = connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(log_table)).scalar_one()
        head = connection.execute(sqlalchemy.text("SELECT seq, hash FROM decision_log ORDER BY seq DESC LIMIT 1")).first()
    if have >= rows:
        return
    rng = random.Random(have)
    seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
    step = timedelta(days=365) / rows
    started = time.perf_counter()
    while seq < rows:
        batch, rule_rows, fact_rows = [], [], []
        for _ in range(min(10_000, rows - seq)):
            seq += 1
            action = rng.choice(list(ACTIONS))
            outcome = rng.choice(OUTCOMES)
            fired = sorted(rng.sample([r for r in RULES if r.startswith(ACTIONS[action])], rng.randint(0, 3)))
            entry_id = "dec_" + hashlib.sha1(str(seq).encode()).hexdigest()[:26].upper()
            created = START + step * seq
            row = {"seq": seq, "id": entry_id, "kind": "decision", "decision_id": entry_id, "created_at": created,
                   "caller": "agent-desk", "agent_id": rng.choice(AGENTS), "customer_id": f"cu-{rng.randrange(100_000):06d}",
                   "outcome": outcome, "action": action, "policy": ACTIONS[action], "rules": canonical_json(fired),
                   "policy_revision": "sha256:" + "c" * 64,
                   "request": canonical_json({"agent": {"id": "ag-101"}, "proposal": {"action": action, "amount": "120.00"}}),
                   "response": RESPONSE, "masked": "[]", "prev_hash": prev_hash}
            row["hash"] = prev_hash = entry_hash({**row, "created_at": timestamp_text(created)})
            batch.append(row)
            rule_rows += [{"rule": r, "seq": seq} for r in fired]
            fact_rows.append(entry_facts(seq, "decision", created, row, RESPONSE_DOCUMENT, None))  # as an append writes it
        with store.engine.begin() as connection:
            connection.execute(sqlalchemy.insert(log_table), batch)
            if rule_rows:
                connection.execute(sqlalchemy.insert(rules_table), rule_rows)
            connection.execute(sqlalchemy.insert(facts_table), fact_rows)
        print(f"  seeded {seq:,} rows ({seq / (time.perf_counter() - started):,.0f}/s)", end="\r", flush=True)
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sqlalchemy.text("VACUUM ANALYZE decision_log"))
            connection.execute(sqlalchemy.text("VACUUM ANALYZE decision_rules"))
            connection.execute(sqlalchemy.text("VACUUM ANALYZE decision_facts"))
    else:
        with store.engine.begin() as connection:
            connection.execute(sqlalchemy.text("ANALYZE"))
    print()


FILTERS: list[dict[str, str]] = [
    {}, {"agent_id": "ag-104"}, {"customer_id": "cu-004242"}, {"outcome": "deny"}, {"action": "late_fee_waiver"},
    {"policy": "extensions"}, {"rule": "fees/rule_3"}, {"outcome": "deny", "action": "refund"},
    {"agent_id": "ag-107", "outcome": "escalate", "policy": "refunds"}, {"from": "2026-03-01", "to": "2026-03-02"},
    {"from": "2026-06-01", "outcome": "handoff"}, {"rule": "deliveries/rule_1", "agent_id": "ag-102"},
]


def time_pages(store: DecisionStore, repeat: int) -> tuple[list[float], dict[str, float]]:
    samples: list[float] = []
    slowest: dict[str, float] = {}
    for _ in range(repeat):
        for raw in FILTERS:
            args = audit.PageSchema().load(raw)
            for _ in range(4):
                started = time.perf_counter()
                page = audit.page(store, args, PrivacySettings())
                elapsed = (time.perf_counter() - started) * 1000
                samples.append(elapsed)
                key = "&".join(f"{k}={v}" for k, v in raw.items()) or "(none)"
                slowest[key] = max(slowest.get(key, 0.0), elapsed)
                if not page["next_cursor"]:
                    break
                args = {**args, "cursor": page["next_cursor"]}
    return samples, slowest


def child(url: str, *command: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of `policy-service COMMAND` in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", "from policy_service.cli import main; main()", *command,
                                "--database", url], stdout=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)  # this child's own rusage, not the running maximum
    process.returncode = 0
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def default_urls() -> list[str]:
    admin = sqlalchemy.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = 'ps_bench_1m'")).first():
            connection.execute(sqlalchemy.text("CREATE DATABASE ps_bench_1m"))
    admin.dispose()
    return [f"sqlite:///{ROOT / 'var' / 'bench-1m.db'}", "postgresql://postgres@127.0.0.1:5432/ps_bench_1m"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", action="append")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    for url in args.database or default_urls():
        store = DecisionStore(url)
        store.prepare()
        seed(store, args.rows)
        started = time.perf_counter()
        with store.engine.connect() as connection:
            total = connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(log_table)).scalar_one()
        scan = (time.perf_counter() - started) * 1000
        samples, slowest = time_pages(store, args.repeat)
        samples.sort()
        worst = max(slowest, key=slowest.__getitem__)
        print(f"{store.dialect}: {total:,} entries; count(*) {scan:.0f} ms")
        print(f"  page (50 decisions): p50 {statistics.median(samples):.1f} ms, p95 {samples[int(len(samples) * 0.95)]:.1f} ms "
              f"over {len(samples)} pages; slowest filter {worst} at {slowest[worst]:.1f} ms")
        for label, command in [("export csv, all", ("audit", "export", "--format", "csv")),
                               ("export jsonl, all", ("audit", "export", "--format", "jsonl")),
                               ("export csv, one agent", ("audit", "export", "--format", "csv", "--agent-id", "ag-103")),
                               ("verify", ("audit", "verify"))]:
            seconds, peak = child(url, *command)
            print(f"  {label:22} {seconds:6.1f} s  ({total / seconds:,.0f} rows/s)  peak RSS {peak:.0f} MiB")
        store.dispose()


if __name__ == "__main__":
    main()
