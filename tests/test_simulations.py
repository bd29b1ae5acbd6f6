"""POST /v1/simulations (policy_service/service/simulation.py): the decision an agent would get, recorded nowhere."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, keyed_app, small_refund

RECORDED_ONLY = ("decision_id", "created_at", "approval")


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[Any, dict[str, dict[str, str]]]:
    return keyed_app(tmp_path, {"tool": (["agent_tool"], False), "admin": (["policy_admin"], False),
                                "auditor": (["auditor"], False)})


def _log_dump(path: Path) -> list[str]:
    """Every table's rows and the schema, as SQL text, from the file as it stands after a checkpoint."""
    database = sqlite3.connect(path)
    try:
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return list(database.iterdump())
    finally:
        database.close()


def test_a_simulation_answers_what_the_decision_then_answers(keyed: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """The README's example, simulated then decided: the same object, less the id, the time and the approval."""
    app, headers = keyed
    client = app.test_client()
    simulated = client.post("/v1/simulations", json=BODY, headers=headers["admin"])
    decided = client.post("/v1/decisions", json=BODY, headers=headers["tool"])
    assert simulated.status_code == 200 and decided.status_code == 201
    expected = {key: value for key, value in decided.get_json().items() if key not in RECORDED_ONLY}
    assert simulated.get_json() == expected
    assert list(simulated.get_json()) == list(expected)  # the same order of fields too
    assert simulated.get_json()["outcome"] == "escalate"


def test_a_simulation_reads_the_cap_usage_the_log_holds(keyed: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """After an allowed refund spent budget, the simulation's caps are what the next decision's are."""
    app, headers = keyed
    client = app.test_client()
    assert client.post("/v1/decisions", json=small_refund("40.00"), headers=headers["tool"]).get_json()["outcome"] == "allow"
    simulated = client.post("/v1/simulations", json=small_refund("30.00"), headers=headers["auditor"]).get_json()
    decided = client.post("/v1/decisions", json=small_refund("30.00"), headers=headers["tool"]).get_json()
    assert simulated["caps"] == decided["caps"]
    assert simulated == {key: value for key, value in decided.items() if key not in RECORDED_ONLY}


def test_simulations_leave_the_log_byte_for_byte_unchanged(keyed: tuple[Any, dict[str, dict[str, str]]],
                                                           tmp_path: Path) -> None:
    """No entry, budget, approval or idempotency row: every table dumps the same and verify counts the same."""
    app, headers = keyed
    client = app.test_client()
    client.post("/v1/decisions", json=small_refund("40.00"), headers=headers["tool"])
    client.post("/v1/decisions", json=BODY, headers=headers["tool"])
    before = _log_dump(tmp_path / "log.db")
    verified = client.get("/v1/audit/verify", headers=headers["auditor"]).get_json()
    for body in (BODY, small_refund("40.00"), small_refund("5000.00")):
        answer = client.post("/v1/simulations", json=body, headers={**headers["admin"], "Idempotency-Key": "k-1"})
        assert answer.status_code == 200
    assert _log_dump(tmp_path / "log.db") == before
    assert client.get("/v1/audit/verify", headers=headers["auditor"]).get_json() == verified
    assert verified["entries"] == 2


@pytest.mark.parametrize("key, status", [("tool", 403), ("admin", 200), ("auditor", 200), (None, 401)])
def test_only_policy_admins_and_auditors_simulate(keyed: tuple[Any, dict[str, dict[str, str]]], key: str | None,
                                                  status: int) -> None:
    """An agent's tool decides for real; simulating is for the people who own and audit the policies."""
    app, headers = keyed
    assert app.test_client().post("/v1/simulations", json=BODY, headers=headers[key] if key else {}).status_code == status


def test_a_malformed_body_is_422_naming_the_field(keyed: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """The same validation as POST /v1/decisions: the problem names the field."""
    app, headers = keyed
    body = {**BODY, "case": {**BODY["case"], "days_since_purchase": "many"}}
    answer = app.test_client().post("/v1/simulations", json=body, headers=headers["admin"])
    assert answer.status_code == 422
    assert "case.days_since_purchase" in answer.get_json()["errors"]
    assert app.test_client().post("/v1/simulations", data="{", headers={**headers["admin"], "Content-Type": "application/json"}).status_code == 400


def test_a_simulation_reads_the_ledger_on_either_backend(tmp_path: Path, database_url: str) -> None:
    """SQLite and PostgreSQL: the log's clock and the ledger read without the chain lock, as the next decision reads them."""
    app, headers = keyed_app(tmp_path, {"tool": (["agent_tool"], False), "admin": (["policy_admin"], False)},
                             DATABASE_URL=database_url)
    client = app.test_client()
    client.post("/v1/decisions", json=small_refund("40.00"), headers=headers["tool"])
    simulated = client.post("/v1/simulations", json=small_refund("30.00"), headers=headers["admin"]).get_json()
    decided = client.post("/v1/decisions", json=small_refund("30.00"), headers=headers["tool"]).get_json()
    assert simulated == {key: value for key, value in decided.items() if key not in RECORDED_ONLY}
