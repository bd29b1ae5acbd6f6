"""How the decision log connects: one SQLAlchemy engine per store, with the time-outs that keep an
outage from hanging a worker (docs/contract.md §8) and SQLite's pragmas. Part of DecisionStore, kept
apart so the store's own module stays about reading and appending.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from policy_service.errors import StoreError

CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_MS = 4000  # a statement, or a wait for the chain lock; under the 5 s a caller may wait


def ensure_directory(url: str) -> None:
    """A new SQLite log's folder (./var/ by default); at prepare time, so a store can be built while
    its disk is away and report that as StoreError when it is used."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        try:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the decision log's directory: {exc}") from exc


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")  # psycopg 3, not psycopg2
    # Outages degrade, never hang (docs/contract.md §8): connecting, a statement and a lock wait
    # (the chain's advisory lock included) are each bounded, so a caller gets a 503 within seconds
    # and a worker never sits until gunicorn's timeout kills it.
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS}"}
    # hide_parameters: a database error's text (logged, and in StoreError) never carries the values
    # bound to its statement, which may be customer data.
    engine = create_engine(url, pool_pre_ping=url.startswith("postgresql"), connect_args=connect_args,
                           hide_parameters=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers and the writer work at once. synchronous=NORMAL syncs the WAL at
            # checkpoints: a committed entry survives a killed process (the OS holds the pages), and
            # only a power cut could lose the newest ones.
            cursor.execute(f"PRAGMA busy_timeout={STATEMENT_TIMEOUT_MS}")  # first: switching a new file to WAL may wait too
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Writers checkpoint after releasing the chain lock (DecisionStore._queue); the automatic
            # checkpoint stays as a backstop at 4x its default, for a WAL no service process trims.
            cursor.execute("PRAGMA wal_autocheckpoint=4000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    return engine
