"""The auditors' outcome, action and policy filters read the narrow facts rows, not three log indexes.

Each of `ix_decision_log_{outcome,action,policy}_seq` took an insert in the middle of its B-tree for
every entry (a value's newest rows sit at the end of its range, inside the tree), and with two
writer processes each such B-tree is read again and written whole into the WAL at every commit: the
three were 2 % of a decision's instructions and 11 % of its system calls, up to 8 % of the decisions a
second over HTTP (docs/performance.md, "Ninth session on the bar"). Those columns have a handful of values, so an index on one of them saves little over reading
the decisions newest first and keeping the matching ones, provided the rows read are narrow: a
decision's `decision_facts` row (~60 bytes, in seq order within its kind) rather than its 2 KB log
entry. So a decision's facts row now holds its entry's outcome, action and policy exactly (the
column `policy` is new; outcome and action are copied again from the entry, which the answers
repeated), the filters read them there (DecisionStore._decisions), and `audit verify` holds them to
the chain like the rule index. The agent, customer, decision and time indexes stay: their values are
many and each one's rows few.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "decision_facts"
DROPPED = ("outcome", "action", "policy")


def upgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    for column in DROPPED:
        op.drop_index(f"ix_decision_log_{column}_seq", table_name="decision_log")
    op.add_column(TABLE, sa.Column("policy", sa.String(100)))
    # The append-only guard refuses UPDATE: lifted for this one statement, in this transaction.
    if postgresql:
        op.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TABLE}_append_only")
    else:
        op.execute(f"DROP TRIGGER {TABLE}_no_update")
    # Every row takes its entry's policy; a decision's row its entry's outcome and action as well.
    entry = "(SELECT decision_log.{column} FROM decision_log WHERE decision_log.seq = decision_facts.seq)"
    op.execute(f"UPDATE {TABLE} SET policy = {entry.format(column='policy')}")
    op.execute(f"UPDATE {TABLE} SET outcome = {entry.format(column='outcome')}, action = {entry.format(column='action')} "
               "WHERE kind = 'decision'")
    if postgresql:
        op.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TABLE}_append_only")
    else:  # as migration 0006 guards it
        op.execute(f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} BEGIN "
                   f"SELECT RAISE(ABORT, 'the decision log is append-only: UPDATE on {TABLE} refused'); END")


def downgrade() -> None:
    raise RuntimeError("the decision log is never downgraded: its entries are evidence")
