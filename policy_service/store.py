"""The decision log: the only module that talks to the database (SQLAlchemy 2 Core; SQLite or PostgreSQL).

Append-only in the storage itself (triggers on both backends, grants on PostgreSQL: see the migration
and `grant_append_only`). Every entry joins a hash chain (`chain.py`). Appending is serialised by a
lock the database holds, not the process, so several workers and several instances keep one gapless
chain: SQLite's write lock (`BEGIN IMMEDIATE`), PostgreSQL's transaction-scoped advisory lock. Commit
happens before `append` returns; the web layer answers only after that, and 503 when it raises.
"""

from __future__ import annotations

import fcntl
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text, bindparam, create_engine,
                        event, func, insert, select, text)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .chain import GENESIS, entry_hash, timestamp_text

# The tables as migration 0001 creates them (the migrations own the DDL; these describe it for queries).
metadata = MetaData()
_seq_type = BigInteger().with_variant(Integer(), "sqlite")
log_table = Table(
    "decision_log", metadata,
    Column("seq", _seq_type, primary_key=True, autoincrement=False),
    Column("id", String(40)), Column("kind", String(16)), Column("decision_id", String(40)),
    Column("created_at", DateTime(timezone=True)), Column("caller", String(200)),
    Column("agent_id", String(200)), Column("customer_id", String(200)), Column("outcome", String(16)),
    Column("action", String(100)), Column("policy", String(100)), Column("rules", Text),
    Column("policy_revision", String(80)), Column("request", Text), Column("response", Text),
    Column("masked", Text), Column("prev_hash", String(64)), Column("hash", String(64)),
)
rules_table = Table("decision_rules", metadata, Column("rule", String(200), primary_key=True),
                    Column("seq", _seq_type, primary_key=True))
revisions_table = Table("policy_revisions", metadata, Column("revision", String(80), primary_key=True),
                        Column("stored_at", DateTime(timezone=True)), Column("files", Text))
ledger_table = Table("budget_ledger", metadata, Column("seq", _seq_type), Column("decision_id", String(40)),
                     Column("scope", String(16)), Column("subject", String(200)), Column("action", String(100)),
                     Column("reserved_at", DateTime(timezone=True)), Column("amount", BigInteger), Column("count", Integer))
approvals_table = Table("approval_requests", metadata, Column("decision_id", String(40), primary_key=True),
                        Column("seq", _seq_type), Column("to_tier", String(100)), Column("team", String(100)),
                        Column("action", String(100)), Column("amount", BigInteger), Column("created_at", DateTime(timezone=True)))
idempotency_table = Table("idempotency_keys", metadata, Column("caller", String(200)), Column("key", String(200)),
                          Column("body_hash", String(64)), Column("decision_id", String(40)),
                          Column("created_at", DateTime(timezone=True)))

APPEND_ONLY_TABLES = ("decision_log", "decision_rules", "policy_revisions", "budget_ledger", "approval_requests",
                      "idempotency_keys")
_PG_CHAIN_LOCK = 0x706F6C6963790001  # pg_advisory_xact_lock key: "policy" + 1
_MIGRATIONS = "policy_service:migrations"


class StoreError(RuntimeError):
    """The log could not record or read; callers answer 503, never a made-up success."""


@dataclass(frozen=True)
class NewEntry:
    """One entry as the caller knows it; the store adds seq, prev_hash and hash under the chain lock."""
    id: str
    kind: str  # decision | approval | outcome
    decision_id: str
    created_at: datetime  # proposed; the log keeps it no earlier than the entry before (see append)
    caller: str | None
    agent_id: str | None
    customer_id: str | None
    outcome: str | None
    action: str | None
    policy: str | None
    rules: str  # canonical JSON list
    policy_revision: str
    request: str  # canonical JSON of the validated (masked) request
    response: str | Callable[[datetime], str]  # exactly the JSON the caller receives, or its renderer
    masked: str  # canonical JSON list of the request paths removed before storage
    fired_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class LedgerRow:
    """A reservation (+amount, +1), a correction to what was granted, or a release (-amount, -1)."""
    scope: str  # customer | agent
    subject: str
    action: str
    amount: int
    count: int


@dataclass(frozen=True)
class ApprovalRequest:
    decision_id: str
    to_tier: str
    team: str | None
    action: str
    amount: int
    created_at: datetime


@dataclass(frozen=True)
class Appended:
    seq: int
    hash: str
    created_at: datetime
    response: str


