""""Salir" ends the session (docs/contract.md §9) for every copy of its cookie, in every worker and
instance on the same decision log: a stranger's trial replayed a saved cookie after signing out and
still opened the inbox and rejected an escalation."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from helpers import make_app

from policy_service.service.keys import ANY_AGENT, AgentScope, create_key

COOKIE = "policy_service_console"
SECRET = "one-secret-for-the-instance"  # as `serve` gives all workers of an instance


def _keys(tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "keys.json"
    return {"marta": create_key(key_file, "marta", ["approver"], scope=AgentScope(agent="sup-7")),
            "tool": create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT),
            "audit": create_key(key_file, "audit", ["auditor"])}


def _app(tmp_path: Path, database_url: str) -> Any:
    return make_app(tmp_path, DEV=False, KEYS_FILE=str(tmp_path / "keys.json"), DATABASE_URL=database_url,
                    SECRET_KEY=SECRET)


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries no form with a CSRF token"
    return found.group(1)


def _signed_in(app: Any, secret: str) -> Any:
    client = app.test_client()
    token = _token(client.get("/console/login").get_data(as_text=True))
    assert client.post("/console/login", data={"key": secret, "csrf_token": token}).status_code == 302
    return client


def _cookie(client: Any) -> str:
    cookie = client.get_cookie(COOKIE, path="/console")
    assert cookie is not None
    return str(cookie.value)


def _with_cookie(app: Any, value: str) -> Any:
    client = app.test_client()
    client.set_cookie(COOKIE, value, path="/console")
    return client


def _escalation(app: Any, secrets: dict[str, str]) -> str:
    body = {"agent": {"id": "ag-101"}, "customer": {"id": "cu-9", "tier": "standard"},
            "case": {"reason": "late_delivery", "fault": "carrier"},
            "proposal": {"action": "delivery_compensation", "amount": "90.00", "currency": "EUR"}}
    decision = app.test_client().post("/v1/decisions", json=body,
                                      headers={"Authorization": f"Bearer {secrets['tool']}"}).get_json()
    assert decision["outcome"] == "escalate", decision
    return str(decision["decision_id"])


def _sign_out(client: Any) -> None:
    out = client.post("/console/logout", data={"csrf_token": _token(client.get("/console/").get_data(as_text=True))},
                      follow_redirects=True)
    assert out.status_code == 200 and "Ha salido de la consola." in out.get_data(as_text=True)


def test_a_cookie_saved_before_signing_out_is_refused_on_get_and_post(database_url: str, tmp_path: Path) -> None:
    """The trial's replay: the saved cookie and its CSRF token after "Salir" send the browser to sign in,
    on the inbox and on a verdict; the escalation stays pending and the chain still verifies."""
    secrets = _keys(tmp_path)
    app = _app(tmp_path, database_url)
    decision_id = _escalation(app, secrets)
    console = _signed_in(app, secrets["marta"])
    inbox = console.get("/console/approvals")
    assert inbox.status_code == 200 and decision_id in inbox.get_data(as_text=True)
    saved, token = _cookie(console), _token(inbox.get_data(as_text=True))
    _sign_out(console)
    replay = _with_cookie(app, saved)
    assert replay.get("/console/approvals").headers["Location"] == "/console/login?next=/console/approvals"
    rejected = replay.post(f"/console/approvals/{decision_id}",
                           data={"csrf_token": token, "verdict": "reject", "reason": "replayed"})
    assert rejected.status_code == 302 and rejected.headers["Location"].startswith("/console/login")
    auditor = {"Authorization": f"Bearer {secrets['audit']}"}
    state = app.test_client().get(f"/v1/decisions/{decision_id}", headers=auditor).get_json()["state"]
    assert state["approval"] == "pending"
    assert app.test_client().get("/v1/audit/verify", headers=auditor).get_json()["ok"] is True
    # Signing in again opens a new session, which the old sign-out does not touch.
    assert _signed_in(app, secrets["marta"]).get("/console/approvals").status_code == 200


def test_a_sign_out_in_one_worker_ends_the_session_in_another(database_url: str, tmp_path: Path) -> None:
    """Two apps on one database (two workers, or two instances sharing a secret): a session open in both
    is signed out in the second as soon as the first records "Salir"."""
    secrets = _keys(tmp_path)
    first, second = _app(tmp_path, database_url), _app(tmp_path, database_url)
    console = _signed_in(first, secrets["marta"])
    elsewhere = _with_cookie(second, _cookie(console))
    assert elsewhere.get("/console/").status_code == 200
    _sign_out(console)
    assert elsewhere.get("/console/").headers["Location"] == "/console/login?next=/console/"


def test_signing_out_a_replayed_cookie_again_is_harmless(database_url: str, tmp_path: Path) -> None:
    """The saved copy pressing "Salir" once more records nothing new and still answers the signed-out page."""
    secrets = _keys(tmp_path)
    app = _app(tmp_path, database_url)
    console = _signed_in(app, secrets["marta"])
    token = _token(console.get("/console/").get_data(as_text=True))
    saved = _cookie(console)  # after the page: it holds the CSRF token the page made
    _sign_out(console)
    again = _with_cookie(app, saved).post("/console/logout", data={"csrf_token": token}, follow_redirects=True)
    assert again.status_code == 200 and "Ha salido de la consola." in again.get_data(as_text=True)


def test_without_the_database_a_console_page_is_the_503_page(tmp_path: Path) -> None:
    """An instance whose database is unreachable cannot make the sign-out lookup: the console's
    "unavailable" page, never a 500; "Salir" there still clears this browser's cookie."""
    secrets = _keys(tmp_path)
    console = _signed_in(_app(tmp_path, f"sqlite:///{tmp_path / 'log.db'}"), secrets["marta"])
    token = _token(console.get("/console/").get_data(as_text=True))
    down = _with_cookie(_app(tmp_path, "postgresql://postgres@127.0.0.1:1/nothing"), _cookie(console))
    page = down.get("/console/approvals")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "Salir" not in page.get_data(as_text=True)
    assert down.post("/console/logout", data={"csrf_token": token}).status_code == 503
    assert down.get("/console/").headers["Location"] == "/console/login?next=/console/"


