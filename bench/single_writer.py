"""Would one writer process beat two appending workers? A measurement, not a design (docs/performance.md,
"Sixth session on the bar").

    python bench/single_writer.py [--seconds 8] [--rounds 4] [--group-commit]

Loads, in alternating rounds under the same gunicorn settings as bench/http_api.py (2 sync workers, wrk,
8 connections), POST /v1/decisions as it is (each worker appends under the chain lock) and the same
service whose workers hand each body over a Unix socket to one writer process that validates, decides,
appends and commits it, so no page is read again after another writer's commit and nobody queues on a
lock. With --group-commit the writer puts every body waiting at once in one transaction and one COMMIT.
Prints each round's rate, p99 and server CPU a decision (the writer's CPU included), then medians.
The forwarding view skips the service's metrics and its idempotency and scope handling: it is only good
for measuring.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from http_api import BODY, ROOT, load, start

_FRAME = struct.Struct(">I")


def _receive(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _exchange(connection: socket.socket, payload: bytes) -> bytes:
    connection.sendall(_FRAME.pack(len(payload)) + payload)
    return _receive(connection, _FRAME.unpack(_receive(connection, _FRAME.size))[0])


def forwarding_app() -> Any:
    """The service, its POST /v1/decisions handing the body to the writer (gunicorn imports this)."""
    from flask import Response, request

    from policy_service import create_app

    app = create_app()
    original = app.view_functions["decisions.create_decision"]
    writer: list[socket.socket] = []

    @functools.wraps(original)  # keeps the marks the access check reads
    def forward() -> Response:
        if not writer:
            writer.append(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            writer[0].connect(os.environ["WRITER_SOCKET"])
        return Response(_exchange(writer[0], request.get_data(cache=False)), status=201, mimetype="application/json")

    app.view_functions["decisions.create_decision"] = forward
    return app


def run_writer(path: str, group_commit: bool) -> None:
    """Decide and append every body the workers send, one at a time or, grouped, all waiting at once."""
    from policy_service import create_app
    from policy_service.service.recording import decide_and_record

    state = create_app().extensions["policy_service"]
    store = state.store
    chain_transaction, open_transaction = store.chain_transaction, [None]

    @contextmanager
    def joined() -> Iterator[Any]:  # decide_and_record's own transaction becomes the group's
        yield open_transaction[0]

    if group_commit:
        store.chain_transaction = joined
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    while True:
        waiting: list[tuple[socket.socket, Any]] = []
        for key, _ in selector.select():
            if key.fileobj is server:
                selector.register(server.accept()[0], selectors.EVENT_READ)
                continue
            connection: socket.socket = key.fileobj  # type: ignore[assignment]
            try:
                raw = _receive(connection, _FRAME.unpack(_receive(connection, _FRAME.size))[0])
            except (EOFError, ConnectionError):
                selector.unregister(connection)
                connection.close()
                continue
            waiting.append((connection, json.loads(raw, parse_float=Decimal, parse_constant=Decimal)))
        if not waiting:
            continue

        def decide(body: Any) -> bytes:
            return decide_and_record(state.runtime, store, body, caller="dev", trusted_tier=True,
                                     privacy=state.privacy, shadow=state.shadow).text.encode()
        if group_commit:
            with chain_transaction() as transaction:
                open_transaction[0] = transaction
                answers = [(connection, decide(body)) for connection, body in waiting]
        else:
            answers = [(connection, decide(body)) for connection, body in waiting]
        for connection, answer in answers:
            connection.sendall(_FRAME.pack(len(answer)) + answer)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--group-commit", action="store_true")
    parser.add_argument("--writer", help=argparse.SUPPRESS)  # the writer process itself
    args = parser.parse_args()
    if args.writer:
        run_writer(args.writer, args.group_commit)
        return
    work = Path(tempfile.mkdtemp())
    script = work / "post.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(json.dumps(BODY))}\n")
    service = {"POLICY_SERVICE_POLICIES": str(ROOT / "policies"), "POLICY_SERVICE_DEV": "1", "PYTHONPATH": str(ROOT / "bench")}
    single = {**service, "POLICY_SERVICE_DATABASE_URL": f"sqlite:///{work / 'single.db'}", "WRITER_SOCKET": str(work / "writer.sock")}
    writer = subprocess.Popen([sys.executable, __file__, "--writer", single["WRITER_SOCKET"]]
                              + (["--group-commit"] if args.group_commit else []),
                              env={**os.environ, **single}, cwd=ROOT, stderr=(work / "writer.log").open("ab"))
    for _ in range(100):
        if Path(single["WRITER_SOCKET"]).exists():
            break
        time.sleep(0.1)
    servers = {
        "two appending workers": start("policy_service:create_app()", 18084, 2,
                                       {**service, "POLICY_SERVICE_DATABASE_URL": f"sqlite:///{work / 'two.db'}"}, ROOT, work),
        "one writer process" + (", group commit" if args.group_commit else ""):
            start("single_writer:forwarding_app()", 18085, 2, single, ROOT, work),
    }
    ports = dict(zip(servers, (18084, 18085), strict=True))
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        for name, process in servers.items():
            load(ports[name], 2, 8, script, process.pid)
        for round_ in range(args.rounds):
            for name in (list(servers) if round_ % 2 == 0 else list(servers)[::-1]):
                extra = _cpu_seconds(writer.pid) if name != "two appending workers" else 0.0
                result = load(ports[name], args.seconds, 8, script, servers[name].pid)
                if name != "two appending workers":  # the writer's CPU is the decision's too
                    result["cpu_us"] += (_cpu_seconds(writer.pid) - extra) / max(result["requests"], 1) * 1e6
                runs[name].append(result)
                print(f"{name:<36} {result['rate']:7.0f} req/s  p99 {result['p99']:>8}  "
                      f"{result['cpu_us']:5.0f} µs CPU  non-2xx {int(result['errors'])}", flush=True)
    finally:
        for process in servers.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        writer.terminate()
    for name, rounds in runs.items():
        middle = len(rounds) // 2
        print(f"median {name:<29} {sorted(r['rate'] for r in rounds)[middle]:7.0f} req/s  "
              f"{sorted(r['cpu_us'] for r in rounds)[middle]:5.0f} µs CPU")


if __name__ == "__main__":
    main()
