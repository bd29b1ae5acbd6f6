"""Console sessions signed out (docs/contract.md §9: "Salir" ends the session), for every worker and
instance on one decision log.

A console session is a signed cookie: clearing it on sign-out left any copy of it valid until its idle
expiry. So each session carries a random id, a sign-out appends that id to the log's database, and a
console request whose id is there is treated as signed out. The row carries no authority (it can only
end a session) and is not part of the hash chain.

Cost: one primary-key probe per console request that carries a session. A positive answer never
changes (the table is append-only), so it is cached in this process; a negative one is never cached,
so a sign-out in another worker or instance counts from the next request. A database that cannot be
reached raises StoreError: the console answers its 503 page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from policy_service.decisionlog import DecisionStore

__all__ = ["SignedOutSessions"]

REMEMBERED = 4096  # signed-out ids kept in memory per process (a replayed cookie then costs no probe)


class SignedOutSessions:
    """One per app: records sign-outs and answers whether a session id was signed out."""

    def __init__(self) -> None:
        self._known: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def sign_out(self, store: DecisionStore, session_id: str) -> None:
        store.record_sign_out(session_id)
        self._remember(session_id)

    def is_signed_out(self, store: DecisionStore, session_id: str) -> bool:
        with self._lock:
            if session_id in self._known:
                self._known.move_to_end(session_id)
                return True
        if not store.signed_out(session_id):
            return False
        self._remember(session_id)
        return True

    def _remember(self, session_id: str) -> None:
        with self._lock:
            self._known[session_id] = None
            self._known.move_to_end(session_id)
            while len(self._known) > REMEMBERED:
                self._known.popitem(last=False)
