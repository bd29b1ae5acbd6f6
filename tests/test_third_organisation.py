"""The v1.1 contract (docs/contract.md §3–§6) driven over HTTP through a third organisation, in a
market other than Spain's: a Colombian bank (tests/organisations/banco) whose requests come in
`es-CO`, with its texts written under `es`, pesos without minor units, a labelled per-customer cap,
`alternatives:` and a rule that speaks only to the action it shapes. Its own policy tests run too."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from helpers import make_app

from policy_service.policytest.runner import run_suites
from policy_service.service.reloading import load_runtime

BANCO = Path(__file__).parent / "organisations" / "banco"


@pytest.fixture
def client(tmp_path: Path) -> Any:
    return make_app(tmp_path, POLICIES=str(BANCO)).test_client()


def body(agent: str, action: str, amount: Any = None, *, customer: str | None = "c-100", locale: str = "es-CO",
         **case: Any) -> dict[str, Any]:
    proposal: dict[str, Any] = {"action": action}
    if amount is not None:
        proposal["amount"] = amount
    made: dict[str, Any] = {"agent": {"id": agent}, "proposal": proposal, "locale": locale,
                            "case": {"reason": "cargo", "attributes": case} if case else {"reason": "cargo"}}
    if customer is not None:
        made["customer"] = {"id": customer}
    return made


def decide(client: Any, sent: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/decisions", json=sent)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_money_is_written_as_colombia_writes_it_and_texts_fall_back_to_es(client: Any) -> None:
    """es-CO formats pesos as `$ 240.000` (no decimals); the rule's words are the organisation's `es`."""
    made = decide(client, body("as-1", "reverso_comision", 95000, cobro_duplicado=True))
    assert made["outcome"] == "allow"
    assert made["say"][0] == "Como el cobro está duplicado, puede reversarlo hasta $240.000."
    assert made["proposal"] == {"action": "reverso_comision", "amount": "95000", "currency": "COP"}
    english = decide(client, body("as-1", "reverso_comision", 95000, locale="en", cobro_duplicado=True))
    assert english["say"][0] == "As the charge is duplicated, you may reverse up to COP\u00a0240,000."


def test_a_per_customer_budget_cannot_be_skipped_by_leaving_the_customer_out(client: Any) -> None:
    refused = client.post("/v1/decisions", json=body("as-1", "abono_cortesia", 40000, customer=None))
    assert refused.status_code == 422
    assert "customer.id" in refused.get_json()["errors"]
    # An action no per-customer cap counts is decided without one.
    assert decide(client, body("as-1", "reverso_comision", 40000, customer=None))["outcome"] == "allow"


def test_a_used_up_allowance_is_named_as_the_reason_and_what_remains_is_said(client: Any) -> None:
    for _ in range(2):
        assert decide(client, body("as-1", "abono_cortesia", 50000, customer="c-9"))["outcome"] == "allow"
    third = decide(client, body("as-1", "abono_cortesia", 30000, customer="c-9"))
    assert third["outcome"] == "escalate" and third["escalation"]["to_tier"] == "gerente"
    assert [(c["id"], c["binding"], c["remaining"]) for c in third["caps"]] == [("cargos/cortesia_cliente_90d", True, "20000")]
    assert any("margen de cortesía de 90 días" in s and "$20.000" in s for s in third["say"]), third["say"]
    assert [(o["action"], o["max"]) for o in third["options"]][0] == ("abono_cortesia", "20000")
    # Below the cap's bound, the same cap is listed but does not bind.
    fresh = decide(client, body("as-1", "abono_cortesia", 30000, customer="c-10"))
    assert fresh["outcome"] == "allow" and fresh["caps"][0]["binding"] is False


def test_a_rule_speaks_only_to_the_action_it_shapes(client: Any) -> None:
    masivo = {"segmento": "masivo"}
    reversal = body("as-1", "reverso_comision", 30000)
    reversal["customer"]["attributes"] = masivo
    made = decide(client, reversal)
    assert made["outcome"] == "allow"
    assert not any("exoneración" in s for s in made["say"]), made["say"]
    waiver = body("as-1", "exoneracion_cuota")
    waiver["customer"]["attributes"] = masivo
    escalated = decide(client, waiver)
    assert escalated["outcome"] == "escalate" and escalated["escalation"]["to_tier"] == "lider"
    assert any("segmento masivo" in s for s in escalated["say"])


def test_alternatives_are_the_ones_the_owner_listed(client: Any) -> None:
    big = decide(client, body("as-1", "reverso_comision", 500000))
    assert big["outcome"] == "escalate"
    assert [o["action"] for o in big["options"]] == ["reverso_comision", "abono_cortesia"]
    waiver = decide(client, body("ia-1", "exoneracion_cuota"))
    assert waiver["outcome"] == "escalate" and waiver["options"] == []


def test_no_sentence_is_said_twice(client: Any) -> None:
    for sent in (body("ia-1", "exoneracion_cuota"), body("as-1", "reverso_comision", 500000, cobro_duplicado=True),
                 body("as-1", "reverso_comision", 10000, transaccion_desconocida=True)):
        said = decide(client, sent)["say"]
        assert len(said) == len(set(said)), said


def test_an_allow_with_a_hand_off_grants_now_and_passes_the_case_on(client: Any) -> None:
    made = decide(client, body("as-1", "reverso_comision", 10000, transaccion_desconocida=True))
    assert made["outcome"] == "allow"
    assert made["handoff"] == {"team": "fraude", "label": "Prevención de fraude", "contact": "línea 01 8000 (opción 3)"}


def test_the_auditor_sees_who_approved_what_and_what_was_given(client: Any) -> None:
    for _ in range(2):
        decide(client, body("as-1", "abono_cortesia", 50000, customer="c-7"))
    escalated = decide(client, body("as-1", "abono_cortesia", 60000, customer="c-7"))
    decision_id = escalated["decision_id"]
    approved = client.post(f"/v1/decisions/{decision_id}/approval",
                           json={"approver_id": "ge-1", "verdict": "approve", "amount": "45000"})
    assert approved.status_code == 201, approved.get_json()
    state = client.get(f"/v1/decisions/{decision_id}").get_json()["state"]
    assert (state["approval"], state["approved_amount"], state["approver_id"], state["outcome"]) == ("approved", "45000", "ge-1", None)
    granted = client.post(f"/v1/decisions/{decision_id}/outcome", json={"action": "abono_cortesia", "amount": "45000"})
    assert granted.status_code == 201, granted.get_json()
    state = client.get(f"/v1/decisions/{decision_id}").get_json()["state"]
    assert state["outcome"] == "granted" and state["granted"] == {"action": "abono_cortesia", "amount": "45000"}
    assert [i["decision_id"] for i in client.get("/v1/approvals?status=approved").get_json()["items"]] == [decision_id]
    exported = client.get("/v1/decisions/export?format=csv").get_data(as_text=True)
    rows = [r for r in csv.DictReader(io.StringIO(exported)) if r["decision_id"] == decision_id]
    assert [r["kind"] for r in rows] == ["decision", "approval", "outcome"]
    assert len({r["seq"] for r in csv.DictReader(io.StringIO(exported))}) == 5  # every entry, no seq missing


def test_its_own_policy_tests_pass() -> None:
    runtime, loaded = load_runtime(BANCO)
    assert runtime is not None, [str(d) for d in loaded.diagnostics]
    results, problems = run_suites(BANCO, runtime)
    assert problems == [] and results and all(r.passed for r in results), [r for r in results if not r.passed]


def test_the_simulator_writes_pesos_without_cents_and_reads_them_the_colombian_way(client: Any) -> None:
    """A second trial: the hint said "como 120,00" and the refusal "como 1.234,50" for COP, which has no
    cents; "1.200.000" is read as one million two hundred thousand."""
    page = client.get("/console/simulator").get_data(as_text=True)
    assert "En COP para importes, como 120;" in page
    refused = client.get("/console/simulator", query_string={"agent.id": "as-1", "proposal.action": "reverso_comision",
                                                             "proposal.amount": "1,200.50", "run": "1"}).get_data(as_text=True)
    assert "escriba el importe como 1.234," in refused and "1.234,50" not in refused