def test_a_forged_sign_out_row_only_signs_out_and_verify_ignores_it(database_url: str, tmp_path: Path) -> None:
    """The table is outside the chain and carries no authority: a row written straight into the database
    for a live session ends it, and `audit verify` still says ok (the table is not a side table)."""
    from policy_service.decisionlog import DecisionStore

    secrets = _keys(tmp_path)
    app = _app(tmp_path, database_url)
    console = _signed_in(app, secrets["marta"])
    assert console.get("/console/").status_code == 200
    store = DecisionStore(database_url)
    store.record_sign_out(app.session_interface.get_signing_serializer(app).loads(_cookie(console))["sid"])
    store.dispose()
    assert console.get("/console/").status_code == 302
    verified = app.test_client().get("/v1/audit/verify", headers={"Authorization": f"Bearer {secrets['audit']}"})
    assert verified.get_json()["ok"] is True


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no roles
def test_the_granted_role_records_and_reads_sign_outs(database_url: str, tmp_path: Path) -> None:
    """`db grant` covers the sign-out table: as a role with SELECT and INSERT only, a sign-out is
    recorded and the replayed cookie refused; the role cannot delete it to bring the session back."""
    from click.testing import CliRunner

    from policy_service.cli import main

    role = f"ps_app_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE ROLE {role} LOGIN"))
    app = None
    try:
        assert CliRunner().invoke(main, ["db", "upgrade", "--database", database_url]).exit_code == 0
        granted = CliRunner().invoke(main, ["db", "grant", role, "--database", database_url])
        assert granted.exit_code == 0, granted.output
        as_role = database_url.replace("postgresql://postgres@", f"postgresql://{role}@")
        secrets = _keys(tmp_path)
        app = _app(tmp_path, as_role)
        console = _signed_in(app, secrets["marta"])
        saved = _cookie(console)
        _sign_out(console)
        assert _with_cookie(app, saved).get("/console/").status_code == 302
        with sqlalchemy.create_engine(as_role.replace("postgresql://", "postgresql+psycopg://")).connect() as connection:
            with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
                connection.execute(sqlalchemy.text("DELETE FROM console_sign_outs"))
    finally:
        if app is not None:
            app.extensions["policy_service"].store.dispose()
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP OWNED BY {role}"))
            connection.execute(sqlalchemy.text(f"DROP ROLE {role}"))
        admin.dispose()
