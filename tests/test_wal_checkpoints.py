"""The SQLite log's WAL checkpoints: run by a thread of each writing process, never by a request,
at a lower priority than its worker, and close together as the WAL nears SQLite's own checkpoint
(policy_service/decisionlog/connection.py, Checkpointer)."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest
from helpers import log_entry as entry

from policy_service.decisionlog import DecisionStore, audit


def test_the_wal_is_checkpointed_by_a_thread_never_by_a_request(tmp_path: Any) -> None:
    """A checkpoint waits ~10 ms for the disk: the commit that reaches the interval must not pay it.
    The pages still reach the database file (it grows), and the WAL is checkpointed from another
    connection than the one that appends."""
    import os
    import time

    from policy_service.decisionlog.connection import CHECKPOINT_EVERY

    path = tmp_path / "log.db"
    store = DecisionStore(f"sqlite:///{path}")
    store.prepare()
    try:
        store.append(entry(1))
        seen: list[str] = []
        store._writer().driver_connection.set_trace_callback(seen.append)  # the connection appends run on
        size_before = os.path.getsize(path)
        for n in range(2, 2 * CHECKPOINT_EVERY + 2):
            store.append(entry(n))
        deadline = time.monotonic() + 10
        while os.path.getsize(path) == size_before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.getsize(path) > size_before, "no checkpoint copied the WAL into the database file"
        assert not [s for s in seen if "checkpoint" in s.lower()], "a request's connection ran the checkpoint"
        assert audit.verify(store).ok
    finally:
        store.dispose()


@pytest.mark.skipif(sys.platform != "linux", reason="a thread has a nice value of its own on Linux only")
def test_the_checkpoint_thread_yields_the_cpu_to_requests(tmp_path: Any) -> None:
    """Under load a checkpoint took turns on the CPU with the request holding the chain lock, which the
    other worker waits for: the thread runs at a lower priority than its worker, whose own is untouched."""
    import os
    import time

    from policy_service.decisionlog import connection

    store = DecisionStore(f"sqlite:///{tmp_path / 'log.db'}")
    store.prepare()
    worker_niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    try:
        for n in range(1, connection.CHECKPOINT_EVERY + 2):  # the hundredth commit wakes the thread
            store.append(entry(n))
        checkpointer = store._checkpointer
        assert checkpointer is not None
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert checkpointer.checkpoints >= 1 and checkpointer._thread is not None
        thread_niceness = os.getpriority(os.PRIO_PROCESS, checkpointer._thread.native_id)  # type: ignore[arg-type]
        assert thread_niceness == min(worker_niceness + connection.CHECKPOINTER_NICENESS, 19)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == worker_niceness
        assert audit.verify(store).ok
    finally:
        store.dispose()


@pytest.mark.parametrize("near_limit", [False, True])
def test_near_the_wals_limit_the_thread_checkpoints_every_few_commits(tmp_path: Any, monkeypatch: Any, near_limit: bool) -> None:
    """SQLite's own checkpoint, run in the COMMIT that fills the WAL, holds the chain lock while it
    copies what the thread has not: past half the limit the thread checkpoints every few commits so
    that COMMIT finds little left (it took 15-20 ms and set the p99 over HTTP)."""
    import time

    from policy_service.decisionlog import connection

    if near_limit:  # a WAL of any size is then past half its limit
        monkeypatch.setattr(connection, "NEAR_LIMIT_PAGES", 1)

    class Wakes(threading.Event):
        count = 0

        def set(self) -> None:
            self.count += 1
            super().set()

    store = DecisionStore(f"sqlite:///{tmp_path / 'log.db'}")
    store.prepare()
    try:
        checkpointer = store._checkpointer
        assert checkpointer is not None
        wakes = checkpointer._due = Wakes()  # before the first commit: the thread starts at the first wake
        for n in range(1, 2 * connection.CHECKPOINT_EVERY + 1):
            store.append(entry(n))
            deadline = time.monotonic() + 5  # each wake's checkpoint done before the next commit, as between requests
            while checkpointer.checkpoints < wakes.count and time.monotonic() < deadline:
                time.sleep(0.002)
        if near_limit:  # the first at commit 100, then one every 5 commits: 105, 110, ... 200
            assert checkpointer.checkpoints == 1 + connection.CHECKPOINT_EVERY // connection.CHECKPOINT_NEAR_LIMIT
        else:
            assert checkpointer.checkpoints == 2
        assert audit.verify(store).ok
    finally:
        store.dispose()
