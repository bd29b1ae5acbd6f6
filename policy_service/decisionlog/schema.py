"""The decision log's tables as the migrations create them (the migrations own the DDL; these describe it
for SQLAlchemy's queries)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()
_seq_type = BigInteger().with_variant(Integer(), "sqlite")
log_table = Table(
    "decision_log", metadata,
    Column("seq", _seq_type, primary_key=True, autoincrement=False),
    Column("id", String(40)), Column("kind", String(16)), Column("decision_id", String(40)),
    Column("created_at", DateTime(timezone=True)), Column("caller", String(200)),
    Column("agent_id", String(200)), Column("customer_id", String(200)), Column("outcome", String(16)),
    Column("action", String(100)), Column("policy", String(100)), Column("rules", Text),
    Column("policy_revision", String(80)), Column("request", Text), Column("response", Text),
    Column("masked", Text), Column("prev_hash", String(64)), Column("hash", String(64)),
)
# One row per fired rule, keyed (rule, seq): on SQLite in that key's one B-tree (WITHOUT ROWID, migration 0007).
rules_table = Table("decision_rules", metadata, Column("rule", String(200), primary_key=True),
                    Column("seq", _seq_type, primary_key=True), sqlite_with_rowid=False)
revisions_table = Table("policy_revisions", metadata, Column("revision", String(80), primary_key=True),
                        Column("stored_at", DateTime(timezone=True)), Column("files", Text))
ledger_table = Table("budget_ledger", metadata, Column("seq", _seq_type), Column("decision_id", String(40)),
                     Column("scope", String(16)), Column("subject", String(200)), Column("action", String(100)),
                     Column("reserved_at", DateTime(timezone=True)), Column("amount", BigInteger), Column("count", Integer))
approvals_table = Table("approval_requests", metadata, Column("decision_id", String(40), primary_key=True),
                        Column("seq", _seq_type), Column("to_tier", String(100)), Column("team", String(100)),
                        Column("action", String(100)), Column("amount", BigInteger), Column("created_at", DateTime(timezone=True)))
idempotency_table = Table("idempotency_keys", metadata, Column("caller", String(200)), Column("key", String(200)),
                          Column("body_hash", String(64)), Column("decision_id", String(40)),
                          Column("created_at", DateTime(timezone=True)))
reloads_table = Table("policy_reloads", metadata, Column("seq", _seq_type, primary_key=True, autoincrement=True),
                      Column("at", DateTime(timezone=True)), Column("source", String(16)), Column("caller", String(200)),
                      Column("ok", Boolean), Column("revision", String(80)), Column("diagnostics", Text))
shadow_table = Table("shadow_results", metadata, Column("decision_id", String(40)), Column("candidate_revision", String(80)),
                     Column("created_at", DateTime(timezone=True)), Column("live_outcome", String(16)),
                     Column("candidate_outcome", String(16)), Column("live_rules", Text), Column("candidate_rules", Text))
# One narrow row per chained entry with what insights aggregate (decisionlog/facts.py derives it from
# the entry's own response): a report over a million decisions reads this, never the JSON documents.
# A decision's row also holds its entry's outcome, action and policy columns exactly: the auditors'
# filters on those read these narrow rows (migration 0008), and `audit verify` holds them to the chain.
# Keyed (kind, decision_seq, seq): SQLite stores it in that order (WITHOUT ROWID), so reading one kind
# over a window is one sequential range.
facts_table = Table("decision_facts", metadata,
                    Column("kind", String(16), primary_key=True), Column("decision_seq", _seq_type, primary_key=True),
                    Column("seq", _seq_type, primary_key=True, autoincrement=False), Column("at_ms", BigInteger),
                    Column("action", String(100)), Column("tier", String(100)), Column("agent_id", String(200)),
                    Column("outcome", String(16)), Column("amount", BigInteger), Column("amount_action", String(100)),
                    Column("proposed", BigInteger), Column("agent_limit", BigInteger), Column("cap_room", BigInteger),
                    Column("rules", Text), Column("options", Integer), Column("approver_tier", String(100)),
                    Column("waited_s", BigInteger), Column("policy", String(100)), sqlite_with_rowid=False)
FACT_FILTERS = ("outcome", "action", "policy")  # the auditors' filters read from a decision's facts row
sign_outs_table = Table("console_sign_outs", metadata, Column("session_id", String(64), primary_key=True),
                        Column("signed_out_at", DateTime(timezone=True)))

APPEND_ONLY_TABLES = ("decision_log", "decision_rules", "policy_revisions", "budget_ledger", "approval_requests",
                      "idempotency_keys", "policy_reloads", "shadow_results", "console_sign_outs", "decision_facts")
