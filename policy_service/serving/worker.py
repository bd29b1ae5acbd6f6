"""gunicorn's sync worker with a deadline for a client to send its request line and headers
(docs/contract.md §8: slow clients cannot starve the service).

A sync worker serves one connection at a time and reads its headers itself, with no time limit: four
clients sending headers a byte at a time held every worker until gunicorn's 30 s timeout killed them,
and /healthz waited 45 s. Here a connection has HEADER_SECONDS in all to deliver its headers (a
per-read socket timeout would not do: a trickle of one byte every 0.2 s satisfies any of them); then
the deadline is lifted, so a slow reader of a long export is not cut (gunicorn's own timeout applies).
"""

from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.sync import SyncWorker

HEADER_SECONDS = 0.5  # agent tools send their headers in one packet; a trickle is an attack or a fault


class _HeaderDeadline:
    """The client socket, with reads bounded by one deadline until `lift`; everything else passes through."""

    def __init__(self, sock: Any, seconds: float) -> None:
        self._sock = sock
        self._deadline: float | None = time.monotonic() + seconds
        sock.settimeout(seconds)

    def recv(self, size: int, *flags: int) -> bytes:
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request headers took too long")
            self._sock.settimeout(remaining)
        return bytes(self._sock.recv(size, *flags))

    def lift(self) -> None:
        self._deadline = None
        self._sock.settimeout(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class HeaderBoundSyncWorker(SyncWorker):  # type: ignore[misc]
    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        super().handle(listener, _HeaderDeadline(client, HEADER_SECONDS), addr)

    def handle_request(self, listener: Any, req: Any, client: Any, addr: Any) -> Any:
        client.lift()  # headers are in: the body and the answer take the time they need
        return super().handle_request(listener, req, client, addr)
