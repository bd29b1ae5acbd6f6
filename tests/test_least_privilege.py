"""Least privilege works as documented (docs/contract.md §8): `db grant ROLE` gives a PostgreSQL role
all the service needs, sequences included, and it serves as that role."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner
from helpers import BODY, make_app

from policy_service.cli import main


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no roles
def test_the_service_starts_and_serves_as_the_granted_role(database_url: str, tmp_path: Path) -> None:
    """An owner migrates and grants; the service, logged in as the role, decides, escalates, approves,
    reports an outcome and reloads. Before, the first reload failed on policy_reloads' sequence."""
    role = f"ps_app_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE ROLE {role} LOGIN"))
    client = None
    try:
        runner = CliRunner()
        assert runner.invoke(main, ["db", "upgrade", "--database", database_url]).exit_code == 0
        granted = runner.invoke(main, ["db", "grant", role, "--database", database_url])
        assert granted.exit_code == 0, granted.output
        as_role = database_url.replace("postgresql://postgres@", f"postgresql://{role}@")
        assert as_role != database_url
        client = make_app(tmp_path, DATABASE_URL=as_role).test_client()
        assert client.post("/v1/policies/reload").status_code == 200
        escalated = client.post("/v1/decisions", json=BODY).get_json()
        assert escalated["outcome"] == "escalate"
        approval = client.post(f"/v1/decisions/{escalated['decision_id']}/approval",
                               json={"approver_id": "sup-7", "verdict": "approve"})
        assert approval.status_code == 201, approval.get_json()
        outcome = client.post(f"/v1/decisions/{escalated['decision_id']}/outcome", json={"action": "refund", "amount": "120.00"})
        assert outcome.status_code == 201
        assert client.get("/v1/audit/verify").get_json()["ok"] is True
        with sqlalchemy.create_engine(as_role.replace("postgresql://", "postgresql+psycopg://")).connect() as connection:
            with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
                connection.execute(sqlalchemy.text("SELECT setval(pg_get_serial_sequence('policy_reloads', 'seq'), 1)"))
    finally:
        if client is not None:
            client.application.extensions["policy_service"].store.dispose()
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP OWNED BY {role}"))
            connection.execute(sqlalchemy.text(f"DROP ROLE {role}"))
        admin.dispose()
