"""The decision log, the same suite on SQLite and PostgreSQL (the `database_url` fixture runs both)."""

from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy
from helpers import T0, drop_guards, raw
from helpers import log_entry as entry

from policy_service.authoring.loader import revision_of
from policy_service.decisionlog import (
    DecisionStore,
    LedgerRow,
    LogFilter,
    NewEntry,
    Rendered,
    UsageQuestion,
    audit,
)
from policy_service.decisionlog.chain import GENESIS, entry_hash, verify_chain
from policy_service.errors import StoreError


def test_appended_entries_chain_from_genesis(store: DecisionStore) -> None:
    assert store.append(entry(1)).seq == 1
    digest = store.append(entry(2)).hash
    rows = list(store.chain())
    assert [r["seq"] for r in rows] == [1, 2]
    assert rows[0]["prev_hash"] == GENESIS and rows[1]["prev_hash"] == rows[0]["hash"]
    assert rows[1]["hash"] == digest == entry_hash(rows[1])
    assert verify_chain(rows).ok


def test_a_decision_comes_back_with_its_events_oldest_first(store: DecisionStore) -> None:
    store.append(entry(1))
    store.append(entry(2, kind="approval", decision_id="dec_00000001"))
    store.append(entry(3))
    store.append(entry(4, kind="outcome", decision_id="dec_00000001"))
    decision, events = store.get("dec_00000001")  # type: ignore[misc]
    assert '"dec_00000001"' in decision
    assert [e.split('"')[3] for e in events] == ["evt_00000002", "evt_00000004"]
    assert store.get("dec_missing") is None


@pytest.mark.parametrize("table", ["decision_log", "decision_rules", "policy_revisions"])
def test_the_storage_refuses_updates_and_deletes(store: DecisionStore, table: str) -> None:
    store.append(entry(1))
    store.store_revision("sha256:x", {"a.yaml": "a"})
    statements = [f"UPDATE {table} SET {'rule' if table == 'decision_rules' else 'revision' if table == 'policy_revisions' else 'outcome'} = 'x'",
                  f"DELETE FROM {table}"]
    if store.dialect == "postgresql":
        statements.append(f"TRUNCATE {table} CASCADE")
    for statement in statements:
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
            raw(store, statement)
    assert len(list(store.chain())) == 1


def test_reloads_and_shadow_results_are_append_only_and_read_back(store: DecisionStore) -> None:
    """Both backends: the newest ok reload names the live revision; a later failure does not."""
    first = store.record_reload("start", None, True, "sha256:a", [])
    store.record_reload("api", "admin", False, "sha256:a", [{"file": "x.yaml", "line": 3, "column": 5}])
    assert store.last_reload_seq() == first + 1
    latest, good = store.latest_reloads()
    assert latest is not None and good is not None
    assert (latest["ok"], latest["caller"], latest["diagnostics"][0]["line"]) == (False, "admin", 3)
    assert (good["ok"], good["revision"], good["seq"]) == (True, "sha256:a", first)
    store.record_shadow([{"decision_id": "dec_1", "candidate_revision": "sha256:b", "created_at": T0,
                          "live_outcome": "escalate", "candidate_outcome": "allow", "live_rules": "[]", "candidate_rules": "[]"}])
    assert [r["decision_id"] for r in store.shadow_results("sha256:b", None)] == ["dec_1"]
    for table, column in (("policy_reloads", "source"), ("shadow_results", "live_outcome")):
        statements = [f"UPDATE {table} SET {column} = 'x'", f"DELETE FROM {table}"]
        if store.dialect == "postgresql":
            statements.append(f"TRUNCATE {table}")
        for statement in statements:
            with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
                raw(store, statement)


