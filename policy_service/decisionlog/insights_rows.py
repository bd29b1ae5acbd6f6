"""The reads insights make of the log (docs/contract.md §10): aggregates over `decision_facts`, grouped
in SQL, so a report over a million decisions returns a few thousand rows and holds nothing else.

A window is the decisions appended since a time (a seq range, as every time filter is: time never
runs backwards along seq); an approval or outcome counts with its decision, whenever it came. Groups
keep the agent id so the service can fold agents into their kind (human, AI) from the directory.
A part of DecisionStore, kept apart so each file stays one subject.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.engine import Connection

from policy_service.decisionlog.schema import facts_table, log_table
from policy_service.decisionlog.statements import first_seq_at_or_after


@dataclass(frozen=True)
class InsightRows:
    """Plain tuples, each ending in its count (and sums), for service.insights to read."""
    # (action, tier, agent_id, outcome, decisions, amount summed, dead ends: deny with no option)
    decisions: list[tuple[str, str | None, str | None, str, int, int, int]]
    # (action, tier, agent_id, verdict, escalations, approved amount summed)
    verdicts: list[tuple[str, str | None, str | None, str, int, int]]
    # (action, tier, agent_id, whole seconds from escalation to verdict, escalations)
    waits: list[tuple[str, str | None, str | None, int, int]]
    # (action, tier, agent_id, escalations without a verdict)
    pending: list[tuple[str, str | None, str | None, int]]
    # (action, tier, agent_id, granted action, outcomes, amount summed): declined outcomes excluded
    granted: list[tuple[str, str | None, str | None, str | None, int, int]]
    # (action, the fired rules as logged (canonical JSON), dead ends)
    dead_ends: list[tuple[str, str, int]]
    # Every escalation by what decides how it moves with a new cell: (action, tier, proposed amount,
    # agent's limit, cap room, fired rules, verdict (None: pending), approver tier, escalations, approved summed)
    cases: list[tuple[str, str | None, int | None, int | None, int | None, str, str | None, str | None, int, int]]


class InsightQueries:
    _reading: Callable[[], AbstractContextManager[Connection]]

    def insight_rows(self, since: datetime | None) -> InsightRows:
        f = facts_table.c
        first = _first(since)
        v = facts_table.alias("verdict").c
        dead = and_(f.outcome == "deny", f.options == 0)
        queries: dict[str, Any] = {
            "decisions": select(f.action, f.tier, f.agent_id, f.outcome, func.count(),
                                func.coalesce(func.sum(f.amount), 0), func.coalesce(func.sum(case((dead, 1), else_=0)), 0))
            .where(f.kind == "decision", f.decision_seq >= first).group_by(f.action, f.tier, f.agent_id, f.outcome),
            "verdicts": select(f.action, f.tier, f.agent_id, f.outcome, func.count(), func.coalesce(func.sum(f.amount), 0))
            .where(f.kind == "approval", f.decision_seq >= first).group_by(f.action, f.tier, f.agent_id, f.outcome),
            "waits": _waits(first),
            "pending": select(f.action, f.tier, f.agent_id, func.count())
            .where(f.kind == "decision", f.outcome == "escalate", f.decision_seq >= first,
                   ~exists().where(v.kind == "approval", v.decision_seq == f.seq))
            .group_by(f.action, f.tier, f.agent_id),
            "granted": select(f.action, f.tier, f.agent_id, f.amount_action, func.count(), func.coalesce(func.sum(f.amount), 0))
            .where(f.kind == "outcome", f.outcome == "granted", f.decision_seq >= first)
            .group_by(f.action, f.tier, f.agent_id, f.amount_action),
            "dead_ends": select(f.action, log_table.c.rules, func.count()).join(log_table, log_table.c.seq == f.seq)
            .where(f.kind == "decision", dead, f.decision_seq >= first).group_by(f.action, log_table.c.rules),
            "cases": _cases(first),
        }
        with self._reading() as connection:
            found = {name: [_plain(row) for row in connection.execute(query)] for name, query in queries.items()}
        return InsightRows(**found)

    def insight_waits(self, since: datetime | None, action: str, tier: str) -> list[tuple[Any, ...]]:
        """The decided escalations of `action` by `tier` as in InsightRows.cases (amount, agent's limit,
        cap room, fired rules), each with its whole seconds to verdict and count: a recommendation's
        median wait over exactly its cases."""
        decision, verdict = facts_table.alias("decision"), facts_table.alias("verdict")
        d, v = decision.c, verdict.c
        seconds = _seconds(v, d)
        query = (select(d.amount, d.agent_limit, d.cap_room, log_table.c.rules, seconds, func.count())
                 .select_from(verdict).join(decision, d.seq == v.decision_seq).join(log_table, log_table.c.seq == d.seq)
                 .where(v.kind == "approval", v.decision_seq >= _first(since), v.action == action, v.tier == tier)
                 .group_by(d.amount, d.agent_limit, d.cap_room, log_table.c.rules, seconds))
        with self._reading() as connection:
            return [_plain(row) for row in connection.execute(query)]


def _plain(row: Any) -> tuple[Any, ...]:
    """PostgreSQL sums BIGINTs as NUMERIC: back to int, as SQLite gives them."""
    return tuple(int(value) if isinstance(value, Decimal) else value for value in row)


def _first(since: datetime | None) -> Any:
    return first_seq_at_or_after(since) if since is not None else literal(0)


def _seconds(verdict: Any, decision: Any) -> Any:
    # Integer division of milliseconds (waits are never negative): whole seconds on both backends.
    return ((verdict.at_ms - decision.at_ms) // 1000).label("seconds")


def _waits(first: Any) -> Any:
    decision, verdict = facts_table.alias("decision"), facts_table.alias("verdict")
    d, v = decision.c, verdict.c
    seconds = _seconds(v, d)
    return (select(v.action, v.tier, v.agent_id, seconds, func.count()).select_from(verdict)
            .join(decision, d.seq == v.decision_seq).where(v.kind == "approval", v.decision_seq >= first)
            .group_by(v.action, v.tier, v.agent_id, seconds))


def _cases(first: Any) -> Any:
    f, log = facts_table.c, log_table.c
    verdict = facts_table.alias("verdict")
    v = verdict.c
    return (select(f.action, f.tier, f.amount, f.agent_limit, f.cap_room, log.rules, v.outcome, v.approver_tier,
                   func.count(), func.coalesce(func.sum(v.amount), 0))
            .select_from(facts_table).join(log_table, log.seq == f.seq)
            .outerjoin(verdict, and_(v.kind == "approval", v.decision_seq == f.seq))
            .where(f.kind == "decision", f.outcome == "escalate", f.decision_seq >= first)
            .group_by(f.action, f.tier, f.amount, f.agent_limit, f.cap_room, log.rules, v.outcome, v.approver_tier))
