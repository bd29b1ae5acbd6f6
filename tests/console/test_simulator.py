"""The simulator (docs/contract.md §9; policy_service/console/simulator.py): a form built from the
organisation, answered as the API answers, recording nothing, opened from a logged decision, and who may use it."""

from __future__ import annotations

import html
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, make_app

from policy_service.service.keys import ANY_AGENT, create_key

# The README's example as the form sends it: a junior agent (ag-101), a 120 € refund, a 45-day-old
# purchase, a gold customer; amounts written as a Spanish page writes them.
README_FORM = {"agent.id": "ag-101", "customer.id": "cu-88", "customer.tier": "gold", "customer.tenure_months": "26",
               "customer.lifetime_value": "4.300,00", "case.id": "tk-5521", "case.reason": "late_delivery",
               "case.channel": "phone", "case.order_value": "180,00", "case.days_since_purchase": "45",
               "case.fault": "carrier", "case.contact_count": "2", "proposal.action": "refund",
               "proposal.amount": "120,00", "locale": "es", "run": "1"}


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "keys.json"
    return {"admin": create_key(key_file, "admin", ["policy_admin"]), "audit": create_key(key_file, "audit", ["auditor"]),
            "approver": create_key(key_file, "approver", ["approver"], scope=ANY_AGENT),
            "tool": create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT)}


@pytest.fixture
def app(tmp_path: Path, keys: dict[str, str]) -> Any:
    return make_app(tmp_path, DEV=False, KEYS_FILE=str(tmp_path / "keys.json"), MASKED_FIELDS="customer.id")


def _signed_in(app: Any, secret: str) -> Any:
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").get_data(as_text=True))
    assert token is not None
    assert client.post("/console/login", data={"key": secret, "csrf_token": token.group(1)}).status_code == 302
    return client


def _text(page: Any) -> str:
    return html.unescape(page.get_data(as_text=True))


def _log(path: Path) -> list[str]:
    database = sqlite3.connect(path)
    try:
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return list(database.iterdump())
    finally:
        database.close()


def test_the_form_is_built_from_the_organisation(app: Any, keys: dict[str, str]) -> None:
    """Agents with their tier, built-in and declared fields where a request carries them, actions with units, locales."""
    page = _text(_signed_in(app, keys["admin"]).get("/console/simulator"))
    assert "Lucía Pérez (ag-101) · Asesor" in page
    for name in ("customer.tier", "case.days_since_purchase", "case.attributes.is_final_sale", "customer.attributes.open_invoices",
                 "proposal.action", "proposal.amount", "locale"):
        assert f'name="{name}"' in page, name
    assert 'value="platinum"' in page and "reembolso (importe)" in page
    assert 'name="agent.tier"' not in page  # the directory's, never the form's


def test_the_readme_example_answers_as_the_api_does_and_records_nothing(app: Any, keys: dict[str, str], tmp_path: Path) -> None:
    """The simulator's outcome, words, escalation and options are POST /v1/simulations' for the same request,
    and the log is the same, byte for byte, after it."""
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    api = app.test_client().post("/v1/simulations", json=BODY, headers=admin).get_json()
    before = _log(tmp_path / "log.db")
    answer = _signed_in(app, keys["admin"]).get("/console/simulator", query_string=README_FORM)
    assert answer.status_code == 200
    page = _text(answer)
    assert api["outcome"] == "escalate" and "Respuesta simulada: escalada" in page
    for sentence in [*api["say"], api["escalation"]["say"], *(option["say"] for option in api["options"])]:
        assert sentence in page
    assert "no se ha registrado nada" in page
    assert all(rule in page for rule in api["rules"])
    assert "112,50\u00a0€" in page  # the store-credit option's cap, as a Spanish page writes money
    assert _log(tmp_path / "log.db") == before


def test_english_pages_and_english_words(app: Any, keys: dict[str, str]) -> None:
    """The page in English, and the customer's words in the locale the form asked for."""
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    api = app.test_client().post("/v1/simulations", json={**BODY, "locale": "en"}, headers=admin).get_json()
    form = {**README_FORM, "customer.lifetime_value": "4,300.00", "case.order_value": "180.00", "proposal.amount": "120.00",
            "locale": "en", "lang": "en"}
    page = _text(_signed_in(app, keys["audit"]).get("/console/simulator", query_string=form))
    assert '<html lang="en">' in page and "Simulated answer: escalated" in page and "nothing was recorded" in page
    assert all(sentence in page for sentence in api["say"])


