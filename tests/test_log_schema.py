"""The decision log's schema: migrating it when several processes start at once, the layout a new
SQLite file gets, and what a migration keeps of an older log."""

from __future__ import annotations

import multiprocessing
import sqlite3
from typing import Any

import pytest
import sqlalchemy
from helpers import log_entry as entry
from helpers import raw

from policy_service.decisionlog import DecisionStore, LogFilter, audit

HEAD = "0008"  # the newest migration


def append_as_before_0008(store: DecisionStore) -> None:
    """Let `store`, at an older revision, append as the code did before migration 0008: facts rows
    without their `policy` column (the newest code writes every column the newest schema has)."""
    from policy_service.decisionlog.schema import facts_table
    from policy_service.decisionlog.statements import Compiled

    older = sqlalchemy.Table(facts_table.name, sqlalchemy.MetaData(), *(
        sqlalchemy.Column(c.name, c.type, primary_key=c.primary_key) for c in facts_table.columns if c.name != "policy"))
    store._compiled["insert_fact"] = Compiled(store.engine, sqlalchemy.insert(older))


def test_prepare_is_safe_when_several_processes_start_at_once(database_url: str) -> None:
    """Six processes prepare a new log at the same moment (as two instances of three workers start):
    every one succeeds; one creates the schema, none is refused while the others wait or read."""
    context = multiprocessing.get_context("spawn")
    together = context.Barrier(6)
    # The race lasts milliseconds: on SQLite a few rounds, each on a new file (PostgreSQL: one database).
    urls = [database_url.replace("log.db", f"log{i}.db") for i in range(4)] if "sqlite" in database_url else [database_url]
    for url in urls:
        processes = [context.Process(target=_prepare_only, args=(url, together)) for _ in range(6)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
            assert process.exitcode == 0
        assert DecisionStore(url).schema_version() == HEAD


def _prepare_only(url: str, together: Any) -> None:
    store = DecisionStore(url)
    together.wait()
    store.prepare()


def test_a_new_log_has_small_pages_and_an_older_file_keeps_its_own(tmp_path: Any) -> None:
    """A decision dirties a leaf in each of ~16 tables and indexes, each copied whole into the WAL:
    a new file uses 1 KiB pages. A file made with SQLite's default 4 KiB pages keeps them (the size of
    a WAL file's pages cannot change in place) and goes on appending a chain that verifies."""
    new = DecisionStore(f"sqlite:///{tmp_path / 'new.db'}")
    new.prepare()
    new.append(entry(1))
    new.dispose()
    older_path = tmp_path / "older.db"
    with sqlite3.connect(older_path) as made_before:
        made_before.execute("PRAGMA page_size=4096")
        made_before.execute("CREATE TABLE made_before (x INTEGER)")
    older = DecisionStore(f"sqlite:///{older_path}")
    older.prepare()
    try:
        for n in range(1, 4):
            older.append(entry(n))
        assert audit.verify(older).ok
    finally:
        older.dispose()
    sizes = {name: sqlite3.connect(tmp_path / name).execute("PRAGMA page_size").fetchone()[0]
             for name in ("new.db", "older.db")}
    assert sizes == {"new.db": 1024, "older.db": 4096}


def test_an_older_sqlite_rule_index_is_rebuilt_keyed_with_its_rows_and_guards(tmp_path: Any) -> None:
    """Migration 0007: a log whose rule index was a rowid table plus its key keeps every rule row (a
    forged one too, for `audit verify` to name), its append-only guards and its reference to the
    entries, now stored in the key's one B-tree; the rule filter reads it as before."""
    from alembic import command

    from policy_service.decisionlog.migrating import alembic_config

    store = DecisionStore(f"sqlite:///{tmp_path / 'older.db'}")
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    append_as_before_0008(store)
    for n in range(1, 6):
        store.append(entry(n, rules=("refunds/a", "refunds/b") if n % 2 else ("refunds/b",)))
    attacker = sqlite3.connect(tmp_path / "older.db")  # a plain shell checks no foreign key: kept, and named
    attacker.execute("INSERT INTO decision_rules (rule, seq) VALUES ('refunds/forged', 99)")
    attacker.commit()
    attacker.close()

    def layout() -> tuple[str, list[tuple[str, int]]]:
        with store.engine.connect() as connection:
            sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'decision_rules'").scalar_one()
            return sql, sorted(connection.exec_driver_sql("SELECT rule, seq FROM decision_rules").all())

    before_sql, before = layout()
    assert "WITHOUT ROWID" not in before_sql and len(before) == 9
    store.upgrade()
    store.dispose()
    store = DecisionStore(f"sqlite:///{tmp_path / 'older.db'}")  # as the service starts after the upgrade
    after_sql, after = layout()
    assert store.schema_version() == HEAD and "WITHOUT ROWID" in after_sql and after == before
    for statement in ("UPDATE decision_rules SET rule = 'x'", "DELETE FROM decision_rules"):
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
            raw(store, statement)
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="FOREIGN KEY"):  # the store's connections check again
        raw(store, "INSERT INTO decision_rules (rule, seq) VALUES ('refunds/forged', 98)")
    assert [r["seq"] for r in store.page(LogFilter(rule="refunds/a"), None, 10)] == [5, 3, 1]
    store.append(entry(6, rules=("refunds/a",)))
    assert [r["seq"] for r in store.page(LogFilter(rule="refunds/a"), None, 10)] == [6, 5, 3, 1]
    problem = audit.verify(store).problem
    assert problem is not None and problem.detail == "rule rows at seq 99 belong to no chained entry"
    store.dispose()


