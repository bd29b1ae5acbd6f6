"""The decision log: the only package that talks to the database (SQLAlchemy 2 Core; SQLite or PostgreSQL).

Append-only in the storage itself (triggers on both backends, grants on PostgreSQL: see the migrations
and `grant_append_only`). Every entry joins a hash chain (`chain.py`). Appending is serialised by a
lock the database holds, not the process, so several workers and several instances keep one gapless
chain: SQLite's write lock (`BEGIN IMMEDIATE`), PostgreSQL's transaction-scoped advisory lock. Commit
happens before an append returns; the web layer answers only after that, and 503 when it raises.
"""

from __future__ import annotations

import fcntl
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import case, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from policy_service.decisionlog.chain import timestamp_text
from policy_service.decisionlog.connection import Checkpointer, lock_file, make_engine
from policy_service.decisionlog.history import PolicyHistory, chained_entries
from policy_service.decisionlog.insights_rows import InsightQueries
from policy_service.decisionlog.migrating import LogSchema
from policy_service.decisionlog.records import Appended, LogFilter, NewEntry
from policy_service.decisionlog.schema import (
    FACT_FILTERS,
    facts_table,
    log_table,
    revisions_table,
    rules_table,
)
from policy_service.decisionlog.sign_outs import SignOuts
from policy_service.decisionlog.statements import (
    EXPORTED,
    LISTED,
    Compiled,
    as_utc,
    first_seq_at_or_after,
    statements,
    usage_statement,
)
from policy_service.decisionlog.transaction import ChainTransaction, LedgerView
from policy_service.errors import StoreError

_PG_CHAIN_LOCK = 0x706F6C6963790001  # pg_advisory_xact_lock key: "policy" + 1



