"""Slow clients cannot starve the service (docs/contract.md §8): four connections sending headers a
byte at a time do not delay /healthz or decisions beyond 1 s, under the real gunicorn config."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from helpers import BODY
from servers import call, start_instance, wait_until_serving


def _trickle(port: int, stop: threading.Event) -> None:
    """A slowloris: reconnects and sends a request line and headers one byte every 0.2 s, forever."""
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                for byte in request:
                    if stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)
        except OSError:
            time.sleep(0.05)


@pytest.mark.slow
def test_four_slow_header_senders_do_not_starve_health_or_decisions(tmp_path: Path) -> None:
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path)
    stop = threading.Event()
    try:
        wait_until_serving(port, server)
        slow = [threading.Thread(target=_trickle, args=(port, stop), daemon=True) for _ in range(4)]
        for thread in slow:
            thread.start()
        time.sleep(1.5)  # every worker has met a slow client by now
        worst = 0.0
        for _ in range(10):
            for method, path, body in (("GET", "/healthz", None), ("POST", "/v1/decisions", BODY)):
                started = time.monotonic()
                status = call(port, method, path, body, timeout=10)[0]
                worst = max(worst, time.monotonic() - started)
                assert status in (200, 201)
            time.sleep(0.1)
        assert worst < 1.0, f"a request waited {worst:.2f} s behind slow clients"
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
