"""Rows derived from chained entries, written behind the chain: the rule index (`decision_rules`) and
insights' facts (`decision_facts`).

Both are functions of entries already in the chain (their `rules` column, their response), carry no
authority (nothing decides from them) and serve queries only: an auditor's "decisions that fired rule
X", the insights report. Written inside each decision's transaction, they were a third of its WAL
frames and a tenth of the time every other writer waited for the chain lock (issue 19). So a pass
derives, in seq order and in batches of BATCH entries per transaction, what follows the last
`derived_through` mark, and marks how far it got:

- every DERIVE_EVERY appends, a process runs a pass right after the append's commit, in the same
  thread (`DecisionStore.chain_transaction`): batched, its rows share pages and one COMMIT;
- every reader of either table runs one first (`DecisionStore.catch_up`), so a query never sees them
  behind the chain it reads, and a process killed before its follower ran loses nothing: the next
  pass derives its entries from the chain, which stays the truth.

`audit verify` holds the rule index against the chain through the newest mark.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select

from policy_service.decisionlog.facts import DecisionFact, entry_facts
from policy_service.decisionlog.schema import derived_table, log_table

if TYPE_CHECKING:
    from policy_service.decisionlog.database import DecisionStore
    from policy_service.decisionlog.statements import Compiled

BATCH = 64  # entries a pass derives at most, in one transaction
DERIVE_EVERY = 16  # appends by a process between its passes: ~2 ms under the lock, once in 16 requests
CHECKPOINT_EVERY = 200  # SQLite: appends by a process between WAL checkpoints (see Checkpointer)
log = logging.getLogger("policy_service.decisionlog")

_UNDERIVED_COLUMNS = ("seq", "kind", "decision_id", "created_at", "agent_id", "outcome", "action", "rules", "response")


def statements() -> dict[str, Any]:
    c = log_table.c
    return {
        "derived_through": select(func.coalesce(func.max(derived_table.c.seq), 0)),
        "underived": select(*(c[name] for name in _UNDERIVED_COLUMNS)).where(c.seq > bindparam("after"))
        .order_by(c.seq).limit(BATCH),
        "insert_through": insert(derived_table),
    }


def derive_behind(cursor: Any, sql: Any, now: datetime) -> int:
    """Derive up to BATCH entries after the newest mark, under the chain lock; returns how many.

    Entries in seq order, in one transaction: an event finds its decision's fact row even when both
    are in this batch."""
    from policy_service.decisionlog.statements import as_utc

    compiled: dict[str, Compiled] = {name: sql(name) for name in
                                     ("derived_through", "underived", "decision_fact", "insert_fact", "insert_rule", "insert_through")}
    through = int(compiled["derived_through"].run(cursor).fetchone()[0])
    rows = compiled["underived"].run(cursor, after=through).fetchall()
    for row in rows:
        entry = dict(zip(_UNDERIVED_COLUMNS, row, strict=True))
        decision = None
        if entry["kind"] != "decision":
            found = compiled["decision_fact"].run(cursor, decision_id=entry["decision_id"]).fetchone()
            decision = DecisionFact(*found) if found else None
        compiled["insert_fact"].run(cursor, **entry_facts(entry["seq"], entry["kind"], as_utc(entry["created_at"]), entry,
                                                          entry["response"], decision))
        fired = dict.fromkeys(json.loads(entry["rules"] or "[]"))
        compiled["insert_rule"].run_many(cursor, [{"rule": rule, "seq": entry["seq"]} for rule in fired])
    if rows:
        compiled["insert_through"].run(cursor, seq=rows[-1][0], at=now)
    return len(rows)


class Checkpointer:
    """SQLite: a daemon thread per store and process that checkpoints the WAL (PASSIVE) every
    CHECKPOINT_EVERY appends of its process. In a request it held that worker ~12 ms in fsync every
    100th decision (the p99); in a thread, sqlite3 releases the GIL while it copies and syncs, and a
    PASSIVE checkpoint takes no lock a writer waits for.

    Only checkpoints: deriving rows in a thread was measured and dropped. It holds the chain lock
    while it needs the GIL back after every statement, and a busy request thread keeps the GIL for
    up to the 5 ms switch interval, so passes of ~400 entries took 0.4-0.8 s and other workers
    waited up to 65 ms for the lock. Started by the first append in each process (a gunicorn worker
    forks without threads); ends with its store."""

    def __init__(self, store: DecisionStore) -> None:
        self._store = weakref.ref(store)
        self._pid: int | None = None
        self._due = threading.Event()
        self.stopped = False
        self._appends = 0

    def appended(self) -> None:
        self._appends += 1
        if self._appends < CHECKPOINT_EVERY:
            return
        self._appends = 0
        if self._pid != os.getpid():
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="decision-log-checkpoints", daemon=True).start()
        self._due.set()

    def stop(self) -> None:
        self.stopped = True
        self._due.set()

    def _run(self) -> None:
        pid = os.getpid()
        while not self.stopped and os.getpid() == pid:
            if not self._due.wait(timeout=1.0):  # idle: look again whether the store still exists
                if self._store() is None:
                    return
                continue
            self._due.clear()
            store = self._store()
            if store is None or self.stopped:
                return
            try:
                store.checkpoint()
            except Exception as exc:  # a missed checkpoint is retried next time; SQLite's own is the backstop
                log.warning("checkpointing the decision log failed, will retry: %s", exc)
            del store
