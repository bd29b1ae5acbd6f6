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

from sqlalchemy import and_, case, exists, func, literal, select, tuple_
from sqlalchemy.engine import Connection

from policy_service.decisionlog.schema import facts_table
from policy_service.decisionlog.statements import first_seq_at_or_after


@dataclass(frozen=True)
class InsightRows:
    """Plain tuples, each ending in its count (and sums), for service.insights to read."""
    # (action, tier, agent_id, outcome, fired rules when a dead end (deny, no option) else None, decisions, amount summed)
    decisions: list[tuple[str, str | None, str | None, str, str | None, int, int]]
    # (action, tier, agent_id, verdict, whole seconds from escalation to verdict, escalations, amount summed)
    verdicts: list[tuple[str, str | None, str | None, str, int | None, int, int]]
    # (action, tier, agent_id, granted action, outcomes, amount summed): declined outcomes excluded
    granted: list[tuple[str, str | None, str | None, str | None, int, int]]
    # Decided escalations by what decides how they move with a new cell: (action, tier, proposed amount,
    # agent's limit, cap room, fired rules, verdict, approver tier, escalations, approved amount summed)
    decided: list[tuple[str, str | None, int | None, int | None, int | None, str | None, str, str | None, int, int]]
    # Escalations without a verdict: (action, tier, agent_id, proposed amount, agent's limit, cap room, fired rules, escalations)
    pending: list[tuple[str, str | None, str | None, int | None, int | None, int | None, str | None, int]]


class InsightQueries:
    _reading: Callable[[], AbstractContextManager[Connection]]

    def insight_rows(self, since: datetime | None) -> InsightRows:
        """One read of each kind of fact in the window (a range of the table's key), grouped in SQL."""
        f = facts_table.c
        first = _first(since)
        dead_rules = case((and_(f.outcome == "deny", f.options == 0), f.rules), else_=None)
        seconds = (f.waited_ms // 1000).label("seconds")  # integer division: whole seconds on both backends
        verdict = facts_table.alias("verdict")
        queries: dict[str, Any] = {
            "decisions": select(f.action, f.tier, f.agent_id, f.outcome, dead_rules, func.count(), _sum(f.amount))
            .where(f.kind == "decision", f.decision_seq >= first).group_by(f.action, f.tier, f.agent_id, f.outcome, dead_rules),
            "verdicts": select(f.action, f.tier, f.agent_id, f.outcome, seconds, func.count(), _sum(f.amount))
            .where(f.kind == "approval", f.decision_seq >= first).group_by(f.action, f.tier, f.agent_id, f.outcome, seconds),
            "granted": select(f.action, f.tier, f.agent_id, f.amount_action, func.count(), _sum(f.amount))
            .where(f.kind == "outcome", f.outcome == "granted", f.decision_seq >= first)
            .group_by(f.action, f.tier, f.agent_id, f.amount_action),
            "decided": select(*_case_key(f), f.outcome, f.approver_tier, func.count(), _sum(f.amount))
            .where(f.kind == "approval", f.decision_seq >= first).group_by(*_case_key(f), f.outcome, f.approver_tier),
            "pending": select(f.action, f.tier, f.agent_id, f.proposed, f.agent_limit, f.cap_room, f.rules, func.count())
            .where(f.kind == "decision", f.outcome == "escalate", f.decision_seq >= first,
                   ~exists().where(verdict.c.kind == "approval", verdict.c.decision_seq == f.seq))
            .group_by(f.action, f.tier, f.agent_id, f.proposed, f.agent_limit, f.cap_room, f.rules),
        }
        with self._reading() as connection:
            found = {name: [_plain(row) for row in connection.execute(query)] for name, query in queries.items()}
        return InsightRows(**found)

    def insight_waits(self, since: datetime | None, pairs: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
        """The decided escalations of these (action, tier) pairs as in InsightRows.decided (action, tier,
        proposed amount, agent's limit, cap room, fired rules), each with its whole seconds to verdict
        and count: each recommendation's median wait over exactly its cases, in one read."""
        if not pairs:
            return []
        f = facts_table.c
        seconds = (f.waited_ms // 1000).label("seconds")
        query = (select(*_case_key(f), seconds, func.count())
                 .where(f.kind == "approval", f.decision_seq >= _first(since), tuple_(f.action, f.tier).in_(pairs))
                 .group_by(*_case_key(f), seconds))
        with self._reading() as connection:
            return [_plain(row) for row in connection.execute(query)]


def _case_key(f: Any) -> tuple[Any, ...]:
    return f.action, f.tier, f.proposed, f.agent_limit, f.cap_room, f.rules


def _sum(column: Any) -> Any:
    return func.coalesce(func.sum(column), 0)


def _plain(row: Any) -> tuple[Any, ...]:
    """PostgreSQL sums BIGINTs as NUMERIC: back to int, as SQLite gives them."""
    return tuple(int(value) if isinstance(value, Decimal) else value for value in row)


def _first(since: datetime | None) -> Any:
    return first_seq_at_or_after(since) if since is not None else literal(0)
