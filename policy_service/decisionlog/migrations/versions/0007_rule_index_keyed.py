"""SQLite: the rule index stored as one B-tree keyed (rule, seq) instead of two.

`decision_rules` was a rowid table with its primary key (rule, seq) in a second B-tree, so each fired
rule was written twice: the row, appended by rowid, and the key, inserted inside the tree. Declared
WITHOUT ROWID, SQLite stores the row in its key's B-tree and nothing else: same columns, same key,
same guards, half the B-tree inserts of every decision's rules. Over HTTP (bench/http_api.py's
settings, the tree before and after alternating, 8 rounds of 8 s, 2026-12-03): +2.5 % decisions/s,
-2 % CPU a decision (docs/performance.md, "Seventh session on the bar").

The rows are copied in key order into the new table, which then takes the old one's name and its
append-only triggers (a DROP TABLE fires no trigger and no row is lost: the copy is in the same
transaction). Migrations run with foreign keys off on SQLite (migrating.LogSchema._migrate, as SQLite's
table-rebuild procedure says), so a tampered log's rule row of no entry is copied for `audit verify`
to name rather than stopping the upgrade. PostgreSQL keeps every table as a heap beside its
indexes, so it has nothing to gain and is left as it is.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "decision_rules"


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    op.execute(f"CREATE TABLE {TABLE}_keyed (rule VARCHAR(200) NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (rule, seq), "
               "FOREIGN KEY(seq) REFERENCES decision_log (seq)) WITHOUT ROWID")
    op.execute(f"INSERT INTO {TABLE}_keyed (rule, seq) SELECT rule, seq FROM {TABLE} ORDER BY rule, seq")
    op.execute(f"DROP TABLE {TABLE}")
    op.execute(f"ALTER TABLE {TABLE}_keyed RENAME TO {TABLE}")
    for verb in ("UPDATE", "DELETE"):  # as migration 0001 guards it
        op.execute(f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} BEGIN "
                   f"SELECT RAISE(ABORT, 'the decision log is append-only: {verb} on {TABLE} refused'); END")


def downgrade() -> None:
    raise RuntimeError("the decision log is never downgraded: its entries are evidence")
