"""Outages degrade, never kill (docs/contract.md §8): a worker boots and serves /healthz without the
database, decisions are 503s within 5 s, and everything recovers by itself when the database returns."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, make_app

from policy_service.decisionlog import DecisionStore


class Forwarder:
    """A TCP hop to PostgreSQL that can be switched off and on: the database going away and coming back."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target_port = target_port
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._server: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._talking = threading.Event()
        self._talking.set()

    def start(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def stop(self) -> None:
        """The database goes away: no new connections, and every open one is cut."""
        if self._server is not None:
            try:
                self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone would not
            except OSError:
                pass
            self._server.close()
            self._server = None
        for end in self._open:
            try:
                end.shutdown(socket.SHUT_RDWR)
                end.close()
            except OSError:
                pass
        self._open.clear()

    def silence(self) -> None:
        """The database goes silent (SIGSTOPped, a hung host): connections stay open, the kernel
        still acknowledges what is sent, and nothing ever comes back."""
        self._talking.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._talking.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _decided_without_hanging(client: Any) -> tuple[Any, float]:
    """POST a decision from a thread, so a hang fails the test after 10 s instead of stalling the suite."""
    answers: list[tuple[Any, float]] = []
    caller = threading.Thread(target=lambda: answers.append(_timed(lambda: client.post("/v1/decisions", json=BODY))),
                              daemon=True)
    caller.start()
    caller.join(timeout=10)
    assert answers, "the decision hung"
    return answers[0]


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:1/nothing", "sqlite:////proc/no-such-dir/log.db"])
def test_a_worker_boots_without_the_database_and_answers_503s_quickly(url: str, tmp_path: Path) -> None:
    """Before, create_app raised (the worker could not boot) and a decision was a 500 or a 30 s hang."""
    client = make_app(tmp_path, DATABASE_URL=url).test_client()
    assert client.get("/healthz").status_code == 200
    decided, seconds = _timed(lambda: client.post("/v1/decisions", json=BODY))
    assert decided.status_code == 503 and seconds < 5
    assert decided.mimetype == "application/problem+json"
    ready, seconds = _timed(lambda: client.get("/readyz"))
    assert ready.status_code == 503 and seconds < 5
    assert client.get("/v1/decisions").status_code == 503


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_decisions_recover_by_themselves_when_the_database_returns(database_url: str, tmp_path: Path) -> None:
    """Down at boot, up later, down again, up again: 503s while it is away, 201s as soon as it is back."""
    DecisionStore(database_url).prepare()  # the master migrates at `serve`; workers only use it
    hop = Forwarder()
    via_hop = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{hop.port}")
    client = make_app(tmp_path, DATABASE_URL=via_hop).test_client()
    assert client.post("/v1/decisions", json=BODY).status_code == 503
    hop.start()
    try:
        assert client.post("/v1/decisions", json=BODY).status_code == 201
        hop.stop()
        down, seconds = _timed(lambda: client.post("/v1/decisions", json=BODY))
        assert down.status_code == 503 and seconds < 5
        hop.start()
        assert client.post("/v1/decisions", json=BODY).status_code == 201
        assert client.get("/v1/audit/verify").get_json()["ok"] is True
    finally:
        hop.stop()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_held_chain_lock_is_a_503_within_seconds_not_a_hang(database_url: str, tmp_path: Path) -> None:
    """A stalled writer holding PostgreSQL's advisory lock (suspected in the review) bounds every
    other writer's wait: lock_timeout, then 503, and decisions resume when it lets go."""
    import sqlalchemy

    from policy_service.decisionlog.database import _PG_CHAIN_LOCK

    client = make_app(tmp_path, DATABASE_URL=database_url).test_client()
    holder = sqlalchemy.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with holder.connect() as connection:
        connection.execute(sqlalchemy.text(f"SELECT pg_advisory_lock({_PG_CHAIN_LOCK})"))
        blocked, seconds = _timed(lambda: client.post("/v1/decisions", json=BODY))
        assert blocked.status_code == 503 and seconds < 5
        connection.execute(sqlalchemy.text(f"SELECT pg_advisory_unlock({_PG_CHAIN_LOCK})"))
    holder.dispose()
    assert client.post("/v1/decisions", json=BODY).status_code == 201


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_silent_database_is_a_503_within_seconds_not_a_hang(database_url: str, tmp_path: Path) -> None:
    """A database that accepts and acknowledges but never answers (suspected in the review: a
    SIGSTOPped server) is beyond the reach of its own statement_timeout: the client bounds each wait."""
    DecisionStore(database_url).prepare()
    hop = Forwarder()
    hop.start()
    client = make_app(tmp_path, DATABASE_URL=database_url.replace("127.0.0.1:5432", f"127.0.0.1:{hop.port}")).test_client()
    try:
        assert client.post("/v1/decisions", json=BODY).status_code == 201  # a connection is open and pooled
        hop.silence()
        decided, seconds = _decided_without_hanging(client)
        assert decided.status_code == 503 and seconds < 5
    finally:
        hop.stop()


def test_a_stalled_sqlite_writer_is_a_503_within_seconds_not_a_hang(tmp_path: Path) -> None:
    """A writer that holds SQLite's chain lock and stalls (a stopped process on the same log) bounds
    every other writer's wait, as lock_timeout does on PostgreSQL; decisions resume when it lets go."""
    import fcntl

    url = f"sqlite:///{tmp_path / 'log.db'}"
    client = make_app(tmp_path, DATABASE_URL=url).test_client()
    assert client.post("/v1/decisions", json=BODY).status_code == 201
    with open(f"{tmp_path / 'log.db'}.chain-lock", "a") as stalled:
        fcntl.flock(stalled, fcntl.LOCK_EX)
        decided, seconds = _decided_without_hanging(client)
        assert decided.status_code == 503 and seconds < 5
        fcntl.flock(stalled, fcntl.LOCK_UN)
    assert client.post("/v1/decisions", json=BODY).status_code == 201


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_outage_plus_worker_restarts_leaves_the_service_running(database_url: str, tmp_path: Path) -> None:
    """The review's reproduction under gunicorn: the database goes away, workers are killed and
    replaced; before, replacements failed to boot and the master shut down for good."""
    import json
    import os
    import signal

    from servers import call, start_instance, wait_until_serving, worker_pids

    hop = Forwarder()
    hop.start()
    port, server = start_instance(database_url.replace("127.0.0.1:5432", f"127.0.0.1:{hop.port}"), tmp_path)
    try:
        wait_until_serving(port, server)
        assert call(port, "POST", "/v1/decisions", BODY)[0] == 201
        hop.stop()
        for pid in worker_pids(server.pid):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(worker_pids(server.pid)) < 2:
            time.sleep(0.2)
        time.sleep(1)
        assert server.poll() is None, "the master gave up"
        assert call(port, "GET", "/healthz")[0] == 200
        started = time.monotonic()
        assert call(port, "POST", "/v1/decisions", BODY)[0] == 503 and time.monotonic() - started < 5
        hop.start()
        deadline = time.monotonic() + 10
        status = 0
        while time.monotonic() < deadline and status != 201:
            status = call(port, "POST", "/v1/decisions", BODY)[0]
            time.sleep(0.2)
        assert status == 201
        assert json.loads(call(port, "GET", "/readyz")[2])["status"] == "ok"
    finally:
        hop.stop()
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_instance_with_a_skewed_clock_does_not_push_time_forward_for_all(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Suspected in the review: entry times never run backwards, so one instance a day ahead dated
    every later entry, from every instance, a day ahead (and budget windows with them). Instances on
    PostgreSQL take the time from the database's clock; SQLite's writers share one host's clock."""
    from datetime import datetime, timedelta, timezone

    import policy_service.service.recording as recording

    class DayAhead(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(days=1)

    DecisionStore(database_url).prepare()
    skewed = make_app(tmp_path / "a", DATABASE_URL=database_url).test_client()
    honest = make_app(tmp_path / "b", DATABASE_URL=database_url).test_client()
    monkeypatch.setattr(recording, "datetime", DayAhead)
    assert skewed.post("/v1/decisions", json=BODY).status_code == 201
    monkeypatch.undo()
    later = honest.post("/v1/decisions", json=BODY).get_json()
    stamped = datetime.fromisoformat(later["created_at"].replace("Z", "+00:00"))
    assert abs(stamped - datetime.now(timezone.utc)) < timedelta(minutes=1)
