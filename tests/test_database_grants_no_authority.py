"""The database is not trusted with authority (docs/contract.md §8): rows someone inserts into the log
cannot change what a worker enforces."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy
from helpers import BODY, make_app, raise_refund_limit, small_refund

from policy_service.authoring.loader import load_policy_set
from policy_service.service.reloading import SYNC_SECONDS


def test_an_inserted_revision_and_reload_row_are_not_followed(policies_copy: Path, tmp_path: Path) -> None:
    """The review's reproduction: a policy_revisions + policy_reloads pair raising a limit was followed
    by every worker within 1.5 s. Now the reload row is only a signal to re-read this host's
    directory, which does not hold that revision: nothing changes."""
    client = make_app(tmp_path, POLICIES=str(policies_copy), FOLLOW_RELOADS=True).test_client()
    live = client.get("/v1/policies").get_json()["revision"]
    assert client.post("/v1/decisions", json=small_refund("60.00")).get_json()["outcome"] == "escalate"

    forged_dir = tmp_path / "forged"
    forged_dir.mkdir()
    for path in policies_copy.iterdir():
        (forged_dir / path.name).write_bytes(path.read_bytes())
    raise_refund_limit(forged_dir, 5000)
    forged = load_policy_set(forged_dir).policy_set
    assert forged is not None and forged.revision != live
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'log.db'}")
    with engine.begin() as connection:
        now = datetime.now(timezone.utc)
        connection.execute(sqlalchemy.text("INSERT INTO policy_revisions (revision, stored_at, files) VALUES (:r, :at, :f)"),
                           {"r": forged.revision, "at": now, "f": json.dumps(dict(forged.files))})
        connection.execute(sqlalchemy.text("INSERT INTO policy_reloads (at, source, caller, ok, revision, diagnostics) "
                                           "VALUES (:at, 'api', 'attacker', 1, :r, '[]')"), {"r": forged.revision, "at": now})
    engine.dispose()
    time.sleep(SYNC_SECONDS * 3)
    answer = client.post("/v1/decisions", json=small_refund("60.00")).get_json()
    assert answer["policy_revision"] == live and answer["outcome"] == "escalate"
    restarted = make_app(tmp_path, POLICIES=str(policies_copy), FOLLOW_RELOADS=True).test_client()
    assert restarted.post("/v1/decisions", json=small_refund("60.00")).get_json()["outcome"] != "allow"


def test_a_forged_ledger_row_cannot_reset_a_cap(database_url: str, tmp_path: Path) -> None:
    """A row of -100000 for a real decision, or any row for no decision, is refused by the storage
    itself (both backends); the decision's own release still works."""
    import pytest
    client = make_app(tmp_path, DATABASE_URL=database_url).test_client()
    decided = client.post("/v1/decisions", json=small_refund("40.00")).get_json()
    assert decided["outcome"] == "allow"
    engine = sqlalchemy.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        seq = connection.execute(sqlalchemy.text("SELECT seq FROM decision_log WHERE id = :id"),
                                 {"id": decided["decision_id"]}).scalar_one()
        connection.rollback()
        forged = ("INSERT INTO budget_ledger (seq, decision_id, scope, subject, action, reserved_at, amount, count) "
                  "VALUES (:seq, :decision, 'customer', 'cu-1', 'refund', :at, :amount, :count)")
        for decision, amount, count in ((decided["decision_id"], -100000, -1), ("dec_forged", 100, 1)):
            with pytest.raises(sqlalchemy.exc.DatabaseError, match="budget row refused"):
                with connection.begin():
                    connection.execute(sqlalchemy.text(forged), {"seq": seq, "decision": decision, "at": datetime.now(timezone.utc),
                                                                 "amount": amount, "count": count})
    engine.dispose()
    released = client.post(f"/v1/decisions/{decided['decision_id']}/outcome", json={"declined": True})
    assert released.status_code == 201


@pytest.mark.parametrize("tamper", ["DELETE FROM budget_ledger", "DELETE FROM decision_rules",
                                    "DELETE FROM approval_requests",
                                    "INSERT INTO decision_rules (rule, seq) VALUES ('refunds/forged', 1)"])
def test_audit_verify_holds_the_side_tables_against_the_chain(database_url: str, tmp_path: Path, tamper: str) -> None:
    """The review deleted ledger, rule and approval rows on SQLite and verify still said ok."""
    client = make_app(tmp_path, DATABASE_URL=database_url).test_client()
    assert client.post("/v1/decisions", json=small_refund("40.00")).get_json()["outcome"] == "allow"
    escalated = client.post("/v1/decisions", json=BODY).get_json()
    assert escalated["outcome"] == "escalate" and escalated["rules"]
    assert client.get("/v1/audit/verify").get_json()["ok"] is True
    engine = sqlalchemy.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        if "DELETE" in tamper:  # as an attacker with the owner's rights: the append-only guards go first
            table = tamper.split()[-1]
            if engine.dialect.name == "sqlite":
                connection.execute(sqlalchemy.text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
            else:
                connection.execute(sqlalchemy.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        connection.execute(sqlalchemy.text(tamper))
    engine.dispose()
    report = client.get("/v1/audit/verify").get_json()
    assert report["ok"] is False and report["problem"]["kind"] == "side-table", report


def test_with_a_log_key_a_forged_append_is_caught(database_url: str, tmp_path: Path) -> None:
    """Entry hashes are HMAC-SHA256 under POLICY_SERVICE_LOG_KEY: an append computed by someone who
    can write the database but lacks the key chains perfectly, yet `audit verify --key` names it."""
    from click.testing import CliRunner

    from policy_service.cli import main
    from policy_service.decisionlog import DecisionStore, log_table
    from policy_service.decisionlog.chain import HASHED_FIELDS, entry_hash

    client = make_app(tmp_path, DATABASE_URL=database_url, LOG_KEY="k3y-outside-the-db").test_client()
    for amount in ("10.00", "20.00"):
        assert client.post("/v1/decisions", json=small_refund(amount)).status_code == 201
    verify = ["audit", "verify", "--database", database_url, "--key", "k3y-outside-the-db"]
    assert CliRunner().invoke(main, verify).exit_code == 0
    assert client.get("/v1/audit/verify").get_json()["ok"] is True
    store = DecisionStore(database_url)  # as an INSERT-only role could: no key in hand
    last = list(store.chain())[-1]
    forged = {**{name: last[name] for name in HASHED_FIELDS}, "seq": last["seq"] + 1, "id": "dec_forged",
              "decision_id": "dec_forged", "prev_hash": last["hash"], "outcome": "allow"}
    forged["hash"] = entry_hash(forged)
    with store.engine.begin() as connection:
        connection.execute(log_table.insert(), {**forged, "created_at": datetime.fromisoformat(forged["created_at"].replace("Z", "+00:00"))})
    store.dispose()
    result = CliRunner().invoke(main, verify)
    assert result.exit_code == 1 and "not written with the log key" in result.output
    assert client.get("/v1/audit/verify").get_json()["problem"]["id"] == "dec_forged"
