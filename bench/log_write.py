"""Decision-log write throughput per backend, beside a plain INSERT + COMMIT of the same row.

    python bench/log_write.py [--database URL ...] [--seconds 3] [--rounds 3] [--writers 1,4]

For each backend and number of concurrent writer processes, alternates rounds of:
- chained: DecisionStore.append (chain lock, head read, hash, entry + rule rows, commit);
- baseline: the same entry row inserted and committed with no chain (its own table, no triggers),
  through the same driver, so the difference is what the chain and its lock cost.
Prints entries/s per round and the median. Default databases: a SQLite file in a temporary
directory and PostgreSQL at 127.0.0.1:5432 (database `test`; a scratch database is created).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy_service.chain import canonical_json  # noqa: E402
from policy_service.store import DecisionStore, NewEntry  # noqa: E402

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


def chained(url: str, seconds: float, counter: multiprocessing.Value) -> None:  # type: ignore[valid-type]
    store = DecisionStore(url)
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        store.append(new_entry())
        done += 1
    with counter.get_lock():
        counter.value += done


def baseline(url: str, seconds: float, counter: multiprocessing.Value) -> None:  # type: ignore[valid-type]
    store = DecisionStore(url)  # same engine settings (WAL, pragmas, driver)
    connection = store.engine.raw_connection()
    done, deadline = 0, time.perf_counter() + seconds
    marker = "?" if store.dialect == "sqlite" else "%s"
    sql = f"INSERT INTO bench_plain (id, created_at, request, response) VALUES ({marker}, {marker}, {marker}, {marker})"
    while time.perf_counter() < deadline:
        entry = new_entry()
        cursor = connection.cursor()
        cursor.execute(sql, (entry.id, entry.created_at.isoformat(), entry.request, entry.response))
        connection.commit()
        done += 1
    with counter.get_lock():
        counter.value += done


def run(target: object, url: str, writers: int, seconds: float) -> float:
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    processes = [context.Process(target=target, args=(url, seconds, counter)) for _ in range(writers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return counter.value / seconds


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
            results: dict[str, list[float]] = {"chained": [], "baseline": []}
            for _ in range(args.rounds):  # alternate, so drift hits both alike
                results["chained"].append(run(chained, url, writers, args.seconds))
                results["baseline"].append(run(baseline, url, writers, args.seconds))
            chain_median, base_median = (statistics.median(results[k]) for k in ("chained", "baseline"))
            print(f"{store.dialect:10} writers={writers}  chained {chain_median:7.0f}/s  "
                  f"plain insert {base_median:7.0f}/s  ratio {chain_median / base_median:.0%}  "
                  f"rounds chained={[round(v) for v in results['chained']]} plain={[round(v) for v in results['baseline']]}")


if __name__ == "__main__":
    main()
