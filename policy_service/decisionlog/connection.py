"""How the decision log connects: one SQLAlchemy engine per store, with the time-outs that keep an
outage from hanging a worker (docs/contract.md §8) and SQLite's pragmas. Part of DecisionStore, kept
apart so the store's own module stays about reading and appending.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, create_engine, event

from policy_service.errors import StoreError

CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_MS = 4000  # a statement, or a wait for the chain lock; under the 5 s a caller may wait
# The client's own bound on any one wait for PostgreSQL: a silent server (stopped, or a hung host
# whose kernel still acknowledges) never enforces its statement_timeout, so nothing else would end
# the wait. Just above the server's bounds, so theirs, with better messages, come first.
ANSWER_TIMEOUT_SECONDS = STATEMENT_TIMEOUT_MS / 1000 + 0.5
# An audit walk's reads (history.PolicyHistory.audit_walk) sort millions of rows before the first
# one comes back: 16 million rule rows took over 4 s on PostgreSQL. They are an auditor's job, not a
# caller's wait, so they get minutes, still bounded.
AUDIT_TIMEOUT_SECONDS = 300
CHECKPOINT_EVERY = 100  # commits of a process between WAL checkpoints
WAL_AUTOCHECKPOINT_PAGES = 16000  # SQLite's own checkpoint, inside a COMMIT (see _sqlite_pragmas)
# Once the WAL holds this much of that, the thread checkpoints every CHECKPOINT_NEAR_LIMIT commits,
# so the COMMIT that reaches the limit finds nearly every page already copied (Checkpointer). Half:
# the thread learns the WAL's size only when it checkpoints, and two processes' 100 commits each
# add ~6,000 pages between its looks.
NEAR_LIMIT_PAGES = WAL_AUTOCHECKPOINT_PAGES // 2
CHECKPOINT_NEAR_LIMIT = 5
# The checkpoint thread's nice value above its worker's (Linux, where a thread has its own): its copying
# (~4 % of a loaded worker's CPU) waits for cores the requests leave idle instead of taking turns with
# a request that holds the chain lock. Not 19: at 10 its share of a saturated core (~10 %) still
# outruns two workers' commits, so the WAL does not grow to SQLite's own checkpoint in a COMMIT.
CHECKPOINTER_NICENESS = 10

log = logging.getLogger("policy_service.decisionlog")


def lock_file(handle: IO[str], seconds: float = STATEMENT_TIMEOUT_MS / 1000) -> None:
    """Take an exclusive flock on `handle` within `seconds`, else StoreError (a 503).

    A blocking flock would wait forever behind a stalled holder. Polling without blocking, at steps
    that start at 50 µs (a holder needs a fraction of a millisecond) and double up to 2 ms, keeps the
    hand-over nearly as quick as the kernel's own queue.
    """
    deadline = time.monotonic() + seconds
    step = 0.00005
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreError(f"the decision log's write lock was held for over {seconds:g} s") from None
            time.sleep(step)
            step = min(step * 2, 0.002)


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
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "do_connect")
        def _bounded(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            return _bounded_connection_class().connect(*cargs, **cparams)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers and the writer work at once. synchronous=NORMAL syncs the WAL at
            # checkpoints: a committed entry survives a killed process (the OS holds the pages), and
            # only a power cut could lose the newest ones.
            cursor.execute(f"PRAGMA busy_timeout={STATEMENT_TIMEOUT_MS}")  # first: switching a new file to WAL may wait too
            # 1 KiB pages, set before the file's first table (a no-op on an existing file, which keeps
            # its size): a decision dirties ~16 b-trees, one leaf each, and every dirty page is copied
            # whole into the WAL at COMMIT and read again by the other worker after it: ~104 KB a
            # decision with 4 KiB pages, 35 KB with 1 KiB, which gave 3-4 % more decisions/s over
            # HTTP and a p99 2-3 ms lower (512 and 2,048 did less well: docs/performance.md).
            cursor.execute("PRAGMA page_size=1024")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # A thread of each writing process checkpoints (Checkpointer). Only SQLite's automatic
            # checkpoint, run inside a COMMIT, lets the WAL start over (see Checkpointer): at 16,000
            # pages that COMMIT holds the chain lock once every ~450 decisions (35 pages each; the WAL
            # reaches ~16 MB, ~64 MB on a file with 4 KiB pages); at 4,000 pages of 4 KiB it did every
            # ~160, and a decision's p99 over HTTP was ~20 ms instead of ~16.
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    return engine


@functools.cache  # psycopg is imported only by a store on PostgreSQL
def _bounded_connection_class() -> Any:
    """psycopg's Connection whose every wait for the server is bounded by ANSWER_TIMEOUT_SECONDS.

    `Connection.wait` is the one place psycopg blocks on a connection's socket; it takes a timeout
    but its callers pass none (hence psycopg's upper bound in pyproject.toml). A wait that expires
    raises psycopg's OperationalError, which the store turns into StoreError and a dropped connection.
    """
    import psycopg

    class BoundedConnection(psycopg.Connection):
        answer_timeout: float = ANSWER_TIMEOUT_SECONDS  # raised for one audit walk (audit_bounds)

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            return super().wait(gen, interval=interval, timeout=self.answer_timeout if timeout is None else timeout)

    return BoundedConnection


class Checkpointer:
    """Checkpoints an SQLite log's WAL from a thread of its own, never in a request.

    A PASSIVE checkpoint copies committed pages into the database file and syncs it: 9-12 ms on this
    project's machine, nearly all of it waiting for the disk. Run by whichever request made the
    hundredth commit, it made that request ten times slower (in process, a decision's p99 was 9 ms
    and its p50 1 ms: docs/performance.md). Here the wait happens with the GIL released while the
    worker goes on answering, and PASSIVE never blocks a writer.

    While writers keep committing, such a checkpoint never catches up with the last frame, and SQLite
    starts the WAL over only when it has: that happens in the automatic checkpoint some COMMIT runs
    (wal_autocheckpoint, above) while its process holds the chain lock, so every other writer waits
    for it. It copies what the thread has not yet: up to 100 commits of each process, which took
    15-20 ms on this project's machine every ~500 decisions and set the p99 over HTTP. So once the WAL
    is half way there, the thread checkpoints every 5 commits, and that COMMIT finds little left to
    copy: the p99 over HTTP fell by a quarter to a third (every 5 commits throughout cost up to 5 % of
    the rate: docs/performance.md, "Eighth session on the bar"). The two threads' updates of the
    countdown are not locked: a race costs one checkpoint more or less. Tried and dropped: a second pass
    under the chain lock, to let the WAL start over every round; its holder, a background thread,
    could wait for the GIL or the CPU while holding the lock, and the p99 swung between 14 and 25 ms.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._due = threading.Event()
        self._closed = False
        self._until_due = self._every = CHECKPOINT_EVERY  # the thread shortens it near the WAL's limit
        self.checkpoints = 0  # run by this process's thread so far
        self._thread: threading.Thread | None = None
        self._pid = 0  # the process whose thread it is: a forked worker starts its own

    def committed(self) -> None:
        """Count a commit of this process; every CHECKPOINT_EVERY-th (near the WAL's limit, every
        CHECKPOINT_NEAR_LIMIT-th) wakes the thread."""
        self._until_due -= 1
        if self._until_due <= 0 and not self._closed:
            self._until_due = self._every
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
                self._thread.start()
            self._due.set()

    def close(self) -> None:
        self._closed = True
        self._due.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        connection = None
        if sys.platform == "linux":  # elsewhere a thread's id may name its whole process
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                               os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + CHECKPOINTER_NICENESS)
            except OSError as exc:  # a sandbox refusing it: checkpoints run at the worker's priority
                log.info("the WAL checkpoint thread keeps its worker's priority: %s", exc)
        while True:
            self._due.wait()
            self._due.clear()
            if self._closed:
                break
            try:
                connection = connection or self._engine.raw_connection()
                # fetchall: a statement left unfinished would keep a read lock open
                _busy, wal_pages, _copied = connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
                self._every = CHECKPOINT_NEAR_LIMIT if wal_pages >= NEAR_LIMIT_PAGES else CHECKPOINT_EVERY
                self._until_due = min(self._until_due, self._every)
                self.checkpoints += 1
            except Exception as exc:  # missed: the next round retries, on a new connection
                log.warning("WAL checkpoint failed: %s", exc.__class__.__name__)
                _close(connection)
                connection = None
        _close(connection)


def _close(connection: Any) -> None:
    """Close a checkpointer's connection, however broken it is."""
    if connection is not None:
        try:
            connection.close()
        except Exception:  # broken already: nothing more to release
            pass


@contextmanager
def audit_bounds(connection: Connection) -> Iterator[None]:
    """PostgreSQL: this transaction's statements, and the connection's waits for their answers, are
    bounded by AUDIT_TIMEOUT_SECONDS instead of a caller's few seconds; both return to those when it ends."""
    driver: Any = connection.connection.driver_connection  # a BoundedConnection (make_engine)
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {AUDIT_TIMEOUT_SECONDS * 1000}")
    driver.answer_timeout = AUDIT_TIMEOUT_SECONDS + 0.5
    try:
        yield
    finally:
        del driver.answer_timeout  # the class's bound again