def test_fields_and_their_values_read_in_the_organisations_words(app: Any, keys: dict[str, str]) -> None:
    """The owner trial read `customer.tier`, "late_delivery" and "Texto" over a fixed list: now labels,
    value words (the option's value stays the id the API takes) and the id only as a hint."""
    page = _text(_signed_in(app, keys["admin"]).get("/console/simulator"))
    assert '<label for="f-customer-tier">Nivel del cliente</label>' in page
    assert '<option value="late_delivery">entrega con retraso</option>' in page
    assert '<option value="carrier">el transportista</option>' in page  # a built-in's own words
    assert 'en las reglas: <span class="ident">customer.tier</span>' in page
    tier_hint = re.search(r'id="f-customer-tier-hint">([^<]*)<', page)
    assert tier_hint is not None and tier_hint.group(1).startswith("Uno de la lista")
    english = _text(_signed_in(app, keys["admin"]).get("/console/simulator?lang=en"))
    assert '<label for="f-case-reason">Reason</label>' in english and ">late delivery</option>" in english


def test_the_customer_id_a_per_customer_cap_counts_is_marked_and_its_absence_refused_in_words(app: Any, keys: dict[str, str]) -> None:
    """A refund (counted by a per-customer cap) without customer.id: marked required beforehand, and the
    refusal in the page's language, naming the action and the cap by their labels."""
    client = _signed_in(app, keys["admin"])
    page = _text(client.get("/console/simulator"))
    assert re.search(r'Identificador del cliente <span class="required">\(obligatorio para [^)]*reembolso', page)
    form = {key: value for key, value in README_FORM.items() if key != "customer.id"}
    refused = client.get("/console/simulator", query_string=form)
    text = _text(refused)
    assert refused.status_code == 400 and 'href="#f-customer-id"' in text
    assert "obligatorio para reembolso: el tope por cliente «" in text and "per-customer cap" not in text


def test_a_tier_without_a_cell_for_the_action_reads_as_no_margin_not_as_no_limit(app: Any, keys: dict[str, str]) -> None:
    """The virtual assistant has no refund cell: "Límite del agente: ninguno" read as "unlimited" in the trial."""
    form = {**README_FORM, "agent.id": "bot-1", "case.days_since_purchase": "10"}
    page = _text(_signed_in(app, keys["admin"]).get("/console/simulator", query_string=form))
    limit = re.search(r"Límite del agente para esta acción</th><td>([^<]*)<", page)
    assert limit is not None and limit.group(1) == "sin margen: su nivel no puede concederlo por sí mismo"


def test_a_wrong_field_is_named_in_the_summary_and_beside_it(app: Any, keys: dict[str, str]) -> None:
    """The API's 422 as the form's errors: the summary links to the field; an amount the page's locale does not
    read is refused, never guessed."""
    client = _signed_in(app, keys["admin"])
    wrong = client.get("/console/simulator", query_string={**README_FORM, "case.days_since_purchase": "many"})
    page = _text(wrong)
    assert wrong.status_code == 400 and 'href="#f-case-days_since_purchase"' in page and 'aria-invalid="true"' in page
    unread = _text(client.get("/console/simulator", query_string={**README_FORM, "proposal.amount": "80.25",
                                                                  "case.contact_count": "two"}))
    assert 'href="#f-proposal-amount"' in unread and "1.234,50" in unread and 'id="result"' not in unread
    assert 'href="#f-case-contact_count"' in unread  # every problem at once, not one per try


@pytest.mark.parametrize("key, status", [("admin", 200), ("audit", 200), ("approver", 403), ("tool", 403)])
def test_only_policy_admins_and_auditors_see_the_simulator(app: Any, keys: dict[str, str], key: str, status: int) -> None:
    """Approvers and agent tools neither see the link nor get the page."""
    client = _signed_in(app, keys[key])
    assert client.get("/console/simulator").status_code == status
    assert ('href="/console/simulator"' in client.get("/console/").get_data(as_text=True)) == (status == 200)


