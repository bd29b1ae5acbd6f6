"""Cap budgets, the approval queue and idempotency keys: indexes derived from chained entries.

The chain (decision_log) stays the evidence; these tables let a decision find, under the chain lock,
what it needs in one index probe: the budget a customer or agent has used in a window, the escalations
still waiting, and the answer an Idempotency-Key already got. They are append-only like the log.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("budget_ledger", "approval_requests", "idempotency_keys")


def upgrade() -> None:
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    # One row per reservation or adjustment: an allow or an approval reserves (+amount, +1); an
    # outcome corrects it to what was granted (or releases it: -amount, -1). reserved_at is the
    # decision's time, so a rolling window counts a grant from when it was decided.
    op.create_table(
        "budget_ledger",
        sa.Column("seq", seq_type, sa.ForeignKey("decision_log.seq"), nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),  # customer | agent
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_budget_ledger_subject", "budget_ledger", ["scope", "subject", "action", "reserved_at"])
    op.create_index("ix_budget_ledger_decision", "budget_ledger", ["decision_id"])
    op.create_table(
        "approval_requests",
        sa.Column("decision_id", sa.String(40), primary_key=True),
        sa.Column("seq", seq_type, sa.ForeignKey("decision_log.seq"), nullable=False),
        sa.Column("to_tier", sa.String(100), nullable=False),
        sa.Column("team", sa.String(100)),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_approval_requests_seq", "approval_requests", ["seq"])
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_lookup", "idempotency_keys", ["caller", "key", "created_at"])
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION policy_log_refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION policy_log_refuse_change()")
    else:
        for table in TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
                           f"SELECT RAISE(ABORT, 'the decision log is append-only: {verb} on {table} refused'); END")


def downgrade() -> None:
    raise RuntimeError("the decision log is never downgraded: its entries are evidence")
