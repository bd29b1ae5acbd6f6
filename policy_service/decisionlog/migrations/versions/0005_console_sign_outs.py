"""Console sessions signed out ("Salir"), seen by every worker and instance on this database.

A console session is a signed cookie that carries a random session id; clearing the cookie on sign-out
left a copy of it valid for 8 hours. A sign-out now appends its session id here, and a console request
whose id is here is treated as signed out.

Not part of the hash chain and not evidence: a row carries no authority (it can only sign a session
out, and only one whose random id its writer already knows). It is append-only like the log, because
deleting a row would bring a signed-out session back. Rows need no pruning: an id is useless once its
session has been idle for 8 hours, so old rows are inert (about 100 bytes per sign-out).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "console_sign_outs"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("session_id", sa.String(64), primary_key=True),  # the lookup each console request makes
        sa.Column("signed_out_at", sa.DateTime(timezone=True), nullable=False),
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


def downgrade() -> None:
    raise RuntimeError("the decision log is never downgraded: its entries are evidence")
