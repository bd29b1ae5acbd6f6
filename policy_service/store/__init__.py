"""The decision log's storage. Everything outside this package goes through these names."""

from .database import DecisionStore, default_database_url
from .records import Appended, ApprovalRequest, LedgerRow, LogFilter, NewEntry, StoreError, UsageQuestion
from .schema import APPEND_ONLY_TABLES, ledger_table, log_table, rules_table
from .transaction import ChainTransaction

__all__ = ["APPEND_ONLY_TABLES", "Appended", "ApprovalRequest", "ChainTransaction", "DecisionStore", "LedgerRow",
           "LogFilter", "NewEntry", "StoreError", "UsageQuestion", "default_database_url", "ledger_table", "log_table",
           "rules_table"]
