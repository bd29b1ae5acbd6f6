"""The decision log's storage. Everything outside this package goes through these names."""

from policy_service.deciding.budgets import LedgerRow, UsageQuestion  # what a decision asks; the log answers
from policy_service.decisionlog.database import DecisionStore, default_database_url
from policy_service.decisionlog.records import Appended, ApprovalRequest, LogFilter, NewEntry, StoreError
from policy_service.decisionlog.schema import APPEND_ONLY_TABLES, ledger_table, log_table, rules_table
from policy_service.decisionlog.transaction import ChainTransaction

__all__ = ["APPEND_ONLY_TABLES", "Appended", "ApprovalRequest", "ChainTransaction", "DecisionStore", "LedgerRow",
           "LogFilter", "NewEntry", "StoreError", "UsageQuestion", "default_database_url", "ledger_table", "log_table",
           "rules_table"]