def test_an_edited_entry_is_named(store: DecisionStore) -> None:
    for n in range(1, 6):
        store.append(entry(n))
    drop_guards(store)
    raw(store, "UPDATE decision_log SET outcome = 'deny' WHERE seq = 3")
    report = audit.verify(store)
    assert not report.ok and report.problem.seq == 3 and report.problem.kind == "edited"  # type: ignore[union-attr]
    assert "dec_00000003" in report.problem.detail  # type: ignore[union-attr]


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store: DecisionStore) -> None:
    for n in range(1, 6):
        store.append(entry(n))
    drop_guards(store)
    row = next(r for r in store.chain() if r["seq"] == 2)
    forged = entry_hash({**row, "outcome": "deny"})
    raw(store, f"UPDATE decision_log SET outcome = 'deny', hash = '{forged}' WHERE seq = 2")
    report = audit.verify(store)
    assert report.problem is not None and report.problem.seq == 3 and report.problem.kind == "inserted"
    assert "entry 2" in report.problem.detail


def test_a_deleted_entry_is_named_missing(store: DecisionStore) -> None:
    for n in range(1, 6):
        store.append(entry(n))
    drop_guards(store)
    raw(store, "DELETE FROM decision_rules WHERE seq IN (1, 4)", "DELETE FROM decision_log WHERE seq IN (1, 4)")
    report = audit.verify(store)
    assert report.problem is not None and report.problem.seq == 1 and report.problem.kind == "missing"
    raw(store, "DELETE FROM decision_rules", "DELETE FROM decision_log")  # an emptied log, with an anchor noted
    assert not audit.verify(store, {5: "0" * 64}).ok


def test_deleting_the_newest_entries_is_caught_by_an_anchor(store: DecisionStore) -> None:
    for n in range(1, 6):
        store.append(entry(n))
    head = audit.verify(store)
    assert head.ok and head.head_seq == 5
    drop_guards(store)
    raw(store, "DELETE FROM decision_rules WHERE seq = 5", "DELETE FROM decision_log WHERE seq = 5")
    report = audit.verify(store, {head.head_seq: head.head_hash})
    assert report.problem is not None and report.problem.kind == "truncated" and report.problem.seq == 5


def test_an_inserted_entry_is_named(store: DecisionStore) -> None:
    for n in range(1, 4):
        store.append(entry(n))
    drop_guards(store)
    # Renumber entry 3 to 4 and slip a forged entry 3 in with a self-consistent hash.
    raw(store, "DELETE FROM decision_rules WHERE seq = 3")
    rows = {r["seq"]: r for r in store.chain()}
    raw(store, "DELETE FROM decision_log WHERE seq = 3")
    forged = {**rows[3], "id": "dec_forged", "decision_id": "dec_forged"}
    forged["hash"] = entry_hash(forged)
    with store.engine.begin() as connection:
        for row in (forged, {**rows[3], "seq": 4}):
            connection.execute(sqlalchemy.text(
                "INSERT INTO decision_log (seq, id, kind, decision_id, created_at, caller, agent_id, customer_id, outcome,"
                " action, policy, rules, policy_revision, request, response, masked, prev_hash, hash) VALUES (:seq, :id,"
                " :kind, :decision_id, :at, :caller, :agent_id, :customer_id, :outcome, :action, :policy, :rules,"
                " :policy_revision, :request, :response, :masked, :prev_hash, :hash)"),
                {**row, "at": T0 + timedelta(minutes=3)})
    report = audit.verify(store)
    assert report.problem is not None and report.problem.seq == 4 and "dec_00000003" in report.problem.detail


def test_an_edited_policy_revision_is_named(store: DecisionStore) -> None:
    files = {"refunds.yaml": "kind: Policy\n"}
    revision = revision_of(files)
    store.store_revision(revision, files)
    store.store_revision(revision, files)  # a second load of the same files stores nothing new
    assert store.revision(revision)["files"] == files  # type: ignore[index]
    assert audit.verify(store).ok
    drop_guards(store)
    raw(store, "UPDATE policy_revisions SET files = '{\"refunds.yaml\": \"kind: Policy\\nlimits: {}\\n\"}'")
    report = audit.verify(store)
    assert report.problem is not None and report.problem.entry_id == revision


