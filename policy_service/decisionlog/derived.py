"""Rows derived from chained entries, written behind the chain: the rule index (`decision_rules`) and
insights' facts (`decision_facts`).

Both are functions of entries already in the chain (their `rules` column, their response), carry no
authority (nothing decides from them) and serve queries only: an auditor's "decisions that fired rule
X", the insights report. Written inside each decision's transaction, they were a third of its WAL
frames and a tenth of the time every other writer waited for the chain lock (issue 19). So a pass
derives, in seq order and in batches of BATCH entries per transaction, what follows the last
`derived_through` mark, and marks how far it got:

- a follower thread in each process that appends runs a pass shortly after its appends (`Follower`);
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
import time
import weakref
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select

from policy_service.decisionlog.facts import DecisionFact, entry_facts
from policy_service.decisionlog.schema import derived_table, log_table

if TYPE_CHECKING:
    from policy_service.decisionlog.database import DecisionStore
    from policy_service.decisionlog.statements import Compiled

BATCH = 64  # entries per transaction: the chain lock is held ~5 ms at most, then writers go on
FOLLOW_SECONDS = 0.05  # a follower's pause between passes: derived rows trail appends by about this
CHECKPOINT_EVERY = 200  # SQLite: appends by this process between WAL checkpoints (see Follower)
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


class Follower:
    """A daemon thread per store and process that derives this process's appends behind the chain and,
    on SQLite, checkpoints the WAL: both off the request path, where they made every 100th request
    wait ~12 ms (the checkpoint's fsync) and lengthened the chain lock's holds.

    Started by the first append in each process (a gunicorn worker forks without threads); ends
    with its store. A failed pass is retried on the next: derived rows can always be rebuilt from the
    chain, and readers catch up themselves."""

    def __init__(self, store: DecisionStore) -> None:
        self._store = weakref.ref(store)
        self._pid: int | None = None
        self._wake = threading.Event()
        self.stopped = False
        self._since_checkpoint = 0

    def appended(self) -> None:
        self._since_checkpoint += 1
        if self._pid != os.getpid():
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="decision-log-follower", daemon=True).start()
        self._wake.set()

    def stop(self) -> None:
        self.stopped = True
        self._wake.set()

    def _run(self) -> None:
        pid = os.getpid()
        while not self.stopped and os.getpid() == pid:
            if not self._wake.wait(timeout=1.0):  # idle: look again whether the store still exists
                if self._store() is None:
                    return
                continue
            self._wake.clear()
            time.sleep(FOLLOW_SECONDS)  # collects the next few milliseconds' appends into one pass
            store = self._store()
            if store is None or self.stopped:
                return
            try:
                store.catch_up()
                if self._since_checkpoint >= CHECKPOINT_EVERY:
                    self._since_checkpoint = 0
                    store.checkpoint()
            except Exception as exc:  # never a decision's concern: the next pass, or a reader, catches up
                log.warning("deriving behind the chain failed, will retry: %s", exc)
            del store
