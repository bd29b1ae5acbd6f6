"""Real `policy-service serve` processes for the tests that need gunicorn itself (several workers,
signals, kills), and a small HTTP client for them."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from helpers import EXAMPLE_POLICIES


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited while starting"
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not become ready in 30 s")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def start_instance(database_url: str, tmp_path: Path, *options: str, policies: Path = EXAMPLE_POLICIES,
                   workers: int = 2, stderr: Any = subprocess.DEVNULL) -> tuple[int, subprocess.Popen[bytes]]:
    """A server on a free port; `--dev` unless `options` name a key file (`--keys FILE`)."""
    port = free_port()
    mode = [] if "--keys" in options else ["--dev"]
    server = subprocess.Popen(
        [sys.executable, "-c", "from policy_service.cli import main; main()", "serve", *mode, "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--policies", str(policies), "--database", database_url, *options],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr)
    return port, server


def call(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body) if body is not None else None
        connection.request(method, path, payload, {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_for_reload_error(port: int, seconds: float = 10) -> dict[str, Any]:
    """GET /v1/policies until it shows a refused reload (or `seconds` pass): what it shows last."""
    deadline, shown = time.monotonic() + seconds, {}
    while time.monotonic() < deadline and not shown.get("last_reload_error"):
        time.sleep(0.2)
        shown = json.loads(call(port, "GET", "/v1/policies")[2])
    return shown
