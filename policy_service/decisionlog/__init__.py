"""The decision log: the only room that talks to the database (SQLAlchemy Core; SQLite or PostgreSQL).

Owns the append-only, hash-chained log and its side tables (database, transaction, statements,
schema, records, history, migrations), the console sessions signed out (sign_outs: outside the
chain, no authority), the chain's hashing and verification (chain), what auditors
ask of it (audit: filters, pages, exports, verify) and what of a request reaches it (privacy).
Everything outside goes through the names exported here (and chain, audit, privacy by name).

May import deciding (the budget records it stores), authoring (a revision's hash), model and errors;
never service, web or Flask.
"""

from policy_service.config import default_database_url
from policy_service.deciding.budgets import LedgerRow, UsageQuestion  # what a decision asks; the log answers
from policy_service.decisionlog.database import DecisionStore
from policy_service.decisionlog.records import Appended, ApprovalRequest, LogFilter, NewEntry, Rendered
from policy_service.decisionlog.schema import APPEND_ONLY_TABLES, ledger_table, log_table, rules_table
from policy_service.decisionlog.transaction import ChainTransaction, LedgerView

__all__ = ["APPEND_ONLY_TABLES", "Appended", "ApprovalRequest", "ChainTransaction", "DecisionStore", "LedgerRow",
           "LedgerView", "LogFilter", "NewEntry", "Rendered", "UsageQuestion", "default_database_url", "ledger_table", "log_table",
           "rules_table"]
