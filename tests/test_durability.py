"""Under load, with a gunicorn worker killed by SIGKILL, every decision a client received stays in the
log and the chain still verifies (docs/contract.md §5: durable before it is answered). On both backends, against the real server."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from helpers import BODY
from servers import start_instance, wait_until_serving, worker_pids

from policy_service.decisionlog import DecisionStore, audit

pytestmark = pytest.mark.slow


def test_a_killed_worker_loses_no_decision_a_client_received(database_url: str, tmp_path: Path) -> None:
    """Two service instances of two workers each write to one log; one worker is killed mid-load."""
    (port, server), (other_port, other) = start_instance(database_url, tmp_path), start_instance(database_url, tmp_path)
    received: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def client(port: int) -> None:
        body = json.dumps(BODY)
        while not stop.is_set():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("POST", "/v1/decisions", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                if response.status == 201:
                    received.append(json.loads(payload)["decision_id"])
                else:
                    failures.append(f"{response.status}")
            except (OSError, http.client.HTTPException) as exc:  # the killed worker's in-flight request
                failures.append(type(exc).__name__)

    try:
        wait_until_serving(port, server)
        wait_until_serving(other_port, other)
        clients = [threading.Thread(target=client, args=(p,)) for p in (port, other_port) * 3]
        for thread in clients:
            thread.start()
        time.sleep(1.5)
        killed = worker_pids(server.pid)[0]
        os.kill(killed, signal.SIGKILL)
        time.sleep(2.0)
        stop.set()
        for thread in clients:
            thread.join(30)
    finally:
        for instance in (server, other):
            instance.send_signal(signal.SIGTERM)
            instance.wait(30)

    assert len(received) > 50, "the load did not get going"
    # A client whose request was on the killed worker sees its connection end, in one of these ways;
    # nothing else may fail, and an HTTP answer other than 201 may only be the log's 503.
    cut_off = ("RemoteDisconnected", "ConnectionResetError", "BadStatusLine", "IncompleteRead", "BrokenPipeError")
    assert all(failure in (*cut_off, "503") for failure in failures), (failures, len(received))
    store = DecisionStore(database_url)
    missing = [decision_id for decision_id in received if store.get(decision_id) is None]
    assert missing == []
    report = audit.verify(store)
    assert report.ok, report.problem
    assert report.entries >= len(received)
    store.dispose()
