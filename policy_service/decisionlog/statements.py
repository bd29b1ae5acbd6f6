"""Statements the raw writer runs, built and compiled once by SQLAlchemy, and small shared helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import DateTime, Integer, bindparam, func, insert, literal_column, select, union_all
from sqlalchemy.engine import Engine

from policy_service.decisionlog.facts import DECISION_FACT_COLUMNS
from policy_service.decisionlog.schema import (
    approvals_table,
    facts_table,
    idempotency_table,
    ledger_table,
    log_table,
    rules_table,
)

NO_SEQ = 2**62  # beyond any seq: "no entry at or after this time"


def first_seq_at_or_after(moment: datetime) -> Any:
    c = log_table.c
    first = select(c.seq).where(c.created_at >= moment).order_by(c.created_at, c.seq).limit(1).scalar_subquery()
    return func.coalesce(first, NO_SEQ)


def as_utc(value: datetime | str) -> datetime:
    """A stored time as the raw drivers return it: psycopg gives datetimes, sqlite3 naive UTC text."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


LISTED = ("seq", "caller", "customer_id", "masked", "hash", "response")
EXPORTED = ("seq", "id", "kind", "decision_id", "created_at", "caller", "agent_id", "customer_id", "outcome", "action",
            "policy", "rules", "policy_revision", "request", "response", "masked", "hash")
ENTRY_KINDS = ("decision", "approval", "outcome")


def statements() -> dict[str, Any]:
    """Every statement the chain transaction runs, as SQLAlchemy builds it (compiled once per store)."""
    log, ledger, approvals, keys = log_table.c, ledger_table.c, approvals_table.c, idempotency_table.c
    return {
        "idempotency": select(keys.body_hash, keys.decision_id).where(
            keys.caller == bindparam("caller"), keys.key == bindparam("key"),
            keys.created_at >= bindparam("since", type_=DateTime(timezone=True))).order_by(keys.created_at.desc()).limit(1),
        "entries": select(log.kind, log.response, log.request, log.agent_id, log.customer_id, log.created_at).where(log.decision_id == bindparam("decision_id")).order_by(log.seq),
        "reserved": select(ledger.scope, ledger.subject, ledger.action, func.sum(ledger.amount), func.sum(ledger.count))
        .where(ledger.decision_id == bindparam("decision_id")).group_by(ledger.scope, ledger.subject, ledger.action),
        "approval": select(approvals.decision_id, approvals.to_tier, approvals.team, approvals.action, approvals.amount,
                           approvals.created_at).where(approvals.decision_id == bindparam("decision_id")),
        # An event's fact repeats its decision's: one probe of the decision_id index, then the key.
        "decision_fact": select(*(facts_table.c[name] for name in DECISION_FACT_COLUMNS))
        .join(log_table, (facts_table.c.kind == "decision") & (facts_table.c.decision_seq == log.seq))
        .where(log.decision_id == bindparam("decision_id"), log.kind == "decision"),
        "insert_fact": insert(facts_table),
        "insert_log": insert(log_table), "insert_rule": insert(rules_table), "insert_ledger": insert(ledger_table),
        "insert_approval": insert(approvals_table), "insert_idempotency": insert(idempotency_table),
    }


def usage_statement(questions: int) -> Any:
    """One statement for `questions` usage questions: row i answers question i (scope_i, subject_i,
    action_i, since_i), each branch one probe of the ledger's (scope, subject, action, reserved_at) index.
    The question's number is written in the SQL, not bound: nothing to merge into each call's values."""
    ledger = ledger_table.c
    branches: list[Any] = [
        select(literal_column(str(i), Integer).label("question"), func.sum(ledger.amount), func.sum(ledger.count)).where(
            ledger.scope == bindparam(f"scope_{i}"), ledger.subject == bindparam(f"subject_{i}"),
            ledger.action == bindparam(f"action_{i}"),
            ledger.reserved_at >= bindparam(f"since_{i}", type_=DateTime(timezone=True)))
        for i in range(questions)
    ]
    return branches[0] if questions == 1 else union_all(*branches)