@dataclass(frozen=True)
class LogFilter:
    agent_id: str | None = None
    customer_id: str | None = None  # as stored (already keyed-hashed when that is on)
    outcome: str | None = None
    action: str | None = None
    policy: str | None = None
    rule: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def default_database_url(cwd: Path | None = None) -> str:
    return f"sqlite:///{(cwd or Path.cwd()) / 'var' / 'decisions.db'}"


class DecisionStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        self.dialect = self.engine.dialect.name
        self._local = threading.local()
        self._compiled = {name: _Compiled(self.engine, statement) for name, statement in _statements().items()}

    # -- schema -------------------------------------------------------------------------------------

    def schema_version(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def upgrade(self) -> None:
        """Migrate to the newest schema; safe when several processes start at once."""
        config = Config()
        config.set_main_option("script_location", _MIGRATIONS)
        try:
            with self._migration_lock(), self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the decision log: {exc.__class__.__name__}: {exc}") from exc

    def prepare(self) -> None:
        """Make sure the schema is current, migrating only when it is not (a service role cannot)."""
        config = Config()
        config.set_main_option("script_location", _MIGRATIONS)
        head = ScriptDirectory.from_config(config).get_current_head()
        try:
            current = self.schema_version()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot reach the decision log: {exc.__class__.__name__}: {exc}") from exc
        if current != head:
            self.upgrade()

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect == "postgresql":
            with self.engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_CHAIN_LOCK + 1})
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_CHAIN_LOCK + 1})
        else:
            database = self.engine.url.database
            if not database or database == ":memory:":
                yield
                return
            with open(f"{database}.migrate-lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield

    def grant_append_only(self, role: str) -> None:
        """PostgreSQL: `role` may read and append, never update, delete or truncate (SPEC §6)."""
        if self.dialect != "postgresql":
            raise StoreError("grants exist only on PostgreSQL; SQLite relies on its triggers and file permissions")
        quoted = self.engine.dialect.identifier_preparer.quote(role)
        tables = ", ".join(APPEND_ONLY_TABLES)
        with self.engine.begin() as connection:
            connection.execute(text(f"REVOKE ALL ON {tables}, alembic_version FROM {quoted}"))
            connection.execute(text(f"GRANT SELECT, INSERT ON {tables} TO {quoted}"))
            connection.execute(text(f"GRANT SELECT ON alembic_version TO {quoted}"))

    # -- appending ----------------------------------------------------------------------------------

    @contextmanager
    def chain_transaction(self) -> Iterator["ChainTransaction"]:
        """Hold the chain lock for reads that decide what to append, and the append: commit at the end.

        The lock is the database's (SQLite's write lock, a PostgreSQL advisory lock), so budgets read
        here cannot be spent twice by another worker or instance. A database error drops the
        connection and raises StoreError; any other exception rolls back and propagates.
        """
        connection = self._writer()
        driver_error = self.engine.dialect.loaded_dbapi.Error
        try:
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")
            yield ChainTransaction(self, cursor)
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

    def append(self, entry: NewEntry) -> Appended:
        """Chain and commit one entry; returns only once it is durable."""
        with self.chain_transaction() as transaction:
            return transaction.append(entry)

    def _sql(self, name: str) -> "_Compiled":
        return self._compiled[name]

    def _writer(self) -> Any:
        # One DB-API connection per worker thread, kept: pool checkout and SQLAlchemy's transaction
        # events cost ~100 µs per decision on this path. SQLite gets autocommit so BEGIN IMMEDIATE is ours.
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self.engine.raw_connection()
            if self.dialect == "sqlite":
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

    def page(self, where: LogFilter, before_seq: int | None, limit: int) -> list[dict[str, Any]]:
        """Decisions newest first, strictly older than `before_seq`: stable under concurrent appends."""
        query, seq = self._decisions(where, _LISTED)
        query = query.order_by(seq.desc()).limit(limit)
        if before_seq is not None:
            query = query.where(seq < before_seq)
        with self._reading() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def stream(self, where: LogFilter) -> Iterator[dict[str, Any]]:
        """Decisions oldest first, fetched in batches (a server-side cursor on PostgreSQL)."""
        query, seq = self._decisions(where, _EXPORTED)
        query = query.order_by(seq)
        with self._reading() as connection:
            for row in connection.execution_options(yield_per=500).execute(query):
                yield dict(row._mapping)

    def chain(self) -> Iterator[dict[str, Any]]:
        """Every entry with what its hash covers, in seq order, streamed for constant-memory verify."""
        with self._reading() as connection:
            for row in connection.execution_options(yield_per=1000).execute(
                    select(log_table).order_by(log_table.c.seq)):
                values = dict(row._mapping)
                values["created_at"] = timestamp_text(values["created_at"])
                yield values

    def pending_approvals(self, to_tier: str | None, team: str | None, limit: int) -> list[dict[str, Any]]:
        """Escalations no approver has decided yet, oldest first."""
        a, log = approvals_table.c, log_table.c
        events = log_table.alias("events")
        decided = select(events.c.seq).where(events.c.kind == "approval", events.c.decision_id == a.decision_id).exists()
        query = (select(a.decision_id, a.to_tier, a.team, a.action, a.amount, a.created_at, log.agent_id, log.customer_id)
                 .join(log_table, log.seq == a.seq).where(~decided).order_by(a.seq).limit(limit))
        if to_tier is not None:
            query = query.where(a.to_tier == to_tier)
        if team is not None:
            query = query.where(a.team == team)
        with self._reading() as connection:
            return [{**row._mapping, "created_at": _utc(row.created_at)} for row in connection.execute(query)]

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
        if where.rule is not None:
            # Driven from the (rule, seq) key and ordered by its seq: SQLite otherwise sorted every
            # match of a common rule before taking a page (1 s at a million decisions).
            query = query.join(rules_table, rules_table.c.seq == c.seq).where(rules_table.c.rule == where.rule)
            seq = rules_table.c.seq
        for name in ("agent_id", "customer_id", "outcome", "action", "policy"):
            value = getattr(where, name)
            if value is not None:
                query = query.where(c[name] == value)
        # Time only grows with seq (append), so a time range is a seq range: one index probe for each
        # end, then the same newest-first scan as every other filter (no sort of a month's decisions).
        if where.since is not None:
            query = query.where(seq >= _first_seq_at_or_after(where.since))
        if where.until is not None:
            query = query.where(seq < _first_seq_at_or_after(where.until))
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
        self._drop_writer()
        self.engine.dispose()


_NO_SEQ = 2**62  # beyond any seq: "no entry at or after this time"


def _first_seq_at_or_after(moment: datetime) -> Any:
    c = log_table.c
    first = select(c.seq).where(c.created_at >= moment).order_by(c.created_at, c.seq).limit(1).scalar_subquery()
    return func.coalesce(first, _NO_SEQ)


def _utc(value: datetime | str) -> datetime:
    """A stored time as the raw drivers return it: psycopg gives datetimes, sqlite3 naive UTC text."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


_LISTED = ("seq", "caller", "customer_id", "masked", "hash", "response")
_EXPORTED = ("seq", "id", "created_at", "caller", "agent_id", "customer_id", "outcome", "action", "policy",
             "rules", "policy_revision", "request", "response", "masked", "hash")


class ChainTransaction:
    """Reads and the append inside one chain transaction (see DecisionStore.chain_transaction)."""

    def __init__(self, store: DecisionStore, cursor: Any) -> None:
        self._store, self._cursor = store, cursor

    def usage(self, scope: str, subject: str, action: str, since: datetime) -> tuple[int, int]:
        """Amount and count reserved or granted to `subject` for `action` since `since`."""
        row = self._store._sql("usage").run(self._cursor, scope=scope, subject=subject, action=action, since=since).fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def idempotent(self, caller: str, key: str, since: datetime) -> tuple[str, str] | None:
        """(body hash, decision id) of the newest use of this key by this caller since `since`."""
        row = self._store._sql("idempotency").run(self._cursor, caller=caller, key=key, since=since).fetchone()
        return (row[0], row[1]) if row else None

    def entries(self, decision_id: str) -> list[dict[str, Any]]:
        """A decision and its events, oldest first: kind, response, request, agent_id, customer_id, created_at."""
        rows = self._store._sql("entries").run(self._cursor, decision_id=decision_id).fetchall()
        return [{"kind": r[0], "response": r[1], "request": r[2], "agent_id": r[3], "customer_id": r[4],
                 "created_at": _utc(r[5])} for r in rows]

    def reserved(self, decision_id: str) -> list[LedgerRow]:
        """What a decision holds in the ledger now, per scope, subject and action."""
        rows = self._store._sql("reserved").run(self._cursor, decision_id=decision_id).fetchall()
        return [LedgerRow(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    def approval_request(self, decision_id: str) -> ApprovalRequest | None:
        row = self._store._sql("approval").run(self._cursor, decision_id=decision_id).fetchone()
        return ApprovalRequest(row[0], row[1], row[2], row[3], int(row[4]), _utc(row[5])) if row else None

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
        created_at = max(entry.created_at, _utc(head[2])) if head else entry.created_at
        response = entry.response(created_at) if callable(entry.response) else entry.response
        row = {**entry.__dict__, "seq": seq, "prev_hash": prev_hash, "created_at": created_at, "response": response}
        del row["fired_rules"]
        row["hash"] = entry_hash({**row, "created_at": timestamp_text(created_at)})
        sql("insert_log").run(cursor, **row)
        for rule in entry.fired_rules:
            sql("insert_rule").run(cursor, rule=rule, seq=seq)
        for item in ledger:
            sql("insert_ledger").run(cursor, seq=seq, decision_id=entry.decision_id, reserved_at=reserved_at or created_at,
                                     **item.__dict__)
        if approval is not None:
            sql("insert_approval").run(cursor, **{**approval.__dict__, "seq": seq, "created_at": created_at})
        if idempotency is not None:
            caller, key, body_hash = idempotency
            sql("insert_idempotency").run(cursor, caller=caller, key=key, body_hash=body_hash,
                                          decision_id=entry.decision_id, created_at=created_at)
        return Appended(seq, row["hash"], created_at, response)


def _statements() -> dict[str, Any]:
    """Every statement the chain transaction runs, as SQLAlchemy builds it (compiled once per store)."""
    log, ledger, approvals, keys = log_table.c, ledger_table.c, approvals_table.c, idempotency_table.c
    return {
        "usage": select(func.sum(ledger.amount), func.sum(ledger.count)).where(
            ledger.scope == bindparam("scope"), ledger.subject == bindparam("subject"),
            ledger.action == bindparam("action"), ledger.reserved_at >= bindparam("since", type_=DateTime(timezone=True))),
        "idempotency": select(keys.body_hash, keys.decision_id).where(
            keys.caller == bindparam("caller"), keys.key == bindparam("key"),
            keys.created_at >= bindparam("since", type_=DateTime(timezone=True))).order_by(keys.created_at.desc()).limit(1),
        "entries": select(log.kind, log.response, log.request, log.agent_id, log.customer_id, log.created_at).where(log.decision_id == bindparam("decision_id")).order_by(log.seq),
        "reserved": select(ledger.scope, ledger.subject, ledger.action, func.sum(ledger.amount), func.sum(ledger.count))
        .where(ledger.decision_id == bindparam("decision_id")).group_by(ledger.scope, ledger.subject, ledger.action),
        "approval": select(approvals.decision_id, approvals.to_tier, approvals.team, approvals.action, approvals.amount,
                           approvals.created_at).where(approvals.decision_id == bindparam("decision_id")),
        "insert_log": insert(log_table), "insert_rule": insert(rules_table), "insert_ledger": insert(ledger_table),
        "insert_approval": insert(approvals_table), "insert_idempotency": insert(idempotency_table),
    }


class _Compiled:
    """A statement compiled once by SQLAlchemy (its SQL and its type conversions) for the raw writer."""

    def __init__(self, engine: Engine, statement: Any) -> None:
        if hasattr(statement, "table") and statement.is_insert:
            names = [c.name for c in statement.table.columns]
            compiled = statement.compile(dialect=engine.dialect, column_keys=names)
            types = {c.name: c.type for c in statement.table.columns}
        else:
            compiled = statement.compile(dialect=engine.dialect)
            types = {name: bind.type for name, bind in compiled.binds.items()}
        self.sql = str(compiled)
        self.positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        # The dialect's own type (SQLite's DATETIME, say), as SQLAlchemy's queries use: a generic type
        # has no processor, and sqlite3 would store "…+00:00" text that no range filter compares right.
        self.processors = {name: kind.dialect_impl(engine.dialect).bind_processor(engine.dialect) for name, kind in types.items()}
        self.literals = {name: bind.value for name, bind in compiled.binds.items() if name not in types or not bind.required}

    def run(self, cursor: Any, **row: Any) -> Any:
        values = {**self.literals, **row}
        values = {name: (convert(values[name]) if convert else values[name]) for name, convert in self.processors.items()
                  if name in values}
        cursor.execute(self.sql, tuple(values[n] for n in self.positions) if self.positions else values)
        return cursor


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        try:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the decision log's directory: {exc}") from exc
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")  # psycopg 3, not psycopg2
    engine = create_engine(url, pool_pre_ping=url.startswith("postgresql"))
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers and the writer work at once. synchronous=NORMAL syncs the WAL at
            # checkpoints: a committed entry survives a killed process (the OS holds the pages), and
            # only a power cut could lose the newest ones.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    return engine