def test_a_visitor_not_signed_in_is_sent_to_sign_in(app: Any) -> None:
    assert app.test_client().get("/console/simulator").headers["Location"].startswith("/console/login")


def _decided_and_opened_in_simulator(app: Any, keys: dict[str, str]) -> tuple[dict[str, Any], Any]:
    """BODY decided through the API, then its decision page's "Probar en el simulador" link followed
    by an auditor: (the decision as the API answered it, the simulator's response)."""
    tool = {"Authorization": f"Bearer {keys['tool']}"}
    decided = app.test_client().post("/v1/decisions", json=BODY, headers=tool).get_json()
    client = _signed_in(app, keys["audit"])
    decision_page = client.get(f"/console/decisions/{decided['decision_id']}").get_data(as_text=True)
    link = re.search(r'<a href="(/console/simulator\?[^"]+)">Probar en el simulador</a>', decision_page)
    assert link is not None
    return decided, client.get(html.unescape(link.group(1)))


def test_a_logged_decision_opens_in_the_simulator_with_masked_fields_left_blank(app: Any, keys: dict[str, str]) -> None:
    """"Probar en el simulador" fills in the logged request; customer.id was masked, so it stays blank and is named."""
    decided, opened = _decided_and_opened_in_simulator(app, keys)
    form = _text(opened)
    assert f"Rellenado con la petición de la decisión {decided['decision_id']}" in form
    assert "quedan en blanco: Identificador del cliente." in form and 'name="masked" value="customer.id"' in form
    # It runs at once; the refund's per-customer cap needs the masked id back, and says so beside it.
    assert opened.status_code == 400 and "obligatorio para reembolso" in form
    assert 'name="customer.id" value=""' in form and "[masked]" not in form
    assert '<option value="gold" selected>' in form and 'name="proposal.amount" value="120,00"' in form
    assert 'name="case.days_since_purchase" value="45"' in form and '<option value="ag-101" selected>' in form


def test_a_logged_decision_without_masked_fields_opens_answered(tmp_path: Path, keys: dict[str, str]) -> None:
    """"Probar en el simulador" answers at once: the trial's owner filled the form from the link and then
    had to find the button."""
    app = make_app(tmp_path, DEV=False, KEYS_FILE=str(tmp_path / "keys.json"))
    decided, opened = _decided_and_opened_in_simulator(app, keys)
    page = _text(opened)
    assert 'id="result"' in page and "Respuesta simulada: escalada" in page
    assert all(sentence in page for sentence in decided["say"])


def test_a_shadow_candidate_answers_side_by_side(tmp_path: Path, policies_copy: Path) -> None:
    """With `serve --shadow DIR`, the candidate's outcome, limit, words and rules stand beside the live
    answer, and neither is recorded; without one there is no such section."""
    from helpers import raise_refund_limit

    raise_refund_limit(policies_copy, 100)
    shadowed = make_app(tmp_path, SHADOW_POLICIES=str(policies_copy))
    form = {"agent.id": "ag-101", "customer.id": "cu-1", "customer.tier": "standard", "proposal.action": "refund",
            "proposal.amount": "60,00", "locale": "es", "run": "1"}
    page = shadowed.test_client().get("/console/simulator", query_string=form)
    assert page.status_code == 200, _text(page)
    spanish = _text(page)
    assert 'id="shadow"' in spanish and "En vigor" in spanish and "Candidata" in spanish
    assert re.search(r'id="shadow-outcome">permitida<', spanish) and re.search(r'id="shadow-limit">100,00\s€<', spanish)
    assert "escalada" in spanish  # the live answer
    assert shadowed.test_client().get("/v1/decisions").get_json()["items"] == []
    english = _text(shadowed.test_client().get("/console/simulator", query_string={**form, "proposal.amount": "60.00",
                                                                                   "lang": "en"}))
    assert "side by side" in english and re.search(r'id="shadow-outcome">allowed<', english)
    plain = make_app(tmp_path / "plain").test_client().get("/console/simulator", query_string=form)
    assert 'id="shadow"' not in _text(plain)


