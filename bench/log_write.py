"""Decision-log write throughput per backend, beside a plain INSERT + COMMIT of the same row.

    python bench/log_write.py [--database URL ...] [--seconds 3] [--rounds 3] [--writers 1,4]

For each backend and number of concurrent writer processes, alternates rounds of:
- decided: decide_and_record on the HTTP benchmark's body, all of POST /v1/decisions but HTTP
  (validation, cap usage read under the chain lock, evaluation, the chained entry, its rules and its
  escalation queued, commit): the most decisions/s the HTTP API could reach on this log;
- chained: DecisionStore.append (chain lock, head read, hash, entry + rule rows, commit);
- baseline: the same entry row inserted and committed with no chain (its own table, no triggers),
  through the same driver, so the difference is what the chain and its lock cost.
Prints entries/s per round and the median, and the CPU time (user + system) each entry took. Default databases: a SQLite file in a temporary
directory and PostgreSQL at 127.0.0.1:5432 (database `test`; a scratch database is created).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from policy_service.decisionlog import DecisionStore, NewEntry  # noqa: E402
from policy_service.decisionlog.chain import canonical_json  # noqa: E402
from policy_service.service.recording import decide_and_record  # noqa: E402
from policy_service.service.reloading import load_runtime  # noqa: E402

RESPONSE = Path(__file__).with_name("sample_response.json").read_text(encoding="utf-8")
REQUEST = canonical_json({"agent": {"id": "ag-101"}, "customer": {"id": "cu-88", "tier": "gold"},
                          "case": {"order_value": "180", "days_since_purchase": 45},
                          "proposal": {"action": "refund", "amount": "120.00", "currency": "EUR"}})
RULES = ("refunds/gold_leeway", "refunds/outside_return_window")


def new_entry() -> NewEntry:
    entry_id = "dec_" + uuid.uuid4().hex[:26].upper()
    return NewEntry(id=entry_id, kind="decision", decision_id=entry_id, created_at=datetime.now(timezone.utc),
                    caller="bench", agent_id="ag-101", customer_id="cu-88", outcome="escalate", action="refund",
                    policy="refunds", rules=canonical_json(list(RULES)), policy_revision="sha256:" + "b" * 64,
                    request=REQUEST, response=RESPONSE, masked="[]", fired_rules=RULES)


def decided(url: str, seconds: float, counter: Any, cpu: Any, start: Any) -> None:
    from http_api import BODY  # the HTTP benchmark's body, parsed as the web layer parses it

    runtime, _ = load_runtime(ROOT / "policies")
    store = DecisionStore(url)
    body = json.loads(json.dumps(BODY), parse_float=Decimal)
    for _ in range(200):  # warm: the engine's memo, the writer connection
        decide_and_record(runtime, store, body, caller="bench", trusted_tier=False)
    timed(lambda: decide_and_record(runtime, store, body, caller="bench", trusted_tier=False), seconds, counter, cpu, start)


def chained(url: str, seconds: float, counter: Any, cpu: Any, start: Any) -> None:
    store = DecisionStore(url)
    timed(lambda: store.append(new_entry()), seconds, counter, cpu, start)


def timed(step: Callable[[], object], seconds: float, counter: Any, cpu: Any, start: Any) -> None:
    """Run `step` for `seconds` once every writer is ready; add the count and CPU microseconds."""
    start.wait()
    before = os.times()
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        step()
        done += 1
    after = os.times()
    with counter.get_lock():
        counter.value += done
        cpu.value += int((after.user - before.user + after.system - before.system) * 1e6)


def baseline(url: str, seconds: float, counter: Any, cpu: Any, start: Any) -> None:
    store = DecisionStore(url)  # same engine settings (WAL, pragmas, driver)
    connection = store.engine.raw_connection()
    marker = "?" if store.dialect == "sqlite" else "%s"
    sql = f"INSERT INTO bench_plain (id, created_at, request, response) VALUES ({marker}, {marker}, {marker}, {marker})"

    def insert() -> None:
        entry = new_entry()
        cursor = connection.cursor()
        cursor.execute(sql, (entry.id, entry.created_at.isoformat(), entry.request, entry.response))
        connection.commit()

    timed(insert, seconds, counter, cpu, start)


def run(target: object, url: str, writers: int, seconds: float) -> tuple[float, float]:
    """(entries/s, CPU µs per entry) with `writers` processes running `target` at once."""
    context = multiprocessing.get_context("spawn")
    counter, cpu, start = context.Value("q", 0), context.Value("q", 0), context.Barrier(writers)
    processes = [context.Process(target=target, args=(url, seconds, counter, cpu, start)) for _ in range(writers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return counter.value / seconds, cpu.value / max(counter.value, 1)


def scratch_postgres(server: str) -> str:
    name = f"ps_bench_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(server.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                                     isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", action="append", help="SQLAlchemy URL (repeatable)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", default="1,4", help="comma-separated writer process counts")
    args = parser.parse_args()
    urls = args.database or [f"sqlite:///{tempfile.mkdtemp()}/bench.db", scratch_postgres("postgresql://postgres@127.0.0.1:5432")]
    for url in urls:
        store = DecisionStore(url)
        store.prepare()
        with store.engine.begin() as connection:
            connection.execute(sqlalchemy.text(
                "CREATE TABLE IF NOT EXISTS bench_plain (id VARCHAR(40) PRIMARY KEY, created_at VARCHAR(40), request TEXT, response TEXT)"))
        store.dispose()
        for writers in (int(w) for w in args.writers.split(",")):
            modes = {"decided": decided, "chained": chained, "plain insert": baseline}
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in modes}
            for _ in range(args.rounds):  # alternate, so drift hits all alike
                for name, target in modes.items():
                    results[name].append(run(target, url, writers, args.seconds))
            medians = {name: (statistics.median(r for r, _ in rounds), statistics.median(c for _, c in rounds))
                       for name, rounds in results.items()}
            print(f"{store.dialect:10} writers={writers}  " + "  ".join(
                f"{name} {rate:6.0f}/s ({cpu:4.0f} µs CPU each)" for name, (rate, cpu) in medians.items())
                + f"  chained/plain {medians['chained'][0] / medians['plain insert'][0]:.0%}")
            print("           rounds: " + "; ".join(f"{name} {[round(r) for r, _ in rounds]}" for name, rounds in results.items()))


if __name__ == "__main__":
    main()
