"""The HTTP API through Flask's test client, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY


def post(client: Any, body: Any) -> Any:
    return client.post("/v1/decisions", json=body)


def test_post_decision_returns_the_explained_decision(client: Any) -> None:
    response = post(client, BODY)
    assert response.status_code == 201
    body = response.get_json()
    assert body["decision_id"].startswith("dec_") and len(body["decision_id"]) == 30
    assert body["outcome"] == "escalate"
    assert body["agent"] == {"id": "ag-101", "tier": "agent"}
    assert body["options"] == [{"action": "store_credit", "unit": "money", "max": "112.50",
                                "say": "Puedo ofrecerle ahora mismo hasta 112,50\u00a0€ de crédito en tienda."}]
    assert body["escalation"]["to_tier"] == "supervisor" and body["escalation"]["label"] == "Supervisor"
    assert body["rules"][:2] == ["refunds/gold_leeway", "refunds/outside_return_window"]
    assert body["caps"][0] == {"id": "refunds/customer_goodwill_90d", "remaining": "300.00", "remaining_count": 3, "binding": False}
    assert body["policy_revision"].startswith("sha256:")


def test_get_returns_what_post_returned_plus_events(client: Any) -> None:
    created = post(client, BODY).get_json()
    fetched = client.get(f"/v1/decisions/{created['decision_id']}")
    assert fetched.status_code == 200
    assert fetched.get_json() == {**created, "events": [], "state": {
        "approval": "pending", "approved_amount": None, "approver_id": None, "outcome": None, "granted": None}}


def test_decision_is_in_the_log_before_it_is_returned(app: Any, tmp_path: Path) -> None:
    created = post(app.test_client(), BODY).get_json()
    rows = sqlite3.connect(tmp_path / "log.db").execute("SELECT id, outcome, agent_id FROM decision_log").fetchall()
    assert rows == [(created["decision_id"], "escalate", "ag-101")]


def test_the_log_refuses_updates_and_deletes(app: Any, tmp_path: Path) -> None:
    post(app.test_client(), BODY)
    database = sqlite3.connect(tmp_path / "log.db")
    for statement in ("UPDATE decision_log SET outcome = 'allow'", "DELETE FROM decision_log"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            database.execute(statement)


def test_unknown_decision_is_404(client: Any) -> None:
    response = client.get("/v1/decisions/dec_nothing")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize(("change", "field"), [
    (lambda b: b["proposal"].update(amount="10.005"), "proposal.amount"),
    (lambda b: b["proposal"].update(amount="-5"), "proposal.amount"),
    (lambda b: b["proposal"].update(amount=0), "proposal.amount"),
    (lambda b: b["proposal"].update(currency="USD"), "proposal.currency"),
    (lambda b: b["proposal"].update(action="refnd"), "proposal.action"),
    (lambda b: b["agent"].update(id="nobody"), "agent.id"),
    (lambda b: b["case"].update(days_since_purchase="many"), "case.days_since_purchase"),
    (lambda b: b["case"].update(colour="red"), "case.colour"),
    (lambda b: b["case"].update(attributes={"undeclared": 1}), "case.attributes.undeclared"),
    (lambda b: b["case"].update(attributes={"is_final_sale": "yes"}), "case.attributes.is_final_sale"),
    (lambda b: b["customer"].update(tier="diamond"), "customer.tier"),
    (lambda b: b.pop("proposal"), "proposal"),
])
def test_bad_fields_get_422_naming_the_field(client: Any, change: Any, field: str) -> None:
    body = {key: dict(value) if isinstance(value, dict) else value for key, value in BODY.items()}
    change(body)
    response = post(client, body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert field in problem["errors"], problem
    assert set(problem) == {"type", "title", "status", "detail", "errors"}


def test_every_field_problem_is_named_at_once(client: Any) -> None:
    body = {**BODY, "agent": {"id": "nobody"}, "proposal": {"action": "refnd"}}
    assert set(post(client, body).get_json()["errors"]) == {"agent.id", "proposal.action"}


def test_a_declared_field_sent_beside_the_builtins_says_where_it_goes(client: Any) -> None:
    """`case.is_final_sale` is the organisation's own field: the 422 points to case.attributes."""
    body = {**BODY, "case": {**BODY["case"], "is_final_sale": True}}
    errors = post(client, body).get_json()["errors"]
    assert errors == {"case.is_final_sale": ["declared by the organisation as an attribute: send it as "
                                             "case.attributes.is_final_sale"]}


