"""The contract (docs/contract.md §3–§5) with an organisation unlike the examples: Chilean pesos with no minor unit,
three tiers, days/count/flag actions (tests/organisations/telco). Its own policy tests run too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import make_app

TELCO = Path(__file__).parent / "organisations" / "telco"


@pytest.fixture
def client(tmp_path: Path) -> Any:
    return make_app(tmp_path, POLICIES=str(TELCO)).test_client()


def decide(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/decisions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


OUTAGE_CREDIT = {"agent": {"id": "r1"}, "customer": {"id": "c-1"},
                 "case": {"reason": "outage", "fault": "company", "attributes": {"outage_hours": 30}},
                 "proposal": {"action": "bill_credit", "amount": 15000, "currency": "CLP"}, "locale": "es"}


def test_a_monthly_cap_fills_from_the_log_and_then_the_override_tier_approves(client: Any) -> None:
    """Two outage credits of 15.000 fit the 30.000 cap; the third escalates to the tier that may exceed it."""
    first, second, third = (decide(client, OUTAGE_CREDIT) for _ in range(3))
    assert (first["outcome"], first["limit"], first["caps"][0]["remaining"]) == ("allow", "20000", "15000")
    assert first["say"][0] == "Por la caída de servicio puedo abonarle hasta 20.000\u00a0CLP ahora."
    assert (second["outcome"], second["limit"], second["caps"][0]["remaining_count"]) == ("allow", "15000", 0)
    assert third["outcome"] == "escalate" and third["escalation"]["to_tier"] == "lead"
    assert third["escalation"]["label"] == "Jefa de turno" and third["limit"] is None
    # The outage sentence has no {limit} to fill any more, so it is left out (docs/contract.md §3.3 say).
    assert not any("caída" in sentence for sentence in third["say"])
    # The cap is what stops it (the rep's own limit would cover 15.000), and the words say which one.
    assert third["caps"][0]["binding"] is True
    assert "Este cliente ya ha usado su tope mensual de abonos todas las veces que permite." in third["say"]
    assert [(o["action"], o["max"]) for o in third["options"]] == [("late_fee_waiver", "5000"), ("payment_plan", 15)]


def test_options_come_in_spec_order(client: Any) -> None:
    """The proposal up to the agent's limit first, then offered actions, then the policy's others."""
    made = decide(client, {"agent": {"id": "r1"}, "case": {"reason": "other"},
                           "proposal": {"action": "payment_plan", "amount": "20"}})
    assert made["outcome"] == "escalate" and made["proposal"] == {"action": "payment_plan", "amount": 20}
    # late_fee_waiver is left out: `disputed` fired (fault is missing, so not_in holds) and requires a lead.
    assert [(o["action"], o["max"]) for o in made["options"]] == [("payment_plan", 15), ("bill_credit", "10000")]
    assert made["options"][0]["say"] == "Puedo ofrecerle ahora mismo hasta 15 días de plazo de pago."


def test_a_hand_off_is_reported_whatever_the_outcome(client: Any) -> None:
    body = {"agent": {"id": "r1"}, "customer": {"tenure_months": 30, "flags": []},
            "case": {"reason": "cancel", "fault": "company"}, "proposal": {"action": "late_fee_waiver", "amount": 3000}}
    allowed = decide(client, body)
    assert allowed["outcome"] == "allow"
    assert allowed["handoff"] == {"team": "retention", "label": "Retención", "contact": "anexo 700"}
    body["proposal"]["amount"] = 30000  # more than any tier may waive
    assert decide(client, body)["outcome"] == "handoff"


def test_a_currency_without_minor_units_refuses_decimals_and_prints_none(client: Any) -> None:
    refused = client.post("/v1/decisions", json={**OUTAGE_CREDIT, "proposal": {"action": "bill_credit", "amount": "10.5"}})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"proposal.amount": ["has more decimals than CLP allows (0)"]}
    made = decide(client, {**OUTAGE_CREDIT, "proposal": {"action": "bill_credit", "amount": "10.0"}, "locale": "en"})
    assert made["proposal"]["amount"] == "10" and "CLP\u00a010" in made["say"][-1]  # CLDR's currency spacing


def test_this_organisations_own_field_beside_the_builtins_says_where_it_goes(client: Any) -> None:
    body = {**OUTAGE_CREDIT, "case": {"reason": "outage", "outage_hours": 30}}
    assert client.post("/v1/decisions", json=body).get_json()["errors"] == {
        "case.outage_hours": ["declared by the organisation as an attribute: send it as case.attributes.outage_hours"]}