@functools.cache
def _usage_names(questions: int) -> tuple[str, ...]:
    return tuple(f"{part}_{i}" for i in range(questions) for part in ("scope", "subject", "action", "since"))


def usage_values(questions: Sequence[tuple[str, str, str, datetime]]) -> dict[str, Any]:
    """The values of usage_statement(len(questions)), by the names it gives them (UsageQuestion's order)."""
    return dict(zip(_usage_names(len(questions)), chain.from_iterable(questions), strict=True))


class Compiled:
    """A statement compiled once by SQLAlchemy (its SQL and its type conversions) for the raw writer."""

    def __init__(self, engine: Engine, statement: Any) -> None:
        if hasattr(statement, "table") and statement.is_insert:
            names = [c.name for c in statement.table.columns]
            compiled = statement.compile(dialect=engine.dialect, column_keys=names)
            types = {c.name: c.type for c in statement.table.columns}
        else:
            compiled = statement.compile(dialect=engine.dialect)
            types = {name: bind.type for name, bind in compiled.binds.items()}
        self.sql = str(compiled)
        positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        # The dialect's own type (SQLite's DATETIME, say), as SQLAlchemy's queries use: a generic type
        # has no processor, and sqlite3 would store "…+00:00" text that no range filter compares right.
        processors = {name: _quicker(kind.dialect_impl(engine.dialect).bind_processor(engine.dialect)) for name, kind in types.items()}
        self.literals = {name: bind.value for name, bind in compiled.binds.items() if bind.value is not None}  # LIMIT 1
        # Each parameter in the order the driver takes it; the few with a converter (a time's text, say)
        # are converted after one C-level pick of all of them: a decision binds ~50 parameters.
        order = tuple(positions or processors)
        self._names = order
        self._pick = _picker(order)
        self._converters: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, convert) for i, name in enumerate(order) if (convert := processors.get(name)) is not None)
        self._positional = positions is not None

    def parameters(self, row: dict[str, Any]) -> Any:
        picked = self._pick({**self.literals, **row} if self.literals else row)
        values = list(picked) if self._converters else picked
        for i, convert in self._converters:
            values[i] = convert(values[i])  # type: ignore[index]
        return tuple(values) if self._positional else dict(zip(self._names, values, strict=True))

    def run(self, cursor: Any, **row: Any) -> Any:
        cursor.execute(self.sql, self.parameters(row))
        return cursor

    def run_many(self, cursor: Any, rows: list[dict[str, Any]]) -> None:
        """One driver call for several rows (the rules a decision fired)."""
        if rows:
            cursor.executemany(self.sql, [self.parameters(row) for row in rows])


# Times the converters below must spell as SQLAlchemy's do: naive and UTC, before year 1000, on a whole second.
_SAMPLES = (datetime(2026, 12, 3, 18, 10, 37, 913706), datetime(2026, 12, 3, 18, 10, 37, 913706, tzinfo=timezone.utc),
            datetime(999, 1, 2, 3, 4, 5, 6), datetime(2026, 1, 1, tzinfo=timezone.utc))


def _quicker(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """SQLite's DATETIME converter writes "2026-12-03 18:10:37.913706" by %-formatting seven fields;
    datetime.isoformat writes the same text in C, a third of the time (a decision binds five times).
    Used only where it spells the samples exactly as the dialect's own does; anything but a datetime
    (a date, say) still goes to the dialect's."""
    if process is None:
        return None

    def iso(value: Any) -> Any:
        return value.isoformat(" ", "microseconds")[:26] if type(value) is datetime else process(value)

    try:
        same = all(iso(sample) == process(sample) for sample in _SAMPLES)
    except Exception:  # a converter for something else than times
        same = False
    return iso if same else process


def _picker(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The values of `names` in a row, as a tuple (itemgetter of one name gives the bare value)."""
    if len(names) > 1:
        return itemgetter(*names)
    return lambda row: tuple(row[name] for name in names)