def test_malformed_json_is_400(client: Any) -> None:
    response = client.post("/v1/decisions", data=b'{"agent": ', content_type="application/json")
    assert response.status_code == 400 and response.get_json()["status"] == 400


def test_a_body_that_is_not_an_object_is_422(client: Any) -> None:
    assert client.post("/v1/decisions", json=[1, 2]).status_code == 422


def test_non_finite_amount_is_422(client: Any) -> None:
    body = b'{"agent": {"id": "ag-101"}, "proposal": {"action": "refund", "amount": NaN}}'
    response = client.post("/v1/decisions", data=body, content_type="application/json")
    assert response.status_code == 422 and "proposal.amount" in response.get_json()["errors"]


def test_a_flag_proposal_carries_no_amount(client: Any) -> None:
    response = post(client, {"agent": {"id": "ag-101"}, "proposal": {"action": "free_shipping", "amount": 1}})
    assert response.status_code == 422 and "proposal.amount" in response.get_json()["errors"]
    ok = post(client, {"agent": {"id": "ag-101"}, "proposal": {"action": "free_shipping"}})
    assert ok.status_code == 201 and ok.get_json()["outcome"] == "allow"


def test_body_over_64_kib_is_413(client: Any) -> None:
    response = client.post("/v1/decisions", data=b" " * (65 * 1024), content_type="application/json")
    assert response.status_code == 413 and response.mimetype == "application/problem+json"


def test_the_directory_decides_the_agent_kind(client: Any) -> None:
    """An AI assistant cannot pass itself off as a human to escape an AI-only rule: saying so is a 422
    (it was ignored, but logged as sent), and without it the directory's kind decides."""
    response = post(client, {"agent": {"id": "bot-1", "kind": "human"}, "proposal": {"action": "reshipment"}})
    assert response.status_code == 422 and "agent.kind" in response.get_json()["errors"]
    assert post(client, {"agent": {"id": "bot-1"}, "proposal": {"action": "reshipment"}}).get_json()["outcome"] != "allow"


def test_503_when_the_log_cannot_record(app: Any, tmp_path: Path) -> None:
    """If the decision cannot be recorded it is not returned: 503 and no decision id."""
    sqlite3.connect(tmp_path / "log.db").execute("DROP TABLE decision_rules").execute("DROP TABLE decision_log")
    response = post(app.test_client(), BODY)
    assert response.status_code == 503
    assert "decision_id" not in response.get_json()


def test_health_and_readiness(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ok" and ready["policies"]["revision"].startswith("sha256:")


def test_a_hostile_body_never_gets_a_500(client: Any) -> None:
    """A sample of odd bodies: each gets a 4xx, never a 500."""
    for body in [None, "", 1, {"agent": None}, {"agent": {"id": 5}}, {"agent": {"id": "ag-101"}, "proposal": {"action": None}},
                 {"agent": {"id": "ag-101"}, "proposal": {"action": "refund", "amount": {"x": 1}}},
                 {"agent": {"id": "ag-101"}, "proposal": {"action": "refund", "amount": "1e3"}},
                 {"agent": {"id": "ag-101"}, "proposal": {"action": "payment_extension", "amount": 2.5}},
                 {"agent": {"id": "ag-101"}, "locale": 7, "proposal": {"action": "refund", "amount": 1}}]:
        response = client.post("/v1/decisions", json=body)
        assert 400 <= response.status_code < 500, (body, response.get_data(as_text=True))