def _append_many(url: str, worker: int, count: int) -> None:
    store = DecisionStore(url)
    for n in range(count):
        store.append(entry(worker * 10_000 + n))
    store.dispose()


def test_concurrent_writers_keep_one_gapless_chain(store: DecisionStore, database_url: str) -> None:
    """Separate processes stand for workers and for a second instance: each has its own engine and
    connections, so only the database's lock keeps them in one chain."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_append_many, args=(database_url, w, 60)) for w in range(1, 5)]
    for process in processes:
        process.start()
    threads = [threading.Thread(target=_append_many, args=(database_url, w, 40)) for w in range(5, 8)]
    for thread in threads:
        thread.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    for thread in threads:
        thread.join(120)
    report = audit.verify(store)
    assert report.ok and report.entries == report.head_seq == 4 * 60 + 3 * 40


def test_usage_answers_each_question_in_one_statement(store: DecisionStore) -> None:
    """Every question gets its own sums, in the order asked, inside its own window; none is 0, 0."""
    with store.chain_transaction() as transaction:
        transaction.append(entry(1, at=T0), ledger=(LedgerRow("customer", "cu-1", "refund", 4000, 1),
                                                     LedgerRow("agent", "ag-1", "refund", 4000, 1)))
    with store.chain_transaction() as transaction:
        transaction.append(entry(2, at=T0 + timedelta(hours=30)), ledger=(LedgerRow("customer", "cu-1", "store_credit", 1500, 1),
                                                                           LedgerRow("agent", "ag-1", "store_credit", 1500, 1)))
    now = T0 + timedelta(hours=31)
    with store.chain_transaction() as transaction:
        answers = transaction.usage([
            UsageQuestion("customer", "cu-1", "refund", now - timedelta(days=90)),
            UsageQuestion("customer", "cu-1", "store_credit", now - timedelta(days=90)),
            UsageQuestion("agent", "ag-1", "refund", now - timedelta(hours=24)),  # T0 is outside the day
            UsageQuestion("customer", "cu-2", "refund", now - timedelta(days=90)),
            UsageQuestion("agent", "ag-1", "store_credit", now - timedelta(hours=24)),
        ])
    assert answers == [(4000, 1), (1500, 1), (0, 0), (0, 0), (1500, 1)]


def test_time_never_runs_backwards_along_the_chain(store: DecisionStore) -> None:
    """A writer whose clock is behind (another instance, or a thread that waited for the lock) is
    logged at the previous entry's time, and a rendered response states the logged time."""
    store.append(entry(1, at=T0 + timedelta(hours=1)))
    late = entry(2, at=T0)
    appended = store.append(NewEntry(**{**late.__dict__, "response": lambda at: Rendered.of({"created_at": at.isoformat()})}))
    assert appended.created_at == T0 + timedelta(hours=1)
    assert json.loads(store.get("dec_00000002")[0]) == {"created_at": (T0 + timedelta(hours=1)).isoformat()}  # type: ignore[index]
    assert [r["created_at"] for r in store.chain()] == ["2026-11-01T10:00:00.000000Z"] * 2
    assert audit.verify(store).ok


def test_filters_select_decisions_newest_first(store: DecisionStore) -> None:
    store.append(entry(1, agent="ag-1", outcome="allow", rules=("refunds/a",)))
    store.append(entry(2, agent="ag-2", outcome="escalate", rules=("refunds/b", "refunds/a")))
    store.append(entry(3, agent="ag-1", outcome="deny", action="fee_waiver", rules=()))
    store.append(entry(4, kind="outcome", decision_id="dec_00000001"))  # events are not listed as decisions

    def ids(**where: Any) -> list[int]:
        return [r["seq"] for r in store.page(LogFilter(**where), None, 10)]

    assert ids() == [3, 2, 1]
    assert ids(agent_id="ag-1") == [3, 1]
    assert ids(outcome="escalate") == [2]
    assert ids(action="fee_waiver") == [3]
    assert ids(rule="refunds/a") == [2, 1]
    assert ids(policy="refunds", customer_id="cu-1") == [3, 2, 1]
    assert ids(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=3)) == [2]
    assert ids(since=T0 + timedelta(seconds=90)) == [3, 2] and ids(until=T0 + timedelta(seconds=90)) == [1]
    assert ids(since=T0 + timedelta(days=1)) == [] and ids(until=T0) == []
    assert ids(since=T0, until=T0 + timedelta(days=1), agent_id="ag-1", rule="refunds/a") == [1]
    assert ids(agent_id="nobody") == []


