"""The rule index and insights' facts are derived behind the chain (decisionlog/derived.py): a pass
every DERIVE_EVERY appends of a process, every reader catching up first, and entries whose process
died before its pass derived from the chain later. Both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy
from helpers import log_entry

from policy_service.decisionlog import DecisionStore, LogFilter, audit, derived
from policy_service.decisionlog.derived import BATCH, DERIVE_EVERY


@pytest.fixture
def store(database_url: str) -> Iterator[DecisionStore]:
    opened = DecisionStore(database_url)
    opened.prepare()
    yield opened
    opened.dispose()


def counted(store: DecisionStore, table: str) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_appends_are_derived_every_few_appends_without_any_reader(store: DecisionStore) -> None:
    for n in range(1, DERIVE_EVERY):
        store.append(log_entry(n, rules=("refunds/a", "refunds/b")))
    assert counted(store, "decision_facts") == 0  # behind the chain, not inside each append
    store.append(log_entry(DERIVE_EVERY, rules=("refunds/a", "refunds/b")))
    assert counted(store, "decision_facts") == DERIVE_EVERY
    assert counted(store, "decision_rules") == 2 * DERIVE_EVERY


def test_entries_a_dead_process_never_derived_are_derived_by_the_next_reader(database_url: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed between its append and its follower's pass: the chain is the truth, and the
    next reader derives the missing rows from it, events finding their decisions' facts."""
    writer = DecisionStore(database_url)
    writer.prepare()
    monkeypatch.setattr(derived, "DERIVE_EVERY", 10**9)  # as if killed before its pass
    for n in range(1, BATCH + 6):  # more than one batch
        writer.append(log_entry(n, rules=(f"refunds/r{n % 3}",)))
    writer.append(log_entry(BATCH + 6, kind="approval", decision_id="dec_00000001", outcome="rejected"))
    assert counted(writer, "decision_rules") == 0
    writer.dispose()

    reader = DecisionStore(database_url)
    try:
        fired_r1 = [n for n in range(BATCH + 5, 0, -1) if n % 3 == 1]
        assert [d["seq"] for d in reader.page(LogFilter(rule="refunds/r1"), None, 100)] == fired_r1
        assert counted(reader, "decision_rules") == BATCH + 6
        with reader.engine.connect() as connection:
            approval = connection.execute(sqlalchemy.text(
                "SELECT decision_seq, proposed FROM decision_facts WHERE kind = 'approval'")).one()
        assert tuple(approval) == (1, 1250)  # its decision's seq and proposed amount, though derived in one pass
        assert audit.verify(reader).ok
    finally:
        reader.dispose()


def test_a_rule_filter_sees_a_decision_appended_a_moment_ago(store: DecisionStore) -> None:
    store.append(log_entry(1, rules=("refunds/late",)))
    assert [d["seq"] for d in store.page(LogFilter(rule="refunds/late"), None, 10)] == [1]
    assert store.rule_recorded("refunds/late")


def test_verify_catches_a_deleted_rule_row_once_derived(store: DecisionStore) -> None:
    for n in range(1, 4):
        store.append(log_entry(n))
    store.catch_up()
    with store.engine.begin() as connection:
        if store.dialect == "postgresql":
            connection.execute(sqlalchemy.text("ALTER TABLE decision_rules DISABLE TRIGGER USER"))
        else:
            connection.execute(sqlalchemy.text("DROP TRIGGER decision_rules_no_delete"))
        connection.execute(sqlalchemy.text("DELETE FROM decision_rules WHERE seq = 2"))
    report = audit.verify(store)
    assert not report.ok and "rule index of entry 2" in str(report.as_dict())
