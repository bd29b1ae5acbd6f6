"""Exports of any size complete, and so does verify (docs/contract.md §8): a request that makes
progress is never cut by gunicorn's worker time-out, which is for hung workers. Under the real
gunicorn config with a 1 s time-out and a log of 120,000 entries (a stand-in for a log of millions
read against the default 30 s)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator

import pytest
from helpers import log_entry
from servers import start_instance, wait_until_serving

from policy_service.decisionlog import DecisionStore

ENTRIES = 120_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("long")
    url = f"sqlite:///{folder / 'log.db'}"
    store = DecisionStore(url)
    store.prepare()
    with store.chain_transaction() as transaction:  # one transaction: 120,000 entries in seconds
        for n in range(1, ENTRIES + 1):
            transaction.append(log_entry(n))
    store.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLICY_SERVICE_TIMEOUT", "1")
        port, server = start_instance(url, folder, workers=1)
    try:
        wait_until_serving(port, server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _slow_get(port: int, path: str) -> tuple[int, bytes, float]:
    """GET `path` reading 64 KiB at a time with a pause: a spreadsheet user's download over a slow link."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    connection.request("GET", path)
    response = connection.getresponse()
    parts = []
    while chunk := response.read(65536):
        parts.append(chunk)  # not bytes +=: copying a growing 50 MB body would itself stall the reader
        time.sleep(0.005)
    connection.close()
    return response.status, b"".join(parts), time.monotonic() - started


@pytest.mark.slow
def test_a_long_export_read_slowly_completes(served: int) -> None:
    status, body, seconds = _slow_get(served, "/v1/decisions/export?format=jsonl")
    lines = body.decode().splitlines()
    assert status == 200 and seconds > 2  # it did outlast the time-out
    assert len(lines) == ENTRIES and json.loads(lines[-1])["seq"] == ENTRIES


@pytest.mark.slow
def test_verify_of_a_long_log_completes(served: int) -> None:
    status, body, seconds = _slow_get(served, "/v1/audit/verify")
    assert status == 200, body[-300:]
    assert seconds > 1.5
    assert json.loads(body) | {"ok": True, "entries": ENTRIES} == json.loads(body)
