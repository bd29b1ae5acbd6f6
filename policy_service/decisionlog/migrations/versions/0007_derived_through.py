"""How far the rows derived from the chain reach: `derived_through`, one row per indexing pass.

The rule index (`decision_rules`) and insights' facts (`decision_facts`) are derived from chained
entries. They were written inside each decision's transaction, under the chain lock, where their
pages (a third of a decision's WAL frames) and their Python lengthened every writer's wait (issue 19).
They are now written behind the chain in batches (decisionlog/derived.py); a row here says "both
tables hold every entry through `seq`", so the next pass, and a reader catching up, start after it.

Append-only like the tables it describes. Seeded with the log's head: until now both tables were
written with each entry, so an existing log is complete through it.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "derived_through"


def upgrade() -> None:
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    marks = op.create_table(
        TABLE,
        sa.Column("seq", seq_type, primary_key=True, autoincrement=False),  # every entry through it is derived
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION policy_log_refuse_change()")
        op.execute(f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION policy_log_refuse_change()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} BEGIN "
                       f"SELECT RAISE(ABORT, 'the decision log is append-only: {verb} on {TABLE} refused'); END")
    head = op.get_bind().execute(sa.text("SELECT max(seq) FROM decision_log")).scalar()
    if head:
        op.bulk_insert(marks, [{"seq": int(head), "at": datetime.now(timezone.utc)}])


def downgrade() -> None:
    raise RuntimeError("the decision log is never downgraded: its entries are evidence")
