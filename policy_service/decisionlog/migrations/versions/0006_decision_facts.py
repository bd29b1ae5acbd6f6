"""Insights' narrow rows: one per chained entry (decisionlog/facts.py), backfilled for the log so far.

Insights (docs/contract.md §10) group decisions by action, tier, outcome and amount, and approvals by
verdict and wait. Read from the JSON answers that took ~10 µs of parsing per entry on either backend
(over 10 s at a million decisions); these rows make the report a scan of one narrow table.

Not part of the hash chain and carries no authority (nothing decides from it); append-only like the
log. Backfill reads the log in seq order in batches (decisions first, so each event finds its
decision's row), deriving each row exactly as the append does.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from alembic import op

from policy_service.decisionlog.facts import DECISION_FACT_COLUMNS, DecisionFact, entry_facts

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "decision_facts"
_BATCH = 5000


def upgrade() -> None:
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    facts = op.create_table(
        TABLE,
        # Keyed (kind, decision_seq, seq): every report reads one kind over a range of decisions (a
        # window is a seq range), and SQLite stores a WITHOUT ROWID table in key order, so that is a
        # sequential read; an event finds its decision's row by ("decision", seq).
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("decision_seq", seq_type, primary_key=True),  # its decision's seq (its own for a decision)
        sa.Column("seq", seq_type, primary_key=True, autoincrement=False),  # the entry's seq
        sa.Column("at_ms", sa.BigInteger, nullable=False),  # epoch ms: waits are a subtraction on both backends
        sa.Column("action", sa.String(100)),  # the decision's proposed action
        sa.Column("tier", sa.String(100)),  # the requesting agent's tier
        sa.Column("agent_id", sa.String(200)),  # the requesting agent
        sa.Column("outcome", sa.String(16)),
        sa.Column("amount", sa.BigInteger),  # proposed / approved / granted, in the unit's integer form
        sa.Column("amount_action", sa.String(100)),  # the action `amount` counts (an outcome may grant an option)
        sa.Column("proposed", sa.BigInteger),  # the decision's proposed amount, on every row
        sa.Column("agent_limit", sa.BigInteger),  # the decision's `limit`: what the agent could grant of it
        sa.Column("cap_room", sa.BigInteger),  # the least its caps still left: no new cell lifts it above that
        sa.Column("rules", sa.Text),  # the decision's fired rules, as the log keeps them
        sa.Column("options", sa.Integer),
        sa.Column("approver_tier", sa.String(100)),
        sa.Column("waited_s", sa.BigInteger),  # an approval: whole seconds since its decision
        sqlite_with_rowid=False,
    )
    # The report's groups in index order, covering what they sum: SQLite then streams each kind's
    # groups from this index instead of sorting a million rows (1.4 s -> 0.2 s at 1,000,000 decisions).
    op.create_index("ix_decision_facts_groups", TABLE,
                    ["kind", "action", "tier", "agent_id", "outcome", "waited_s", "amount_action", "amount", "options"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION policy_log_refuse_change()")
        op.execute(f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION policy_log_refuse_change()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} BEGIN "
                       f"SELECT RAISE(ABORT, 'the decision log is append-only: {verb} on {TABLE} refused'); END")
    _backfill(op.get_bind(), facts)


def _backfill(connection: Any, facts: sa.Table) -> None:
    log = sa.table("decision_log", *(sa.column(n) for n in (
        "seq", "kind", "decision_id", "created_at", "agent_id", "outcome", "action", "rules", "response")))
    decision = log.alias("decision")
    fact = facts.alias("fact")
    for events in (False, True):
        query = sa.select(log.c.seq, log.c.kind, log.c.created_at, log.c.agent_id, log.c.outcome, log.c.action,
                          log.c.rules, log.c.response,
                          *(fact.c[name].label(f"d_{name}") for name in DECISION_FACT_COLUMNS))
        if events:
            query = (query.select_from(log.outerjoin(decision, (decision.c.decision_id == log.c.decision_id)
                                                     & (decision.c.kind == "decision"))
                                       .outerjoin(fact, (fact.c.kind == "decision") & (fact.c.decision_seq == decision.c.seq)))
                     .where(log.c.kind != "decision"))
        else:
            query = query.select_from(log.outerjoin(fact, fact.c.seq == -1)).where(log.c.kind == "decision")
        last = 0
        while True:
            rows = connection.execute(query.where(log.c.seq > last).order_by(log.c.seq).limit(_BATCH)).all()
            if not rows:
                break
            # Only this revision's columns: later ones (0008's policy) are filled by their own migration.
            connection.execute(sa.insert(facts), [{k: v for k, v in _row(r).items() if k in facts.c} for r in rows])
            last = rows[-1].seq


def _row(r: Any) -> dict[str, Any]:
    moment = datetime.fromisoformat(r.created_at) if isinstance(r.created_at, str) else r.created_at
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
    found = r._mapping
    decision = (DecisionFact(**{name: found[f"d_{name}"] for name in DECISION_FACT_COLUMNS})
                if found["d_seq"] is not None else None)
    return entry_facts(int(r.seq), r.kind, moment, {"action": r.action, "agent_id": r.agent_id, "outcome": r.outcome,
                                                    "rules": r.rules}, r.response, decision)


def downgrade() -> None:
    raise RuntimeError("the decision log is never downgraded: its entries are evidence")
