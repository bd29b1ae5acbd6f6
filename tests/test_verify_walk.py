"""`audit verify`'s walk: the chain and the rows derived from it (rule index, budget ledger, approval
requests) streamed side by side in one snapshot, on SQLite and PostgreSQL (`database_url` runs both)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy
from helpers import T0, drop_guards, raw
from helpers import log_entry as entry

from policy_service.decisionlog import ApprovalRequest, DecisionStore, audit
from policy_service.errors import StoreError


def test_a_verify_of_a_live_log_sees_one_moment_of_it(store: DecisionStore, database_url: str) -> None:
    """An auditor verifies while agents keep deciding. Once the side tables were read before the chain:
    an entry appended in between was walked without its rule rows and verify reported a tampered
    index. Here a second worker appends just as the chain walk's statement is sent."""
    for n in range(1, 4):
        store.append(entry(n))
    other = DecisionStore(database_url)
    appended: list[int] = []

    @sqlalchemy.event.listens_for(store.engine, "before_cursor_execute")
    def _another_worker_appends(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not appended and statement.lstrip().upper().startswith("SELECT") and "FROM decision_log" in statement \
                and "ORDER BY decision_log.seq" in statement:
            appended.append(other.append(entry(4, rules=("refunds/b", "refunds/c"))).seq)

    try:
        report = audit.verify(store)
        assert appended == [4]
        assert report.ok, report.problem
        assert report.entries == 3  # the moment the walk began; the next verify sees entry 4
        assert audit.verify(store).entries == 4
    finally:
        sqlalchemy.event.remove(store.engine, "before_cursor_execute", _another_worker_appends)
        other.dispose()


def test_verify_holds_no_side_rows_per_entry(tmp_path: Any) -> None:
    """A million decisions once needed 522 MiB to verify (every rule, ledger and approval row held in
    dicts); the docs promise the same memory at any size. Python's allocations at the peak, for a log
    four times larger, stay within a small margin."""
    import tracemalloc

    def peak(entries: int) -> int:
        store = DecisionStore(f"sqlite:///{tmp_path / f'log-{entries}.db'}")
        store.prepare()
        for n in range(1, entries + 1):
            store.append(entry(n, rules=tuple(f"refunds/rule_{n}_{i}" for i in range(4))))
        tracemalloc.start()
        try:
            assert audit.verify(store).ok
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            store.dispose()

    small, large = peak(1500), peak(6000)
    assert large < small + 256 * 1024, (small, large)


def test_a_forged_approval_request_beside_an_escalation_is_named(store: DecisionStore) -> None:
    """A request forged at the seq of a genuine escalation: the genuine one is not "missing"; the
    forged one belongs to no escalated decision, and verify says so."""
    escalated = entry(1, outcome="escalate")
    with store.chain_transaction() as transaction:
        transaction.append(escalated, approval=ApprovalRequest(escalated.decision_id, "supervisor", None, "refund", 1250, T0))
    assert audit.verify(store).ok
    raw(store, "INSERT INTO approval_requests (decision_id, seq, to_tier, team, action, amount, created_at) "
               "VALUES ('dec_forged', 1, 'supervisor', NULL, 'refund', 99900, '2026-11-01 10:00:00')")
    problem = audit.verify(store).problem
    assert problem is not None and problem.detail == "an approval request for dec_forged belongs to no escalated decision"


def test_a_walk_left_unfinished_keeps_no_snapshot(store: DecisionStore, database_url: str) -> None:
    """Verify stops at the first problem with its streams unread. Their cursors are closed when the walk
    ends, so the pooled connection does not go on reading the log as it was then."""
    for n in range(1, 3):
        store.append(entry(n))
    with store.audit_walk() as walk:
        assert next(walk.entries)["seq"] == 1  # `walk` stays referenced past its end, as a traceback keeps it
    other = DecisionStore(database_url)
    try:
        other.append(entry(3))
    finally:
        other.dispose()
    assert [e["seq"] for e in store.chain()] == [1, 2, 3]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite bounds lock waits only
def test_a_verify_may_take_longer_than_a_callers_wait(store: DecisionStore, database_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL every statement is cut at the few seconds a caller waits, and verify's first read
    of the rule index sorts it whole: 16 million rule rows took over 4 s, and verify failed with a
    503 on a log that size. Its walk now runs under the audit bound; here the callers' bound is
    shrunk to 30 ms and the log given 600,000 rule rows (forged, so the report names them)."""
    from policy_service.decisionlog import connection

    store.append(entry(1))
    drop_guards(store)
    raw(store, "ALTER TABLE decision_rules DROP CONSTRAINT IF EXISTS decision_rules_seq_fkey",
        "INSERT INTO decision_rules (rule, seq) SELECT 'r/' || (g % 50), 2 + g / 3 FROM generate_series(1, 600000) g")
    monkeypatch.setattr(connection, "STATEMENT_TIMEOUT_MS", 30)
    hurried = DecisionStore(database_url)
    try:
        with pytest.raises(StoreError, match="statement timeout"):  # what a caller's read meets
            with hurried._reading() as reading:
                reading.execute(sqlalchemy.text("SELECT seq, rule FROM decision_rules ORDER BY seq, rule")).first()
        problem = audit.verify(hurried).problem
        assert problem is not None and problem.detail == "rule rows at seq 2 belong to no chained entry"
    finally:
        hurried.dispose()


@pytest.mark.parametrize("table, row, detail", [
    ("decision_rules", "(rule, seq) VALUES ('refunds/forged', 0)", "rule rows at seq 0 belong to no chained entry"),
    ("approval_requests", "(decision_id, seq, to_tier, team, action, amount, created_at) "
                          "VALUES ('dec_forged', 0, 'supervisor', NULL, 'refund', 100, '2026-11-01 10:00:00')",
     "an approval request for dec_forged belongs to no escalated decision"),
])
def test_a_side_row_at_no_entrys_seq_blames_no_entry(store: DecisionStore, table: str, row: str, detail: str) -> None:
    """A row forged before the first entry belongs to none: the report names no entry (seq 0, no id),
    as for rows after the last one, rather than the innocent entry the walk had reached."""
    for n in range(1, 3):
        store.append(entry(n))
    if store.dialect == "postgresql":
        raw(store, f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_seq_fkey")
        raw(store, f"INSERT INTO {table} {row}")
    else:
        with store.engine.connect() as connection:  # an attacker's connection, without the store's checks
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql(f"INSERT INTO {table} {row}")
            connection.commit()
    problem = audit.verify(store).problem
    assert problem is not None and (problem.seq, problem.entry_id, problem.detail) == (0, None, detail)


HIDDEN = "the facts row of decision 2 does not repeat its outcome, action and policy ('deny', 'refund', 'refunds')"


@pytest.mark.parametrize("tamper, filtered, detail", [
    ("UPDATE decision_facts SET outcome = 'handoff' WHERE seq = 2", {"outcome": "deny"}, HIDDEN),
    ("UPDATE decision_facts SET action = 'fee_waiver' WHERE seq = 2", {"action": "refund"}, HIDDEN),
    ("UPDATE decision_facts SET policy = 'fees' WHERE seq = 2", {"policy": "refunds"}, HIDDEN),
    ("DELETE FROM decision_facts WHERE seq = 2", {"outcome": "deny"}, "entry 2 has 0 facts rows where one of kind decision belongs"),
    ("UPDATE decision_facts SET kind = 'outcome' WHERE seq = 2", {"outcome": "deny"},
     "entry 2 has 1 facts rows where one of kind decision belongs"),
])
def test_a_facts_row_that_would_hide_a_decision_from_a_filter_is_named(store: DecisionStore, tamper: str,
                                                                        filtered: dict[str, str], detail: str) -> None:
    """The auditors' outcome, action and policy filters read a decision's facts row (migration 0008):
    a row edited or deleted to take a decision out of a filter's pages is named by verify, as a rule
    row would be."""
    from policy_service.decisionlog import LogFilter

    for n, outcome in ((1, "handoff"), (2, "deny"), (3, "handoff")):
        store.append(entry(n, outcome=outcome))
    where = LogFilter(**filtered)
    shown = [r["seq"] for r in store.page(where, None, 10)]
    assert 2 in shown
    if store.dialect == "postgresql":
        raw(store, "ALTER TABLE decision_facts DISABLE TRIGGER USER")
    else:
        drop_guards(store)
    raw(store, tamper)
    assert [r["seq"] for r in store.page(where, None, 10)] == [seq for seq in shown if seq != 2]
    problem = audit.verify(store).problem
    assert problem is not None and (problem.seq, problem.kind, problem.detail) == (2, "side-table", detail)


def test_a_facts_row_of_no_entry_is_named(store: DecisionStore) -> None:
    """A facts row forged past the newest entry (to show in a filter's pages a decision never made
    would need an entry too; a lone row belongs to nothing) is named like a stray rule row."""
    for n in range(1, 3):
        store.append(entry(n))
    raw(store, "INSERT INTO decision_facts (kind, decision_seq, seq, at_ms, outcome, action, policy) "
               "VALUES ('decision', 9, 9, 0, 'deny', 'refund', 'refunds')")
    problem = audit.verify(store).problem
    assert problem is not None and (problem.seq, problem.detail) == (0, "a facts row at seq 9 belongs to no chained entry")
