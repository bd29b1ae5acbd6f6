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
    # (action, tier, agent_id, proposed amount, agent's limit, verdict, approver tier, escalations, approved amount summed)
    verdicts: list[tuple[str, str | None, str | None, int | None, int | None, str, str | None, int, int]]
    # (action, tier, agent_id, whole seconds from escalation to verdict, escalations)
    waits: list[tuple[str, str | None, str | None, int, int]]
    # (action, tier, agent_id, proposed amount, agent's limit, escalations) without a verdict
    pending: list[tuple[str, str | None, str | None, int | None, int | None, int]]
    # (action, tier, agent_id, granted action, outcomes, amount summed): declined outcomes excluded
    granted: list[tuple[str, str | None, str | None, str | None, int, int]]
    # (action, the fired rules as logged (canonical JSON), dead ends)
    dead_ends: list[tuple[str, str, int]]


class InsightQueries:
    _reading: Callable[[], AbstractContextManager[Connection]]

    def insight_rows(self, since: datetime | None) -> InsightRows:
        f = facts_table.c
        first = first_seq_at_or_after(since) if since is not None else literal(0)
        decision, verdict = facts_table.alias("decision"), facts_table.alias("verdict")
        d, v = decision.c, verdict.c
        dead = and_(f.outcome == "deny", f.options == 0)
        queries: dict[str, Any] = {
            "decisions": select(f.action, f.tier, f.agent_id, f.outcome, func.count(),
                                func.coalesce(func.sum(f.amount), 0),
                                func.coalesce(func.sum(case((dead, 1), else_=0)), 0))
            .where(f.kind == "decision", f.decision_seq >= first).group_by(f.action, f.tier, f.agent_id, f.outcome),
            "verdicts": select(v.action, v.tier, v.agent_id, d.amount, d.agent_limit, v.outcome, v.approver_tier,
                               func.count(), func.coalesce(func.sum(v.amount), 0))
            .join(decision, d.seq == v.decision_seq)
            .where(v.kind == "approval", v.decision_seq >= first)
            .group_by(v.action, v.tier, v.agent_id, d.amount, d.agent_limit, v.outcome, v.approver_tier),
            "waits": self._waits(first, None),
            "pending": select(f.action, f.tier, f.agent_id, f.amount, f.agent_limit, func.count())
            .where(f.kind == "decision", f.outcome == "escalate", f.decision_seq >= first,
                   ~exists().where(v.kind == "approval", v.decision_seq == f.seq))
            .group_by(f.action, f.tier, f.agent_id, f.amount, f.agent_limit),
            "granted": select(f.action, f.tier, f.agent_id, f.amount_action, func.count(),
                              func.coalesce(func.sum(f.amount), 0))
            .where(f.kind == "outcome", f.outcome == "granted", f.decision_seq >= first)
            .group_by(f.action, f.tier, f.agent_id, f.amount_action),
            "dead_ends": select(f.action, log_table.c.rules, func.count()).join(log_table, log_table.c.seq == f.seq)
            .where(f.kind == "decision", dead, f.decision_seq >= first).group_by(f.action, log_table.c.rules),
        }
        with self._reading() as connection:
            found = {name: [tuple(row) for row in connection.execute(query)] for name, query in queries.items()}
        return InsightRows(**found)

    def insight_waits(self, since: datetime | None, action: str, tier: str, up_to: int, agent_limit: int) -> list[tuple[int, int]]:
        """(whole seconds to verdict, escalations) of the decided escalations of `action` by `tier`
        proposing at most `up_to` when the agent's limit was `agent_limit`: a recommendation's cases."""
        first = first_seq_at_or_after(since) if since is not None else literal(0)
        decision = facts_table.alias("decision")
        query = self._waits(first, (decision, action, tier, up_to, agent_limit))
        with self._reading() as connection:
            return [(int(row[3]), int(row[4])) for row in connection.execute(query)]

    @staticmethod
    def _waits(first: Any, cases: tuple[Any, str, str, int, int] | None) -> Any:
        decision = cases[0] if cases else facts_table.alias("decision")
        verdict = facts_table.alias("verdict")
        d, v = decision.c, verdict.c
        # Integer division of milliseconds (waits are never negative): whole seconds on both backends.
        seconds = ((v.at_ms - d.at_ms) // 1000).label("seconds")
        query = (select(v.action, v.tier, v.agent_id, seconds, func.count()).join(decision, d.seq == v.decision_seq)
                 .where(v.kind == "approval", v.decision_seq >= first))
        if cases is not None:
            _, action, tier, up_to, agent_limit = cases
            query = query.where(v.action == action, v.tier == tier, d.amount <= up_to, d.agent_limit == agent_limit)
        return query.group_by(v.action, v.tier, v.agent_id, seconds)
