"""Budget rows checked by the storage: each belongs to an entry of its decision, and no decision's
holding for a customer or agent goes below zero.

Without it an INSERT-only role could add a ledger row of -100000 and reset a customer's cap (three
more refunds allowed, seen in a review). Releases and corrections stay possible: they only bring a
decision's own holding down, never below what it reserved.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_HOLDING = ("FROM budget_ledger WHERE decision_id = NEW.decision_id AND scope = NEW.scope "
            "AND subject = NEW.subject AND action = NEW.action")
_OWN_ENTRY = "SELECT 1 FROM decision_log WHERE seq = NEW.seq AND decision_id = NEW.decision_id"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION policy_ledger_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NOT EXISTS ({_OWN_ENTRY}) THEN "
            "RAISE EXCEPTION 'budget row refused: no entry % of decision %', NEW.seq, NEW.decision_id; END IF; "
            f"IF (SELECT COALESCE(SUM(amount), 0) {_HOLDING}) + NEW.amount < 0 "
            f"OR (SELECT COALESCE(SUM(count), 0) {_HOLDING}) + NEW.count < 0 THEN "
            "RAISE EXCEPTION 'budget row refused: decision % would hold less than nothing', NEW.decision_id; END IF; "
            "RETURN NEW; END $$")
        op.execute("CREATE TRIGGER budget_ledger_checked BEFORE INSERT ON budget_ledger "
                   "FOR EACH ROW EXECUTE FUNCTION policy_ledger_check()")
    else:
        op.execute(
            "CREATE TRIGGER budget_ledger_checked BEFORE INSERT ON budget_ledger BEGIN "
            f"SELECT RAISE(ABORT, 'budget row refused: no entry of its decision') WHERE NOT EXISTS ({_OWN_ENTRY}); "
            f"SELECT RAISE(ABORT, 'budget row refused: the decision would hold less than nothing') "
            f"WHERE (SELECT COALESCE(SUM(amount), 0) {_HOLDING}) + NEW.amount < 0 "
            f"OR (SELECT COALESCE(SUM(count), 0) {_HOLDING}) + NEW.count < 0; END")


def downgrade() -> None:
    raise RuntimeError("the decision log is never downgraded: its entries are evidence")