def test_switching_the_page_language_never_rereads_a_typed_amount(app: Any, keys: dict[str, str]) -> None:
    """The owner trial: "1.200" simulated in Spanish, then EN on the switch, became €1.20 and another outcome.
    The form says which locale its amounts were typed in; the English page reads them so, and shows them as
    it writes money."""
    client = _signed_in(app, keys["admin"])
    spanish = _text(client.get("/console/simulator", query_string={**README_FORM, "proposal.amount": "1.200", "typed_in": "es"}))
    assert 'name="typed_in" value="es"' in spanish and "1.200,00" in spanish
    english = _text(client.get("/console/simulator", query_string={**README_FORM, "proposal.amount": "1.200", "typed_in": "es",
                                                                   "lang": "en"}))
    assert "€1,200.00" in english and "€1.20" not in english
    assert 'name="proposal.amount" value="1200"' in english and 'name="typed_in" value="en"' in english
    api = app.test_client().post("/v1/simulations", json={**BODY, "proposal": {**BODY["proposal"], "amount": "1200.00"}},
                                 headers={"Authorization": f"Bearer {keys['admin']}"}).get_json()
    words = {"allow": "allowed", "escalate": "escalated", "handoff": "handed off", "deny": "denied"}
    assert f"Simulated answer: {words[api['outcome']]}" in english


@pytest.mark.parametrize(("typed", "said"), [
    ({"proposal.amount": ""}, "obligatorio para esta acción: escriba el importe que se propone"),
    ({"proposal.amount": "0"}, "cero no es una propuesta"),
    ({"proposal.amount": "-5"}, "Importe: no puede ser negativo"),
    ({"case.days_since_purchase": "cuarenta"}, "Días desde la compra: debe ser un número entero"),
    ({"proposal.action": "reshipment", "proposal.amount": "10"}, "esta acción es de sí o no: no lleva importe"),
])
def test_the_requests_own_refusals_read_in_spanish(app: Any, keys: dict[str, str], typed: dict[str, str], said: str) -> None:
    """The owner trial met "required for a money action", "zero is not a proposal", "must be a whole number"
    and "must be a decimal string such as 120.00" (for -5) on Spanish pages; a yes/no action's amount was
    silently ignored."""
    page = _signed_in(app, keys["admin"]).get("/console/simulator", query_string={**README_FORM, **typed})
    text = _text(page)
    assert page.status_code == 400 and said in text and 'lang="en"' not in text.split("<main")[-1]


def test_the_form_asks_who_and_what_first_with_a_person_chosen_and_languages_by_name(app: Any, keys: dict[str, str]) -> None:
    """Owner trial: the amount was the 26th Tab stop, the bot was the default agent, languages read "es"/"en"."""
    page = _text(_signed_in(app, keys["admin"]).get("/console/simulator"))
    assert page.index('name="agent.id"') < page.index('name="proposal.action"') < page.index('name="proposal.amount"') \
        < page.index('name="customer.id"')
    selected = re.search(r'<option value="([^"]+)" selected>', page[page.index('name="agent.id"'):])
    assert selected is not None and selected.group(1) != "bot-1"
    assert '<option value="es">español (es)</option>' in page and '<option value="en">inglés (en)</option>' in page


def test_fields_no_live_rule_reads_are_folded_away_and_open_when_filled(app: Any, keys: dict[str, str]) -> None:
    """A second trial (a bank) met a store's fields it never uses: fields the rules read come first; the
    rest sit in a closed "Otros campos" that opens when one of them was sent."""
    client = _signed_in(app, keys["admin"])
    page = _text(client.get("/console/simulator"))
    other = page.index('<details class="other-fields">')
    assert page.index('name="customer.tier"') < other  # gold_leeway reads it
    assert page.index('name="case.attributes.product_category"') > other  # no rule reads it
    assert "Otros campos (" in page and "ninguna regla en vigor los lee ahora" in page
    filled = _text(client.get("/console/simulator", query_string={"case.attributes.product_category": "ropa"}))
    assert '<details class="other-fields" open>' in filled
