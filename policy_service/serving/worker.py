"""gunicorn's sync worker with a deadline for a client to send its request line and headers
(docs/contract.md §8: slow clients cannot starve the service).

A sync worker serves one connection at a time and reads its headers itself, with no time limit: four
clients sending headers a byte at a time held every worker until gunicorn's 30 s timeout killed them,
and /healthz waited 45 s. Here a connection has HEADER_SECONDS in all to deliver its headers (a
per-read socket timeout would not do: a trickle of one byte every 0.2 s satisfies any of them); then
the deadline is lifted.

It also tells gunicorn's arbiter that a long request is advancing: a sync worker reports itself alive
only between requests, so an export or a verify longer than the time-out (30 s by default, a log of
some 450,000 entries) was killed mid-stream. Each chunk of a streamed answer, and each beat a view
gives through `environ[ALIVE]`, counts as progress; a request that stops advancing is still killed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gunicorn.workers.sync import SyncWorker

from policy_service.web.operations import ALIVE

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


class _Beat:
    """The worker's `notify` (it touches a file), at most every `interval` seconds."""

    def __init__(self, notify: Callable[[], None], interval: float) -> None:
        self._notify, self._interval = notify, interval
        self._last = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._notify()


class _Advancing:
    """A WSGI answer whose every chunk is a beat; `close` is passed on, as WSGI requires."""

    def __init__(self, body: Iterable[bytes], beat: _Beat) -> None:
        self._body, self._beat = body, beat

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._beat()
            yield chunk

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


class HeaderBoundSyncWorker(SyncWorker):  # type: ignore[misc]
    def load_wsgi(self) -> None:
        super().load_wsgi()
        app: Any = self.wsgi  # type: ignore[has-type]  # set by load_wsgi; gunicorn is untyped
        beat = _Beat(self.notify, min(1.0, self.timeout / 4))  # well inside the time-out

        def advancing(environ: dict[str, Any], start_response: Any) -> _Advancing:
            environ[ALIVE] = beat
            return _Advancing(app(environ, start_response), beat)

        self.wsgi = advancing

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        super().handle(listener, _HeaderDeadline(client, HEADER_SECONDS), addr)

    def handle_request(self, listener: Any, req: Any, client: Any, addr: Any) -> Any:
        client.lift()  # headers are in: the body and the answer take the time they need
        return super().handle_request(listener, req, client, addr)
