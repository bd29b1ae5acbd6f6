"""The decision log, its rule index and stored policy revisions, append-only on both backends.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("decision_log", "decision_rules", "policy_revisions")


def upgrade() -> None:
    # seq is assigned by the writer under the chain lock (gapless), never by a sequence: a rolled-back
    # sequence value would leave a hole that verification could not tell from a deleted entry.
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY: SQLite's rowid
    op.create_table(
        "decision_log",
        sa.Column("seq", seq_type, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller", sa.String(200)),
        sa.Column("agent_id", sa.String(200)),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("action", sa.String(100)),
        sa.Column("policy", sa.String(100)),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("policy_revision", sa.String(80), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("masked", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # Auditor filters page newest first: each index ends in seq so "filter, seq < cursor, ORDER BY seq
    # DESC LIMIT n" is one backward index range scan.
    for column in ("decision_id", "agent_id", "customer_id", "outcome", "action", "policy"):
        op.create_index(f"ix_decision_log_{column}_seq", "decision_log", [column, "seq"])
    # created_at never decreases along seq (the writer settles it under the chain lock), so the first
    # seq at or after a time is one probe of this index: time filters become seq ranges.
    op.create_index("ix_decision_log_created_at_seq", "decision_log", ["created_at", "seq"])
    op.create_table(
        "decision_rules",
        sa.Column("rule", sa.String(200), primary_key=True),
        sa.Column("seq", seq_type, sa.ForeignKey("decision_log.seq"), primary_key=True),
    )
    op.create_table(
        "policy_revisions",
        sa.Column("revision", sa.String(80), primary_key=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("files", sa.Text, nullable=False),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION policy_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'the decision log is append-only: % on % refused', TG_OP, TG_TABLE_NAME; END $$")
        for table in APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION policy_log_refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION policy_log_refuse_change()")
    else:
        for table in APPEND_ONLY_TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
                           f"SELECT RAISE(ABORT, 'the decision log is append-only: {verb} on {table} refused'); END")


def downgrade() -> None:
    raise RuntimeError("the decision log is never downgraded: its entries are evidence")