def test_cursor_pages_neither_skip_nor_repeat_while_decisions_arrive(store: DecisionStore) -> None:
    for n in range(1, 8):
        store.append(entry(n))
    args: dict[str, Any] = {"limit": 3}
    seen: list[int] = []
    first = audit.page(store, args, audit.PrivacySettings())
    seen += [item["log"]["seq"] for item in first["items"]]
    for n in range(8, 12):  # new decisions arrive between pages
        store.append(entry(n))
    cursor = first["next_cursor"]
    while cursor:
        following = audit.page(store, {**args, "cursor": cursor}, audit.PrivacySettings())
        seen += [item["log"]["seq"] for item in following["items"]]
        cursor = following["next_cursor"]
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_a_cursor_only_continues_the_same_filters(store: DecisionStore) -> None:
    for n in range(1, 4):
        store.append(entry(n))
    cursor = audit.page(store, {"limit": 1}, audit.PrivacySettings())["next_cursor"]
    with pytest.raises(audit.ValidationError):
        audit.page(store, {"limit": 1, "cursor": cursor, "agent_id": "ag-2"}, audit.PrivacySettings())
    with pytest.raises(audit.ValidationError):
        audit.page(store, {"limit": 1, "cursor": "not-a-cursor"}, audit.PrivacySettings())


def test_exports_stream_every_matching_decision(store: DecisionStore) -> None:
    for n in range(1, 4):
        store.append(entry(n, agent="=HYPERLINK(\"x\")" if n == 2 else "ag-1"))
    lines = "".join(audit.csv_export(store.stream(LogFilter()))).splitlines()
    assert len(lines) == 4 and lines[0].startswith("seq,decision_id,kind,entry_id,created_at_utc,")
    assert ',"\'=HYPERLINK(""x"")",' in lines[2] and ",12.50,EUR," in lines[1]
    spanish = "".join(audit.csv_export(store.stream(LogFilter(agent_id="ag-1")), excel_es=True))
    assert spanish.startswith("\ufeffseq;decision_id;") and ";12,50;EUR;" in spanish and len(spanish.splitlines()) == 3
    import json
    entries = [json.loads(line) for line in audit.jsonl_export(store.stream(LogFilter()))]
    assert [e["seq"] for e in entries] == [1, 2, 3] and entries[0]["request"]["proposal"]["amount"] == "12.50"


def test_an_unreachable_database_is_a_store_error(database_url: str) -> None:
    broken = database_url.replace("127.0.0.1:5432", "127.0.0.1:1") if "postgresql" in database_url else "sqlite:////proc/nope/log.db"
    with pytest.raises(StoreError):
        DecisionStore(broken).prepare()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no roles: triggers only
def test_postgresql_service_role_may_only_read_and_append(store: DecisionStore) -> None:
    role = "policy_service_test_app"
    raw(store, f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role} NOLOGIN; END IF; END $$")
    store.grant_append_only(role)
    store.append(entry(1))
    drop_guards(store)  # the grants hold even without the triggers
    with store.engine.connect() as connection:
        connection.execute(sqlalchemy.text(f"SET ROLE {role}"))
        assert connection.execute(sqlalchemy.text("SELECT count(*) FROM decision_log")).scalar() == 1
        for statement in ("UPDATE decision_log SET outcome = 'deny'", "DELETE FROM decision_log", "TRUNCATE decision_log CASCADE"):
            with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
                with connection.begin_nested():
                    connection.execute(sqlalchemy.text(statement))
        connection.rollback()