def test_an_older_log_keeps_its_filtered_pages_when_three_log_indexes_move_to_the_facts_rows(database_url: str) -> None:
    """Migration 0008: the outcome, action and policy indexes of the log are dropped and a decision's
    facts row takes its entry's policy (and its outcome and action, as the entry has them). Every
    filtered page of the older log is the same afterwards, an event's facts row gets its own entry's
    policy, the facts rows stay append-only, and the log verifies."""
    from alembic import command

    from policy_service.decisionlog.migrating import alembic_config

    store = DecisionStore(database_url)
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    append_as_before_0008(store)
    outcomes, actions = ("handoff", "handoff", "deny"), ("refund", "fee_waiver")
    for n in range(1, 31):
        store.append(entry(n, outcome=outcomes[n % 3], action=actions[n % 2], agent=f"ag-{n % 2}"))
    store.append(entry(31, kind="outcome", decision_id="dec_00000001", outcome="granted"))
    filters = [LogFilter(outcome="deny"), LogFilter(action="fee_waiver"), LogFilter(policy="refunds"),
               LogFilter(outcome="handoff", action="refund"), LogFilter(agent_id="ag-1", outcome="handoff"),
               LogFilter(policy="fees"), LogFilter(outcome="deny", rule="refunds/a")]

    def pages() -> list[list[int]]:
        seen = []
        for where in filters:
            first = [r["seq"] for r in store.page(where, None, 4)]
            seen.append(first + [r["seq"] for r in store.page(where, first[-1], 50)] if first else [])
        return seen

    def indexes() -> set[str]:
        inspector = sqlalchemy.inspect(store.engine)
        return {index["name"] for index in inspector.get_indexes("decision_log")}

    def newest_first(keep: Any) -> list[int]:
        return [n for n in range(30, 0, -1) if keep(n)]

    before = [newest_first(lambda n: n % 3 == 2), newest_first(lambda n: n % 2 == 1), newest_first(lambda n: True),
              newest_first(lambda n: n % 3 != 2 and n % 2 == 0), newest_first(lambda n: n % 2 == 1 and n % 3 != 2), [],
              newest_first(lambda n: n % 3 == 2)]  # what the log's own columns select
    assert {"ix_decision_log_outcome_seq", "ix_decision_log_action_seq", "ix_decision_log_policy_seq"} <= indexes()
    store.upgrade()
    store.dispose()
    store = DecisionStore(database_url)  # as the service starts after the upgrade: the newest code
    assert store.schema_version() == HEAD and pages() == before
    assert not indexes() & {"ix_decision_log_outcome_seq", "ix_decision_log_action_seq", "ix_decision_log_policy_seq"}
    assert {"ix_decision_log_agent_id_seq", "ix_decision_log_customer_id_seq", "ix_decision_log_decision_id_seq"} <= indexes()
    with store.engine.connect() as connection:
        facts = connection.exec_driver_sql("SELECT kind, seq, outcome, action, policy FROM decision_facts "
                                           "WHERE seq IN (3, 31) ORDER BY seq").all()
    assert [tuple(row) for row in facts] == [("decision", 3, "handoff", "fee_waiver", "refunds"),
                                             ("outcome", 31, "granted", "fee_waiver", "refunds")]  # its decision's action
    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        raw(store, "UPDATE decision_facts SET policy = 'x'")
    store.append(entry(32, outcome="deny"))
    assert [r["seq"] for r in store.page(LogFilter(outcome="deny"), None, 3)] == [32, 29, 26]
    assert audit.verify(store).ok
    store.dispose()
