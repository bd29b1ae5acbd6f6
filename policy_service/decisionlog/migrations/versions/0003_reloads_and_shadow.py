"""Policy reloads and shadow evaluations.

policy_reloads: every attempt to load the policy directory (at start, through the API, on SIGHUP or by
the file watcher), with its result. The newest successful row is the live revision: every worker of
every instance follows it, so all of them converge on one revision, and auditors see who changed the
policies when. A failed row keeps the positioned diagnostics, so any worker can show the error.

shadow_results: decisions on which a shadow candidate policy set would have answered differently.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("policy_reloads", "shadow_results")


def upgrade() -> None:
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "policy_reloads",
        sa.Column("seq", seq_type, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),  # start | api | sighup | watcher
        sa.Column("caller", sa.String(200)),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("revision", sa.String(80)),  # the set that went live (ok) or stayed live (failed)
        sa.Column("diagnostics", sa.Text, nullable=False),  # JSON list, positioned
    )
    op.create_table(
        "shadow_results",
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("candidate_revision", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("live_outcome", sa.String(16), nullable=False),
        sa.Column("candidate_outcome", sa.String(16), nullable=False),
        sa.Column("live_rules", sa.Text, nullable=False),
        sa.Column("candidate_rules", sa.Text, nullable=False),
    )
    op.create_index("ix_shadow_results_revision", "shadow_results", ["candidate_revision", "created_at"])
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
