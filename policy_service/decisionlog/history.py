"""What the log keeps beside the chain: every policy reload attempt, shadow disagreements, the approval
requests escalations opened (with their verdicts), and the reads a what-if replay needs. A part of
DecisionStore, kept apart so each file stays one subject."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime, timezone
from typing import Any, NamedTuple

from sqlalchemy import exists, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from policy_service.decisionlog.chain import timestamp_text
from policy_service.decisionlog.connection import audit_bounds
from policy_service.decisionlog.schema import (
    approvals_table,
    facts_table,
    ledger_table,
    log_table,
    reloads_table,
    rules_table,
    shadow_table,
)
from policy_service.decisionlog.statements import as_utc, first_seq_at_or_after
from policy_service.errors import StoreError


class AuditWalk(NamedTuple):
    """Streams in seq order: the chained entries (as `chained_entries` gives them), and (seq, rule),
    (seq, decision_id) of the budget ledger, (seq, decision_id) of the approval requests, and
    (seq, (kind, outcome, action, policy)) of the facts rows."""
    entries: Generator[dict[str, Any], None, None]
    rules: Generator[tuple[int, Any], None, None]
    ledger: Generator[tuple[int, Any], None, None]
    approvals: Generator[tuple[int, Any], None, None]
    facts: Generator[tuple[int, Any], None, None]


def chained_entries(connection: Connection) -> Generator[dict[str, Any], None, None]:
    """Every entry with what its hash covers (`created_at` as the hash spells it), in seq order."""
    with connection.execute(select(log_table).order_by(log_table.c.seq)) as result:  # closed if left unfinished
        for row in result:
            values = dict(row._mapping)
            values["created_at"] = timestamp_text(values["created_at"])
            yield values


class PolicyHistory:
    engine: Engine
    _reading: Callable[[], AbstractContextManager[Connection]]

    def record_reload(self, source: str, caller: str | None, ok: bool, revision: str | None,
                      diagnostics: list[dict[str, Any]]) -> int:
        """Append a reload attempt; the newest ok row names the live revision for every worker."""
        row = {"at": datetime.now(timezone.utc), "source": source, "caller": caller, "ok": ok, "revision": revision,
               "diagnostics": json.dumps(diagnostics, ensure_ascii=False)}
        try:
            with self.engine.begin() as connection:
                return int(connection.execute(insert(reloads_table).returning(reloads_table.c.seq), row).scalar_one())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record the policy reload: {exc.__class__.__name__}: {exc}") from exc

    @contextmanager
    def audit_walk(self) -> Iterator[AuditWalk]:
        """The chain and the rows derived from its entries, each streamed in seq order, all read in one
        snapshot: `audit verify` holds them side by side without keeping any in memory (a million
        decisions once took 522 MiB), and an entry appended meanwhile is in none of them, so a live log
        verifies (rows read before the chain once made a newer entry look unindexed)."""
        with self._reading() as connection, ExitStack() as bounds:
            if connection.dialect.name == "postgresql":  # one snapshot for every statement below
                connection.execution_options(isolation_level="REPEATABLE READ")
                bounds.enter_context(audit_bounds(connection))
            else:  # the driver begins a transaction only before a write; a read one holds the snapshot
                connection.exec_driver_sql("BEGIN")
            stream = connection.execution_options(yield_per=1000)

            def pairs(seq: Any, *values: Any) -> Generator[tuple[int, Any], None, None]:
                # The rule, ledger and facts tables have no index led by seq (one more B-tree for
                # every decision to write): the database sorts them, hence audit_bounds.
                with stream.execute(select(seq, *values).order_by(seq, *values)) as result:
                    for row in result:
                        yield int(row[0]), str(row[1]) if len(values) == 1 else tuple(row[1:])

            f = facts_table.c
            walk = AuditWalk(entries=chained_entries(stream), rules=pairs(rules_table.c.seq, rules_table.c.rule),
                             ledger=pairs(ledger_table.c.seq, ledger_table.c.decision_id),
                             approvals=pairs(approvals_table.c.seq, approvals_table.c.decision_id),
                             facts=pairs(f.seq, f.kind, f.outcome, f.action, f.policy))
            try:
                yield walk
            finally:  # a walk left unfinished (verify stops at the first problem) keeps no cursor open
                for stream_of_rows in walk:
                    stream_of_rows.close()

    def rule_recorded(self, rule: str) -> bool:
        """Whether any logged decision fired `rule` (policy/rule): one probe of the rule index."""
        with self._reading() as connection:
            return connection.execute(select(rules_table.c.seq).where(rules_table.c.rule == rule).limit(1)).first() is not None

    def last_reload_seq(self) -> int:
        """Cheap enough to ask twice a second per worker: one index probe."""
        with self._reading() as connection:
            return int(connection.execute(select(func.max(reloads_table.c.seq))).scalar() or 0)

    def latest_reloads(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(the newest attempt, the newest successful one)."""
        r = reloads_table.c
        with self._reading() as connection:
            latest = connection.execute(select(reloads_table).order_by(r.seq.desc()).limit(1)).first()
            good = latest if latest is not None and latest.ok else connection.execute(
                select(reloads_table).where(r.ok.is_(True)).order_by(r.seq.desc()).limit(1)).first()

        def as_dict(row: Any) -> dict[str, Any] | None:
            if row is None:
                return None
            return {**row._mapping, "at": as_utc(row.at), "diagnostics": json.loads(row.diagnostics)}
        return as_dict(latest), as_dict(good)

    def reload_history(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest `limit` reload attempts, newest first, each with its diagnostics (a refused one's errors)."""
        r = reloads_table.c
        with self._reading() as connection:
            rows = connection.execute(select(reloads_table).order_by(r.seq.desc()).limit(limit)).all()
        return [{**row._mapping, "at": as_utc(row.at), "diagnostics": json.loads(row.diagnostics)} for row in rows]

    def record_shadow(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(shadow_table), rows)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record shadow results: {exc.__class__.__name__}: {exc}") from exc

    def shadow_results(self, candidate_revision: str, since: datetime | None) -> list[dict[str, Any]]:
        c = shadow_table.c
        query = select(shadow_table).where(c.candidate_revision == candidate_revision).order_by(c.created_at)
        if since is not None:
            query = query.where(c.created_at >= since)
        with self._reading() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def pending_approvals(self, to_tier: str | None, team: str | None, limit: int) -> list[dict[str, Any]]:
        """Escalations that still await an approver, oldest first."""
        return self.approval_requests("pending", to_tier, team, limit)

    def approval_requests(self, status: str, to_tier: str | None, team: str | None, limit: int,
                          newest_first: bool = False) -> list[dict[str, Any]]:
        """Escalations oldest first (a history: newest first), by status (pending, approved, rejected or all), each with its
        verdict's entry when decided: `verdict` (approved|rejected), `approver_id`, `decided_at` and
        `verdict_response` (the approval event as its caller received it); None while pending.

        An escalation whose decision got an outcome before any verdict (the agent took an option it
        could give itself) awaits nothing: an approval is then refused, so it is in no status's list."""
        a, log = approvals_table.c, log_table.c
        events, closing = log_table.alias("events"), log_table.alias("closing")
        closed = exists().where(closing.c.decision_id == a.decision_id, closing.c.kind == "outcome")
        verdict = events.c.outcome
        query = (select(a.decision_id, a.to_tier, a.team, a.action, a.amount, a.created_at, log.agent_id, log.customer_id,
                        verdict.label("verdict"), events.c.agent_id.label("approver_id"),
                        events.c.created_at.label("decided_at"), events.c.response.label("verdict_response"))
                 .join(log_table, log.seq == a.seq)
                 .outerjoin(events, (events.c.decision_id == a.decision_id) & (events.c.kind == "approval"))
                 .order_by(a.seq.desc() if newest_first else a.seq).limit(limit))
        if status == "pending":
            query = query.where(events.c.seq.is_(None), ~closed)
        elif status == "all":
            query = query.where(events.c.seq.is_not(None) | ~closed)
        else:
            query = query.where(verdict == status)
        if to_tier is not None:
            query = query.where(a.to_tier == to_tier)
        if team is not None:
            query = query.where(a.team == team)
        with self._reading() as connection:
            return [{**row._mapping, "created_at": as_utc(row.created_at),
                     "decided_at": None if row.decided_at is None else as_utc(row.decided_at)}
                    for row in connection.execute(query)]

    # -- replay ---------------------------------------------------------------------------------------

    def replay_source(self, since: datetime | None) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
        """Decisions since `since` (seq order: seq, id, created_at, agent_id, customer_id, rules, request, response)
        and every ledger row up to the newest of them (seq, scope, subject, action, reserved_at, amount,
        count): enough to re-decide each one with the cap usage it saw."""
        c, lc = log_table.c, ledger_table.c
        decisions = select(c.seq, c.id, c.created_at, c.agent_id, c.customer_id, c.rules, c.request, c.response).where(
            c.kind == "decision").order_by(c.seq)
        if since is not None:
            decisions = decisions.where(c.seq >= first_seq_at_or_after(since))
        with self._reading() as connection:
            rows = [{**row._mapping, "created_at": as_utc(row.created_at)} for row in connection.execute(decisions)]
            if not rows:
                return [], []
            ledger = connection.execute(select(lc.seq, lc.scope, lc.subject, lc.action, lc.reserved_at, lc.amount, lc.count)
                                        .where(lc.seq < rows[-1]["seq"]).order_by(lc.seq)).all()
        return rows, [(r[0], r[1], r[2], r[3], as_utc(r[4]), int(r[5]), int(r[6])) for r in ledger]
