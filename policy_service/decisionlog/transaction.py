"""One chain transaction: the reads that decide an append, and the append, under the chain lock; and
the ledger read without that lock, for decisions recorded nowhere (LedgerView)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from policy_service.deciding.budgets import LedgerRow, UsageQuestion
from policy_service.decisionlog.chain import GENESIS, entry_hash, timestamp_text
from policy_service.decisionlog.facts import DecisionFact, entry_facts
from policy_service.decisionlog.records import Appended, ApprovalRequest, NewEntry
from policy_service.decisionlog.statements import as_utc, usage_statement, usage_values

if TYPE_CHECKING:
    from policy_service.decisionlog.database import DecisionStore


class ChainTransaction:
    """Reads and the append inside one chain transaction (see DecisionStore.chain_transaction).

    `now` is the log's clock, read when the chain lock was taken: budget windows, idempotency and the
    entry's time all use it. On PostgreSQL it is the database's clock, so one instance whose host
    clock runs ahead cannot date everyone's later entries ahead (times never run backwards in the
    chain); SQLite's writers all run on the host that holds its file, so they share its clock.
    """

    def __init__(self, store: DecisionStore, cursor: Any, now: datetime) -> None:
        self._store, self._cursor, self.now = store, cursor, now

    def usage(self, questions: Sequence[UsageQuestion]) -> list[tuple[int, int]]:
        """Amount and count reserved or granted for each question, in one statement."""
        if not questions:
            return []
        answers = {row[0]: (int(row[1] or 0), int(row[2] or 0))
                   for row in self._store._usage_sql(len(questions)).run(self._cursor, **usage_values(questions)).fetchall()}
        return [answers.get(i, (0, 0)) for i in range(len(questions))]

    def idempotent(self, caller: str, key: str, since: datetime) -> tuple[str, str] | None:
        """(body hash, decision id) of the newest use of this key by this caller since `since`."""
        row = self._store._sql("idempotency").run(self._cursor, caller=caller, key=key, since=since).fetchone()
        return (row[0], row[1]) if row else None

    def entries(self, decision_id: str) -> list[dict[str, Any]]:
        """A decision and its events, oldest first: kind, response, request, agent_id, customer_id, created_at."""
        rows = self._store._sql("entries").run(self._cursor, decision_id=decision_id).fetchall()
        return [{"kind": r[0], "response": r[1], "request": r[2], "agent_id": r[3], "customer_id": r[4],
                 "created_at": as_utc(r[5])} for r in rows]

    def reserved(self, decision_id: str) -> list[LedgerRow]:
        """What a decision holds in the ledger now, per scope, subject and action."""
        rows = self._store._sql("reserved").run(self._cursor, decision_id=decision_id).fetchall()
        return [LedgerRow(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    def approval_request(self, decision_id: str) -> ApprovalRequest | None:
        row = self._store._sql("approval").run(self._cursor, decision_id=decision_id).fetchone()
        return ApprovalRequest(row[0], row[1], row[2], row[3], int(row[4]), as_utc(row[5])) if row else None

    def append(self, entry: NewEntry, *, ledger: tuple[LedgerRow, ...] = (), reserved_at: datetime | None = None,
               approval: ApprovalRequest | None = None, idempotency: tuple[str, str, str] | None = None) -> Appended:
        """Chain one entry, with the ledger rows, approval request and idempotency key that go with it.

        `created_at` is settled here as max(proposed, previous entry's), so time never runs backwards
        along seq (across threads, workers or instances with skewed clocks): a `from`/`to` filter maps
        exactly to a seq range, and a response rendered here states the logged time. Ledger rows of a
        new decision are reserved at its own time unless `reserved_at` says otherwise.
        """
        cursor, sql = self._cursor, self._store._sql
        cursor.execute("SELECT seq, hash, created_at FROM decision_log ORDER BY seq DESC LIMIT 1")
        head = cursor.fetchone()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
        created_at = max(entry.created_at, as_utc(head[2])) if head else entry.created_at
        if callable(entry.response):
            response, document = entry.response(created_at)
        else:
            response, document = entry.response, None
        row = {**entry.__dict__, "seq": seq, "prev_hash": prev_hash, "created_at": created_at, "response": response}
        del row["fired_rules"]
        row["hash"] = entry_hash({**row, "created_at": timestamp_text(created_at)}, self._store.log_key)
        decision = None
        if entry.kind != "decision":
            found = sql("decision_fact").run(cursor, decision_id=entry.decision_id).fetchone()
            decision = DecisionFact(*found) if found else None
        facts = entry_facts(seq, entry.kind, created_at, row, response if document is None else document, decision)
        with _pipelined(cursor, self._store.dialect):  # the writes need no answers
            sql("insert_log").run(cursor, **row)
            sql("insert_rule").run_many(cursor, [{"rule": rule, "seq": seq} for rule in entry.fired_rules])
            sql("insert_fact").run(cursor, **facts)
            for item in ledger:
                sql("insert_ledger").run(cursor, seq=seq, decision_id=entry.decision_id,
                                         reserved_at=reserved_at or created_at, **item.__dict__)
            if approval is not None:
                sql("insert_approval").run(cursor, **{**approval.__dict__, "seq": seq, "created_at": created_at})
            if idempotency is not None:
                caller, key, body_hash = idempotency
                sql("insert_idempotency").run(cursor, caller=caller, key=key, body_hash=body_hash,
                                              decision_id=entry.decision_id, created_at=created_at)
        return Appended(seq, row["hash"], created_at, response)


@contextmanager
def _pipelined(cursor: Any, dialect: str) -> Iterator[None]:
    """PostgreSQL: statements in this block are sent without waiting for each answer (psycopg's
    pipeline mode), so the block costs one round trip; an error raises at its end at the latest.
    SQLite runs in process: nothing to save."""
    if dialect != "postgresql":
        yield
        return
    with cursor.connection.pipeline():
        yield


class LedgerView:
    """The budget ledger as it stands, read outside any chain transaction (DecisionStore.ledger_view):
    for a decision that spends nothing and is recorded nowhere (the simulator). It takes no lock and
    writes nothing, so what it reads may be overtaken a moment later by a recorded decision."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self._connection = connection
        # The log's clock, as a chain transaction reads it (ChainTransaction.now).
        self.now = (as_utc(connection.execute(text("SELECT clock_timestamp()")).scalar_one()) if dialect == "postgresql"
                    else datetime.now(timezone.utc))

    def usage(self, questions: Sequence[UsageQuestion]) -> list[tuple[int, int]]:
        """Amount and count reserved or granted for each question, in one statement."""
        if not questions:
            return []
        answers = {row[0]: (int(row[1] or 0), int(row[2] or 0))
                   for row in self._connection.execute(usage_statement(len(questions)), usage_values(questions)).fetchall()}
        return [answers.get(i, (0, 0)) for i in range(len(questions))]
