"""API keys and roles (docs/contract.md §8): 401 without a valid key, 403 for the wrong role, on every endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import BODY, keyed_app

from policy_service.cli import main
from policy_service.errors import KeyFileError
from policy_service.service.keys import ROLES, create_key, hash_key, list_keys, revoke_key
from policy_service.web import access

ALL_ROLES = {role: ([role], False) for role in ROLES}


def _url(rule: Any) -> str:
    return rule.build({name: "x" for name in rule.arguments}, append_unknown=False)[1]


def _call(client: Any, method: str, url: str, headers: dict[str, str] | None = None) -> Any:
    return client.open(url, method=method, json={} if method == "POST" else None, headers=headers or {})


def test_every_endpoint_refuses_a_missing_invalid_or_wrong_role_key(tmp_path: Path) -> None:
    """Walks the whole URL map, so an endpoint added later without a role declaration fails here."""
    app, headers = keyed_app(tmp_path, ALL_ROLES)
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        allowed = getattr(app.view_functions[rule.endpoint], "access", None)
        assert allowed is not None, f"{rule.rule} declares neither roles nor @public"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _url(rule)
            if allowed is access.PUBLIC:
                assert _call(client, method, url).status_code not in (401, 403), rule.rule
                continue
            checked += 1
            missing = _call(client, method, url)
            assert missing.status_code == 401 and missing.mimetype == "application/problem+json", rule.rule
            assert missing.headers["WWW-Authenticate"] == "Bearer"
            assert _call(client, method, url, {"Authorization": "Bearer psk_wrong"}).status_code == 401, rule.rule
            for role in ROLES:
                status = _call(client, method, url, headers[role]).status_code
                if role in allowed:
                    assert status not in (401, 403), (rule.rule, role, status)
                else:
                    assert status == 403, (rule.rule, role, status)
    assert checked >= 9


def test_an_endpoint_without_a_declaration_is_refused_to_everyone(tmp_path: Path) -> None:
    app, headers = keyed_app(tmp_path, {"all": (list(ROLES), True)})
    app.add_url_rule("/v1/forgotten", "forgotten", lambda: "secret")
    assert app.test_client().get("/v1/forgotten", headers=headers["all"]).status_code == 403


def test_the_key_travels_as_bearer_or_x_api_key(tmp_path: Path) -> None:
    app, headers = keyed_app(tmp_path, {"tool": (["agent_tool"], False)})
    secret = headers["tool"]["Authorization"].removeprefix("Bearer ")
    client = app.test_client()
    assert client.post("/v1/decisions", json=BODY, headers={"X-API-Key": secret}).status_code == 201
    assert client.post("/v1/decisions", json=BODY, headers={"Authorization": f"bearer {secret}"}).status_code == 201


def test_the_calling_keys_name_is_recorded_on_every_decision(tmp_path: Path) -> None:
    app, headers = keyed_app(tmp_path, {"crm-bot": (["agent_tool"], False), "audit": (["auditor"], False)})
    client = app.test_client()
    decision = client.post("/v1/decisions", json=BODY, headers=headers["crm-bot"]).get_json()
    items = client.get("/v1/decisions", headers=headers["audit"]).get_json()["items"]
    assert [(i["decision_id"], i["log"]["caller"]) for i in items] == [(decision["decision_id"], "crm-bot")]


def test_only_a_trusted_tier_key_may_set_the_agents_tier(tmp_path: Path) -> None:
    app, headers = keyed_app(tmp_path, {"plain": (["agent_tool"], False), "trusted": (["agent_tool"], True)})
    client = app.test_client()
    body = {**BODY, "agent": {"id": "ag-101", "tier": "manager"}}
    refused = client.post("/v1/decisions", json=body, headers=headers["plain"])
    assert refused.status_code == 422 and "agent.tier" in refused.get_json()["errors"]
    allowed = client.post("/v1/decisions", json=body, headers=headers["trusted"])
    assert allowed.status_code == 201 and allowed.get_json()["agent"]["tier"] == "manager"


@pytest.mark.parametrize("field", ["kind", "team"])
def test_an_agents_kind_or_team_in_the_body_is_refused_not_silently_logged(tmp_path: Path, field: str) -> None:
    """Before, {"id": <an AI assistant>, "kind": "human"} was decided as the directory says but logged
    as sent, so an auditor reading the request saw a human; even a trusted key may not say it."""
    app, headers = keyed_app(tmp_path, {"trusted": (["agent_tool"], True)})
    body = {**BODY, "agent": {"id": "ag-101", field: "human" if field == "kind" else "retention"}}
    refused = app.test_client().post("/v1/decisions", json=body, headers=headers["trusted"])
    assert refused.status_code == 422 and f"agent.{field}" in refused.get_json()["errors"]


def test_idempotency_keys_are_scoped_per_calling_key(tmp_path: Path) -> None:
    app, headers = keyed_app(tmp_path, {"a": (["agent_tool"], False), "b": (["agent_tool"], False)})
    client = app.test_client()
    other = {**BODY, "proposal": {**BODY["proposal"], "amount": "10.00"}}
    first = client.post("/v1/decisions", json=BODY, headers={**headers["a"], "Idempotency-Key": "k1"})
    second = client.post("/v1/decisions", json=other, headers={**headers["b"], "Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.get_json()["decision_id"] != second.get_json()["decision_id"]


def test_a_revoked_key_stops_working_without_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "RECHECK_SECONDS", 0.0)
    app, headers = keyed_app(tmp_path, {"tool": (["agent_tool"], False)})
    client = app.test_client()
    assert client.post("/v1/decisions", json=BODY, headers=headers["tool"]).status_code == 201
    assert revoke_key(tmp_path / "keys.json", "tool")
    assert client.post("/v1/decisions", json=BODY, headers=headers["tool"]).status_code == 401


def test_keys_create_prints_the_key_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    result = CliRunner().invoke(main, ["keys", "create", "crm", "--role", "agent_tool", "--role", "auditor",
                                       "--any-agent", "--keys", str(key_file)])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("psk_") and secret not in key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert [(k["name"], k["roles"]) for k in list_keys(key_file)] == [("crm", ["agent_tool", "auditor"])]
    listed = CliRunner().invoke(main, ["keys", "list", "--keys", str(key_file)])
    assert "crm" in listed.output and "sha256" not in listed.output
    duplicate = CliRunner().invoke(main, ["keys", "create", "crm", "--role", "auditor", "--keys", str(key_file)])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    bad_role = CliRunner().invoke(main, ["keys", "create", "x", "--role", "admin", "--keys", str(key_file)])
    assert bad_role.exit_code == 2 and "admin" in bad_role.output


def test_a_malformed_key_file_names_the_problem(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"keys": [{"name": "x", "hash": "plain", "roles": ["agent_tool"]}]}))
    with pytest.raises(KeyFileError, match="hash"):
        create_key(key_file, "y", ["auditor"])


@pytest.mark.parametrize("field", ["name", "hash"])
def test_a_key_file_value_ending_in_a_newline_is_refused(tmp_path: Path, field: str) -> None:
    """A pattern's $ stops before a final newline: "crm\\n" was a key name, a hash with a newline a hash."""
    record = {"name": "crm", "hash": hash_key("s3cret"), "roles": ["agent_tool"]}
    record[field] += "\n"
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"keys": [record]}))
    with pytest.raises(KeyFileError, match=field):
        create_key(key_file, "y", ["auditor"])
