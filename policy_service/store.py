"""The decision log: the only module that talks to the database (SQLAlchemy Core).

Append-only in the storage itself: SQLite triggers refuse UPDATE and DELETE on the log, so even a
bug here cannot rewrite history. A decision is committed before `record` returns; the web layer
sends its 201 only after that, and answers 503 when the commit fails.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, event, insert,
                        select, text)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

metadata = MetaData()

decisions = Table(
    "decisions", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("caller", String(200), nullable=True),
    Column("agent_id", String(200), nullable=True),
    Column("customer_id", String(200), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("action", String(100), nullable=False),
    Column("policy_revision", String(80), nullable=False),
    Column("request", Text, nullable=False),
    Column("response", Text, nullable=False),
)

_SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions "
    "BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions "
    "BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END",
]


class StoreError(RuntimeError):
    """The log could not record or read; callers answer 503, never a made-up success."""


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    created_at: datetime
    caller: str | None
    agent_id: str | None
    customer_id: str | None
    outcome: str
    action: str
    policy_revision: str
    request: dict[str, Any]
    response_text: str  # exactly the JSON the caller received


def default_database_url(cwd: Path | None = None) -> str:
    return f"sqlite:///{(cwd or Path.cwd()) / 'var' / 'decisions.db'}"


class DecisionStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        self._prepared = False
        self._local = threading.local()
        written = [column.name for column in decisions.columns if column.name != "seq"]  # seq: the database's
        compiled = insert(decisions).compile(dialect=self.engine.dialect, column_keys=written)
        self._insert_sql = str(compiled)
        self._positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        self._processors = {column.name: column.type.bind_processor(self.engine.dialect) for column in decisions.columns}

    def prepare(self) -> None:
        """Create the schema and its append-only guards (idempotent)."""
        try:
            metadata.create_all(self.engine)
            if self.engine.dialect.name == "sqlite":
                with self.engine.begin() as connection:
                    for statement in _SQLITE_GUARDS:
                        connection.execute(text(statement))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot prepare the decision log: {exc.__class__.__name__}") from exc
        self._prepared = True

    def record(self, entry: Entry) -> None:
        """Insert and commit one entry; returns only once it is durable in the log."""
        if not self._prepared:
            self.prepare()
        row = {
            "id": entry.id, "kind": entry.kind, "created_at": entry.created_at, "caller": entry.caller,
            "agent_id": entry.agent_id, "customer_id": entry.customer_id, "outcome": entry.outcome,
            "action": entry.action, "policy_revision": entry.policy_revision,
            "request": _dumps(entry.request), "response": entry.response_text,
        }
        # The hot path of every decision. SQLAlchemy compiles the statement and converts the values
        # (its own type processors); the insert goes through one DB-API connection kept per worker
        # thread, which skips ~100 µs of pool checkout and transaction events per call.
        parameters = {name: (convert(value) if convert else value)
                      for name, value in row.items() for convert in [self._processors[name]]}
        connection = self._writer()
        try:
            cursor = connection.cursor()
            cursor.execute(self._insert_sql, self._bind(parameters))
            connection.commit()
        except Exception as exc:  # any driver error: the connection may be unusable; drop it
            self._drop_writer()
            raise StoreError(f"cannot record the decision: {exc.__class__.__name__}: {exc}") from exc

    def _writer(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self.engine.raw_connection()
        return connection

    def _drop_writer(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.invalidate()
            except Exception:  # already broken: nothing more to release
                pass

    def _bind(self, parameters: dict[str, Any]) -> Any:
        if self._positions is None:
            return parameters
        return tuple(parameters[name] for name in self._positions)

    def get(self, decision_id: str) -> dict[str, Any] | None:
        if not self._prepared:
            self.prepare()
        try:
            with self.engine.connect() as connection:
                row = connection.execute(select(decisions.c.response).where(decisions.c.id == decision_id)).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the decision log: {exc.__class__.__name__}") from exc
        return json.loads(row.response) if row else None

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


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers and the writer work at once; NORMAL syncs the WAL at checkpoints, which
            # keeps every committed decision across a killed process (the OS holds the pages).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    return engine