class DecisionStore(LogSchema, PolicyHistory, InsightQueries, SignOuts):
    def __init__(self, url: str, log_key: bytes | None = None) -> None:
        self.url = url
        self.log_key = log_key  # entries are HMAC-SHA256 under it (chain.entry_hash); never stored here
        self.engine: Engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self._local = threading.local()
        database = self.engine.url.database if self.dialect == "sqlite" else None
        self._lock_path = f"{database}.chain-lock" if database and database != ":memory:" else None
        self._checkpointer = Checkpointer(self.engine) if self._lock_path else None
        self._compiled = {name: Compiled(self.engine, statement) for name, statement in statements().items()}
        self._usage_compiled: dict[int, Compiled] = {}

    # -- appending ----------------------------------------------------------------------------------

    @contextmanager
    def chain_transaction(self) -> Iterator[ChainTransaction]:
        """Hold the chain lock for reads that decide what to append, and the append: commit at the end.

        The lock is the database's (SQLite's write lock, a PostgreSQL advisory lock), so budgets read
        here cannot be spent twice by another worker or instance. A database error drops the
        connection and raises StoreError; any other exception rolls back and propagates.
        """
        driver_error = self.engine.dialect.loaded_dbapi.Error
        with self._queue():
            try:
                connection = self._writer()
            except (SQLAlchemyError, driver_error) as exc:  # unreachable: a 503, never a 500
                raise StoreError(f"cannot reach the decision log: {exc.__class__.__name__}") from exc
            try:
                cursor = connection.cursor()
                if self.dialect == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                    now = datetime.now(timezone.utc)
                else:  # the database's clock, once the lock is held (see ChainTransaction.now)
                    cursor.execute(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK}), clock_timestamp()")
                    now = as_utc(cursor.fetchone()[1])
                yield ChainTransaction(self, cursor, now)
                connection.commit() if self.dialect != "sqlite" else cursor.execute("COMMIT")
            except driver_error as exc:
                self._drop_writer()
                raise StoreError(f"cannot record the entry: {exc.__class__.__name__}: {exc}") from exc
            except BaseException:
                try:
                    connection.rollback() if self.dialect != "sqlite" else cursor.execute("ROLLBACK")
                except driver_error:
                    self._drop_writer()
                raise

    @contextmanager
    def _queue(self) -> Iterator[None]:
        """SQLite: wait for the write lock in the kernel (flock), not in SQLite's busy handler.

        A writer that finds SQLite's lock taken sleeps 1, 2, 5, 10… ms before trying again, though the
        holder needs ~0.2 ms: with two workers that halved throughput. `lock_file` polls a flock from
        50 µs, bounded like every other wait. One descriptor per thread: flock does not exclude holders of the
        same open file. PostgreSQL's advisory lock already queues this way.
        """
        if self.dialect != "sqlite" or self._lock_path is None:
            yield
            return
        handle = getattr(self._local, "lock_file", None)
        if handle is None:
            try:
                handle = self._local.lock_file = open(self._lock_path, "a")
            except OSError as exc:  # the log's disk or folder is gone: a 503 like any outage
                raise StoreError(f"cannot reach the decision log: {exc}") from exc
        lock_file(handle)  # bounded: a stalled writer holding it is a 503, never a hang (§8)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
        if self._checkpointer is not None:
            self._checkpointer.committed()

    @contextmanager
    def ledger_view(self) -> Iterator[LedgerView]:
        """Cap usage as the log stands, without the chain lock and writing nothing (the simulator)."""
        with self._reading() as connection:
            yield LedgerView(connection, self.dialect)

    def append(self, entry: NewEntry) -> Appended:
        """Chain and commit one entry; returns only once it is durable."""
        with self.chain_transaction() as transaction:
            return transaction.append(entry)

    def _sql(self, name: str) -> Compiled:
        return self._compiled[name]

    def _usage_sql(self, questions: int) -> Compiled:
        compiled = self._usage_compiled.get(questions)
        if compiled is None:  # one per number of questions an action's caps ask: a handful per policy set
            compiled = self._usage_compiled[questions] = Compiled(self.engine, usage_statement(questions))
        return compiled

    def _writer(self) -> Any:
        # One DB-API connection per worker thread, kept: pool checkout and SQLAlchemy's transaction
        # events cost ~100 µs per decision on this path. SQLite gets autocommit so BEGIN IMMEDIATE is ours.
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self.engine.raw_connection()
            if self.dialect == "sqlite" and connection.driver_connection is not None:
                connection.driver_connection.isolation_level = None
            self._local.connection = connection
        return connection

    def _drop_writer(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.invalidate()  # closes it; an open transaction is rolled back with it
            except Exception:  # already broken: nothing more to release
                pass

    def store_revision(self, revision: str, files: dict[str, str]) -> None:
        """Keep a policy revision's files the first time it is loaded (later loads change nothing)."""
        row = {"revision": revision, "stored_at": datetime.now(timezone.utc),
               "files": json.dumps(files, ensure_ascii=False, sort_keys=True)}
        try:
            with self.engine.begin() as connection:
                if connection.execute(select(revisions_table.c.revision).where(
                        revisions_table.c.revision == revision)).first() is None:
                    connection.execute(insert(revisions_table), row)
        except IntegrityError:
            pass  # another worker stored the same revision first: same content by construction
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store policy revision: {exc.__class__.__name__}: {exc}") from exc

    # -- reading ------------------------------------------------------------------------------------

    def get(self, decision_id: str) -> tuple[str, list[str]] | None:
        """A decision's response text and its events' texts, oldest first; None when unknown."""
        query = (select(log_table.c.kind, log_table.c.response).where(log_table.c.decision_id == decision_id)
                 .order_by(log_table.c.seq))
        with self._reading() as connection:
            rows = connection.execute(query).all()
        decision = [r.response for r in rows if r.kind == "decision"]
        return (decision[0], [r.response for r in rows if r.kind != "decision"]) if decision else None

    def entries(self, decision_id: str) -> list[dict[str, Any]]:
        """Every entry of one decision as chained (seq, caller, request, prev_hash, hash, ...), oldest first."""
        query = select(log_table).where(log_table.c.decision_id == decision_id).order_by(log_table.c.seq)
        with self._reading() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def events_for(self, decision_ids: list[str]) -> dict[str, list[str]]:
        """The events' texts (approvals, outcomes) of these decisions, oldest first, by decision id."""
        if not decision_ids:
            return {}
        c = log_table.c
        query = (select(c.decision_id, c.response).where(c.decision_id.in_(decision_ids), c.kind != "decision")
                 .order_by(c.seq))
        found: dict[str, list[str]] = {}
        with self._reading() as connection:
            for row in connection.execute(query):
                found.setdefault(row.decision_id, []).append(row.response)
        return found

    def page(self, where: LogFilter, before_seq: int | None, limit: int) -> list[dict[str, Any]]:
        """Decisions newest first, strictly older than `before_seq`: stable under concurrent appends."""
        query, seq = self._decisions(where, LISTED)
        query = query.order_by(seq.desc()).limit(limit)
        if before_seq is not None:
            query = query.where(seq < before_seq)
        with self._reading() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def stream(self, where: LogFilter, kind: str | None = None) -> Iterator[dict[str, Any]]:
        """Entries oldest first, fetched in batches (a server-side cursor on PostgreSQL): every entry
        of each decision `where` selects, its approval and outcome with it, or those of one `kind`.
        An event carries its decision's answer as `decision_response` (an index probe per event, so
        neither backend holds the log in memory); a decision entry carries None there."""
        entry, decision = log_table.alias("entry"), log_table.alias("decision")
        answer = select(decision.c.response).where(decision.c.decision_id == entry.c.decision_id,
                                                   decision.c.kind == "decision").scalar_subquery()
        query = select(*(entry.c[name] for name in EXPORTED),
                       case((entry.c.kind != "decision", answer), else_=None).label("decision_response"))
        if where != LogFilter():
            query = query.where(entry.c.decision_id.in_(self._decisions(where, ("decision_id",))[0]))
        if kind is not None:
            query = query.where(entry.c.kind == kind)
        with self._reading() as connection:
            for row in connection.execution_options(yield_per=500).execute(query.order_by(entry.c.seq)):
                yield dict(row._mapping)

    def chain(self) -> Iterator[dict[str, Any]]:
        """Every entry with what its hash covers, in seq order, streamed. (Verify does not read it here
        but in PolicyHistory.audit_walk, beside the side tables in one snapshot.)"""
        with self._reading() as connection:
            yield from chained_entries(connection.execution_options(yield_per=1000))

    def revisions(self) -> Iterator[tuple[str, dict[str, str]]]:
        with self._reading() as connection:
            for row in connection.execution_options(yield_per=50).execute(
                    select(revisions_table).order_by(revisions_table.c.revision)):
                yield row.revision, json.loads(row.files)

    def revision(self, revision: str) -> dict[str, Any] | None:
        with self._reading() as connection:
            row = connection.execute(select(revisions_table).where(revisions_table.c.revision == revision)).first()
        if row is None:
            return None
        return {"revision": row.revision, "stored_at": timestamp_text(row.stored_at), "files": json.loads(row.files)}

    def _decisions(self, where: LogFilter, columns: tuple[str, ...]) -> tuple[Any, Any]:
        """The filtered query and the seq column to order and page it by."""
        c = log_table.c
        query = select(*(c[name] for name in columns)).where(c.kind == "decision")
        seq = c.seq
        narrow = {name: value for name in FACT_FILTERS if (value := getattr(where, name)) is not None}
        if where.rule is not None:
            # Driven from the (rule, seq) key and ordered by its seq: SQLite otherwise sorted every
            # match of a common rule before taking a page (1 s at a million decisions).
            query = query.join(rules_table, rules_table.c.seq == c.seq).where(rules_table.c.rule == where.rule)
            seq = rules_table.c.seq
        elif narrow and where.agent_id is None and where.customer_id is None:
            # Outcome, action and policy have a handful of values and no log index (migration 0008):
            # the decisions' narrow facts rows are read newest first, in their key's order, and only
            # the matching ones join their entries. The `||` keeps the planner on that key: the
            # insights index (kind, action, ...) would find a common action's rows, then sort them all.
            f = facts_table.c
            query = query.join(facts_table, (f.kind == "decision") & (f.decision_seq == c.seq))
            for name, value in narrow.items():
                query = query.where(f[name].concat("") == value)
            seq, narrow = f.decision_seq, {}
        for name in ("agent_id", "customer_id", *narrow):
            value = getattr(where, name)
            if value is not None:
                query = query.where(c[name] == value)
        # Time only grows with seq (append), so a time range is a seq range: one index probe for each
        # end, then the same newest-first scan as every other filter (no sort of a month's decisions).
        if where.since is not None:
            query = query.where(seq >= first_seq_at_or_after(where.since))
        if where.until is not None:
            query = query.where(seq < first_seq_at_or_after(where.until))
        return query, seq

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the decision log: {exc.__class__.__name__}: {exc}") from exc

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._drop_writer()
        self.engine.dispose()

