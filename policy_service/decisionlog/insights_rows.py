"""The reads insights make of the log (docs/contract.md §10): aggregates over `decision_facts`, grouped
in SQL, so a report over a million decisions returns some tens of thousands of groups and holds nothing else.

A window is the decisions appended since a time (a seq range, as every time filter is: time never
runs backwards along seq); an approval or outcome counts with its decision, whenever it came. Groups
keep the agent id so the service can fold agents into their kind (human, AI) from the directory.
A part of DecisionStore, kept apart so each file stays one subject.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, and_, cast, exists, func, literal, literal_column, select, text
from sqlalchemy.engine import Connection

from policy_service.decisionlog.schema import facts_table, log_table
from policy_service.decisionlog.statements import first_seq_at_or_after


@dataclass(frozen=True)
class InsightRows:
    """Plain tuples, each ending in its count (and sums), for service.insights to read."""
    # (action, tier, agent_id, outcome, decisions, amount summed)
    decisions: list[tuple[str, str | None, str | None, str, int, int]]
    # (action, tier, agent_id, granted | declined, granted action, outcomes, amount summed)
    outcomes: list[tuple[str, str | None, str | None, str, str | None, int, int]]
    # (action, fired rules, answers with outcome deny and no option)
    dead_ends: list[tuple[str, str | None, int]]
    # (action, tier, agent_id, verdict, escalations, amount summed, whole seconds to each verdict as "60,125,…")
    verdicts: list[tuple[str, str | None, str | None, str, int, int, str | None]]
    # Decided escalations by what decides how they move with a new cell: (action, tier, proposed amount,
    # agent's limit, cap room, fired rules, verdict, approver tier, escalations, amount summed, waits as above)
    decided: list[tuple[Any, ...]]
    # Escalations without a verdict: (action, tier, agent_id, proposed amount, agent's limit, cap room, fired rules, escalations)
    pending: list[tuple[str, str | None, str | None, int | None, int | None, int | None, str | None, int]]


class InsightQueries:
    _reading: Callable[[], AbstractContextManager[Connection]]
    dialect: str

    def insight_rows(self, since: datetime | None) -> InsightRows:
        """One read of each kind of fact in the window (a range of the table's key), grouped in SQL.

        The six reads run on three connections at once (each backend sorts or hashes its groups in
        its own process or thread; SQLite releases the GIL while it works), all bounded by the log's
        head as it stood when the report began, so they describe the same log."""
        f = facts_table.c
        with self._reading() as connection:
            head = connection.execute(select(func.coalesce(func.max(log_table.c.seq), 0))).scalar_one()
            first = connection.execute(select(_first(since))).scalar_one()
        window = and_(f.decision_seq >= first, f.seq <= head)
        waits = (func.group_concat(f.waited_s) if self.dialect == "sqlite"
                 else func.string_agg(cast(f.waited_s, Text), literal_column("','")))
        case_key = (f.action, f.tier, f.proposed, f.agent_limit, f.cap_room, f.rules)
        verdict = facts_table.alias("verdict")
        # decisions, verdicts and outcomes group in the order of ix_decision_facts_groups (its columns
        # constrained or constant where a kind has none), so SQLite reads them sorted from that index.
        queries: dict[str, Any] = {
            "decisions": select(f.action, f.tier, f.agent_id, f.outcome, func.count(), _sum(f.amount))
            .where(f.kind == "decision", window).group_by(f.action, f.tier, f.agent_id, f.outcome),
            "outcomes": select(f.action, f.tier, f.agent_id, f.outcome, f.amount_action, func.count(), _sum(f.amount))
            .where(f.kind == "outcome", window).group_by(f.action, f.tier, f.agent_id, f.outcome, f.waited_s, f.amount_action),
            "dead_ends": select(f.action, f.rules, func.count())
            .where(f.kind == "decision", f.outcome == "deny", f.options == 0, window).group_by(f.action, f.rules),
            # Waits travel as one text per group ("60,125,…", parsed in C by the service) rather than a
            # group per second: nearly every verdict has its own wait, and a group each meant a quarter
            # of a million rows to sort, fetch and add up at a million decisions.
            "verdicts": select(f.action, f.tier, f.agent_id, f.outcome, func.count(), _sum(f.amount), waits)
            .where(f.kind == "approval", window).group_by(f.action, f.tier, f.agent_id, f.outcome),
            "decided": select(*case_key, f.outcome, f.approver_tier, func.count(), _sum(f.amount), waits)
            .where(f.kind == "approval", window).group_by(*case_key, f.outcome, f.approver_tier),
            "pending": select(f.action, f.tier, f.agent_id, f.proposed, f.agent_limit, f.cap_room, f.rules, func.count())
            .where(f.kind == "decision", f.outcome == "escalate", window,
                   ~exists().where(verdict.c.kind == "approval", verdict.c.decision_seq == f.seq, verdict.c.seq <= head))
            .group_by(f.action, f.tier, f.agent_id, f.proposed, f.agent_limit, f.cap_room, f.rules),
        }
        plain = _plain if self.dialect == "postgresql" else tuple

        def read(query: Any) -> list[tuple[Any, ...]]:
            with self._reading() as connection:
                if self.dialect == "postgresql":
                    # Memory to hash the groups rather than sort them on disk, and no JIT (compiling cost
                    # more than it saved on these plans). Each read stays under the store's 4 s statement
                    # bound (about 1 s at a million decisions); a log ten times larger needs windows.
                    connection.execute(text("SET LOCAL work_mem = '64MB'"))
                    connection.execute(text("SET LOCAL jit = off"))
                return [plain(row) for row in connection.execute(query)]

        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="insights") as pool:
            futures = {name: pool.submit(read, query) for name, query in queries.items()}
            return InsightRows(**{name: future.result() for name, future in futures.items()})


def _sum(column: Any) -> Any:
    return func.coalesce(func.sum(column), 0)


def _plain(row: Any) -> tuple[Any, ...]:
    """PostgreSQL sums BIGINTs as NUMERIC: back to int, as SQLite gives them (SQLite rows pass as they are)."""
    return tuple(int(value) if isinstance(value, Decimal) else value for value in row)


def _first(since: datetime | None) -> Any:
    return first_seq_at_or_after(since) if since is not None else literal(0)
