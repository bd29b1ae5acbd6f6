"""The auditors' pages (docs/contract.md §9; policy_service/console/decision_log.py): the log with the
API's filters, cursor pages and exports, one decision as evidence, a stored revision with its rules
anchored, verifying the chain, and who may see them."""

from __future__ import annotations

import html as html_module
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, make_app, small_refund

from policy_service.console import decision_log
from policy_service.service.keys import ANY_AGENT, AgentScope, create_key


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "keys.json"
    return {"audit": create_key(key_file, "audit", ["auditor"]),
            "marta": create_key(key_file, "marta", ["approver"], scope=AgentScope(agent="sup-7")),
            "tool": create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT)}


@pytest.fixture
def app(tmp_path: Path, keys: dict[str, str]) -> Any:
    return make_app(tmp_path, DEV=False, KEYS_FILE=str(tmp_path / "keys.json"))


def _signed_in(app: Any, secret: str) -> Any:
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").get_data(as_text=True))
    assert token is not None
    assert client.post("/console/login", data={"key": secret, "csrf_token": token.group(1)}).status_code == 302
    return client


def _decide(app: Any, keys: dict[str, str]) -> dict[str, str]:
    """An escalated refund (ag-101, cu-88) approved by sup-7 and granted, and a small refund of ag-101 (cu-1)."""
    api = app.test_client()
    tool = {"Authorization": f"Bearer {keys['tool']}"}
    escalated = api.post("/v1/decisions", json=BODY, headers=tool).get_json()
    marta = {"Authorization": f"Bearer {keys['marta']}"}
    api.post(f"/v1/decisions/{escalated['decision_id']}/approval", json={"approver_id": "sup-7", "verdict": "approve",
                                                                         "amount": "100.00"}, headers=marta)
    api.post(f"/v1/decisions/{escalated['decision_id']}/outcome", json={"action": "refund", "amount": "90.00"}, headers=tool)
    small = api.post("/v1/decisions", json=small_refund(), headers=tool).get_json()
    other = api.post("/v1/decisions", json={**small_refund(), "agent": {"id": "sr-201"}}, headers=tool).get_json()
    return {"escalated": escalated["decision_id"], "small": small["decision_id"], "other": other["decision_id"],
            "revision": escalated["policy_revision"]}


def test_an_auditor_finds_decisions_by_agent_with_time_money_and_state_in_spanish(app: Any, keys: dict[str, str]) -> None:
    """agent_id from the directory's list keeps sr-201's decision out; each row reads as a Spanish page
    writes it (120,00 €, the state after approval and outcome) and links to the decision."""
    ids = _decide(app, keys)
    html = _signed_in(app, keys["audit"]).get("/console/decisions?agent_id=ag-101").get_data(as_text=True)
    assert '<html lang="es">' in html and "Registro de decisiones" in html
    assert ids["escalated"] in html and ids["small"] in html and ids["other"] not in html
    assert "120,00\xa0€" in html and "aprobada: 100,00\xa0€" in html and "concedido: reembolso, 90,00\xa0€" in html
    assert f'href="/console/decisions/{ids["escalated"]}?log=agent_id%3Dag-101"' in html
    assert '<option value="ag-101" selected>' in html


def test_an_agent_typed_by_hand_filters_and_stays_in_its_field(app: Any, keys: dict[str, str]) -> None:
    """An id no longer in the directory goes in the free-text field, which stands before the list."""
    ids = _decide(app, keys)
    html = _signed_in(app, keys["audit"]).get("/console/decisions?agent_id=ag-101&agent_other=sr-201").get_data(as_text=True)
    assert ids["other"] in html and ids["small"] not in html
    html = _signed_in(app, keys["audit"]).get("/console/decisions?agent_other=gone-7").get_data(as_text=True)
    assert 'name="agent_other" value="gone-7"' in html and "Ninguna decisión cumple estos filtros." in html


def test_cursor_pages_go_forward_and_back_with_the_same_filters(app: Any, keys: dict[str, str]) -> None:
    """One decision a page, newest first: next, next, then previous twice returns to the first page."""
    ids = _decide(app, keys)
    client = _signed_in(app, keys["audit"])

    def follow(html: str, rel: str) -> str:
        link = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
        assert link is not None, rel
        return str(client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True))

    first = client.get("/console/decisions?limit=1&policy=refunds").get_data(as_text=True)
    assert ids["other"] in first and 'rel="prev"' not in first
    second = follow(first, "next")
    third = follow(second, "next")
    assert ids["small"] in second and ids["escalated"] in third and 'rel="next"' not in third
    previous = re.search(r'<a href="([^"]+)" rel="prev">', third)
    assert previous is not None and "policy=refunds" in previous.group(1) and "limit=1" in previous.group(1)
    assert ids["small"] in follow(third, "prev")
    assert ids["other"] in follow(follow(third, "prev"), "prev")


def test_wrong_filters_are_named_in_a_summary_and_beside_their_fields(app: Any, keys: dict[str, str]) -> None:
    """A misspelt bare rule and a bad date: 400, each in the summary linking to its field, the rule's
    did-you-mean beside it, and no exports offered for filters that do not hold."""
    _decide(app, keys)
    answer = _signed_in(app, keys["audit"]).get("/console/decisions?from=ayer&rule=gold_leewey")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'class="error-summary"' in html
    assert html.index('<a href="#f-rule">Regla: ') < html.index('<a href="#f-from">Desde: ')  # the form's order
    assert 'id="f-rule-error">ninguna política vigente tiene la regla «gold_leewey»; ¿quería decir «gold_leeway»?<' in html
    assert 'aria-describedby="f-rule-hint f-rule-error"' in html and "decisions/export" not in html


def test_a_cursor_from_other_filters_sends_back_to_the_first_page(app: Any, keys: dict[str, str]) -> None:
    _decide(app, keys)
    html = _signed_in(app, keys["audit"]).get("/console/decisions?cursor=bogus&agent_id=ag-101").get_data(as_text=True)
    assert '<a href="#f-cursor">Página: La página pedida no corresponde a estos filtros.' in html
    assert 'href="/console/decisions?agent_id=ag-101">Primera página' in html


def test_the_three_exports_carry_the_filters_and_stream_under_the_session(app: Any, keys: dict[str, str]) -> None:
    """The page's CSV, Spanish-Excel CSV and JSONL links are the API's exports, byte for byte, which the
    session cookie alone could not open (the API takes keys in headers)."""
    _decide(app, keys)
    client = _signed_in(app, keys["audit"])
    html = client.get("/console/decisions?agent_id=ag-101&outcome=escalate").get_data(as_text=True)
    links = [href.replace("&amp;", "&") for href in re.findall(r'<a href="(/console/decisions/export\?[^"]+)" download>', html)]
    assert len(links) == 3 and all("agent_id=ag-101" in link and "outcome=escalate" in link for link in links)
    api = app.test_client()
    for link in links:
        mine = client.get(link, buffered=True)
        theirs = api.get(link.replace("/console/decisions/export", "/v1/decisions/export"), buffered=True,
                         headers={"Authorization": f"Bearer {keys['audit']}"})
        assert mine.status_code == 200 and mine.data == theirs.data and mine.mimetype == theirs.mimetype
        if "excel_es" not in link:
            assert mine.headers["Content-Disposition"] == theirs.headers["Content-Disposition"]
    assert client.get(links[1], buffered=True).get_data(as_text=True).startswith("\ufeffseq;")
    # Both of ag-101's escalations (60 € is over its 50 € limit too), and the approval and outcome of the first.
    assert len(client.get(links[2], buffered=True).get_data(as_text=True).splitlines()) == 4
    assert client.get("/v1/decisions/export?format=csv").status_code == 401


def test_a_decision_reads_as_the_agent_saw_it_with_why_events_state_and_hashes(app: Any, keys: dict[str, str]) -> None:
    """The words, options and escalation as answered; each fired rule's text from the decision's
    revision, linked to its anchor there; the approval and outcome; seq, prev_hash, hash and caller."""
    ids = _decide(app, keys)
    client = _signed_in(app, keys["audit"])
    answer = app.test_client().get(f"/v1/decisions/{ids['escalated']}", headers={"Authorization": f"Bearer {keys['audit']}"}).get_json()
    html = client.get(f"/console/decisions/{ids['escalated']}").get_data(as_text=True)
    assert "Por qué se escaló" in html
    # The rule that held it back, in words, before the one that only raised the limit (the trial read
    # the gold customer's leeway as a reason to escalate); the YAML stays one click away.
    held = html.index("Lo que impidió concederlo sin más")
    sentence = html.index("Si la compra tiene más de 30 días: el reembolso lo autoriza un supervisor")
    shaped = html.index("Otras reglas que se aplicaron")
    leeway = html.index("Si el nivel del cliente es oro o platino: los límites se multiplican por 1,5")
    assert held < sentence < shaped < leeway
    assert "require_tier: {refund: supervisor}" in html and "<summary>Ver el YAML de la regla" in html
    assert f'href="/console/revisions/{ids["revision"]}#refunds/outside_return_window"' in html
    for sentence in answer["say"]:
        assert sentence in html
    assert "hasta 112,50\xa0€" in html and "Al nivel Supervisor" in html
    assert "aprueba 100,00\xa0€" in html and "sup-7" in html and "concedido: reembolso, 90,00\xa0€" in html
    assert "refunds/customer_goodwill_90d" in html and "300,00\xa0€" in html
    hashes = re.findall(r'<td class="hash">([0-9a-f]{64})</td>', html)
    assert len(hashes) == 6 and hashes[0] == "0" * 64 and hashes[2] == hashes[1] and hashes[4] == hashes[3]
    assert "<td>tool</td>" in html and '&#34;tier&#34;: &#34;gold&#34;' in html


def test_an_unknown_decision_is_the_404_page(app: Any, keys: dict[str, str]) -> None:
    answer = _signed_in(app, keys["audit"]).get("/console/decisions/dec_nothing")
    assert answer.status_code == 404 and "No hay ninguna decisión dec_nothing" in answer.get_data(as_text=True)


def test_a_stored_revision_shows_its_files_with_every_rule_anchored(app: Any, keys: dict[str, str]) -> None:
    ids = _decide(app, keys)
    client = _signed_in(app, keys["audit"])
    html = client.get(f"/console/revisions/{ids['revision']}").get_data(as_text=True)
    assert 'id="refunds/outside_return_window"' in html and 'id="fees/loyal_customer"' in html
    assert "organization.yaml" in html and "(línea 30)" in html
    assert client.get("/console/revisions/sha256:nothing").status_code == 404


def test_verify_from_the_page_says_what_it_found_in_words(app: Any, keys: dict[str, str]) -> None:
    """Intact: entries and head. An anchor past the end: the newest entries were deleted. A malformed
    anchor: 400 with the message beside the field."""
    _decide(app, keys)
    client = _signed_in(app, keys["audit"])
    assert 'name="run"' in client.get("/console/audit").get_data(as_text=True)
    ok = client.get("/console/audit?run=1").get_data(as_text=True)
    assert "La cadena está íntegra: 5 entradas comprobadas." in ok
    head = re.search(r'<span class="hash">(5:[0-9a-f]{64})</span>', ok)
    assert head is not None
    assert "íntegra" in client.get(f"/console/audit?run=1&anchors={head.group(1)}").get_data(as_text=True)
    cut = client.get(f"/console/audit?run=1&anchors=9:{'0' * 64}").get_data(as_text=True)
    assert "NO está íntegra" in cut and "se borraron las últimas" in cut
    # A mistyped anchor is not called tampering: it says the two possibilities.
    mismatch = client.get(f"/console/audit?run=1&anchors=1:{'a' * 64}").get_data(as_text=True)
    assert "no coincide con el ancla" in mismatch and "se modificó" not in mismatch
    bad = client.get("/console/audit?run=1&anchors=12")
    assert bad.status_code == 400 and 'id="f-anchor-error"' in bad.get_data(as_text=True)


def test_only_auditors_see_and_reach_the_log(app: Any, keys: dict[str, str]) -> None:
    """An approver-only key: no links to the log or verify, and the 403 page on each of them."""
    ids = _decide(app, keys)
    approver = _signed_in(app, keys["marta"])
    assert "Registro de decisiones" not in approver.get("/console/").get_data(as_text=True)
    for path in ("/console/decisions", f"/console/decisions/{ids['escalated']}", "/console/decisions/export?format=csv",
                 "/console/audit?run=1"):
        refused = approver.get(path)
        assert refused.status_code == 403 and "No tiene acceso a esta página" in refused.get_data(as_text=True), path
    home = _signed_in(app, keys["audit"]).get("/console/").get_data(as_text=True)
    assert 'href="/console/decisions"' in home and 'href="/console/audit"' in home


def test_the_pages_are_english_on_the_switch(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    client.post("/v1/decisions", json=BODY)
    html = client.get("/console/decisions?lang=en").get_data(as_text=True)
    assert "Decision log" in html and "€120.00" in html and "awaiting approval" in html
    assert "Verify the chain" in client.get("/console/audit").get_data(as_text=True)


def test_the_apis_messages_read_in_the_pages_language(tmp_path: Path) -> None:
    """Each known message of the filters' schemas and rule resolution has Spanish and English words; an
    unknown one is shown as given, marked English."""
    app = make_app(tmp_path)
    with app.test_request_context("/console/decisions?lang=es"):
        assert decision_log.in_words('no live policy has a rule "x"; did you mean "y"?') == (
            "ninguna política vigente tiene la regla «x»; ¿quería decir «y»?", None)
        assert decision_log.in_words('"g" is a rule of 2 policies (a/g, b/g): give it as policy/rule')[0] == (
            "«g» es una regla de varias políticas (a/g, b/g): escríbala como política/regla")
        assert decision_log.in_words("Must be one of: allow, escalate, handoff, deny.")[0] == (
            "debe ser uno de: allow, escalate, handoff, deny")
        assert decision_log.in_words('"ayer" is not an ISO date or date-time (2026-11-01, 2026-11-01T09:00:00Z)')[0].startswith("«ayer» no es")
        assert decision_log.in_words("something new") == ("something new", "en")
    with app.test_request_context("/console/decisions?lang=en"):
        assert decision_log.in_words('no live policy has the rule "p/x" and no logged decision fired it')[0] == (
            "no live policy has the rule \u201cp/x\u201d and no logged decision fired it")


def test_why_names_the_limit_or_the_cap_when_no_rule_required_a_tier(tmp_path: Path) -> None:
    """A refund over ag-101's own limit says so with both amounts; a second compensation stopped by the
    customer's cap names the binding cap."""
    client = make_app(tmp_path).test_client()
    over = client.post("/v1/decisions", json=small_refund()).get_json()
    html = client.get(f"/console/decisions/{over['decision_id']}").get_data(as_text=True)
    assert "Lo propuesto (60,00\xa0€) supera lo que este agente puede conceder solo (50,00\xa0€)." in html
    compensation = {"agent": {"id": "sr-201"}, "customer": {"id": "cu-9", "tier": "standard"},
                    "case": {"reason": "late_delivery", "fault": "carrier"},
                    "proposal": {"action": "delivery_compensation", "amount": "40.00", "currency": "EUR"}}
    client.post("/v1/decisions", json=compensation)
    capped = client.post("/v1/decisions", json=compensation).get_json()
    binding = [c["id"] for c in capped["caps"] if c.get("binding")]
    assert capped["outcome"] == "escalate" and binding, capped
    html = client.get(f"/console/decisions/{capped['decision_id']}").get_data(as_text=True)
    assert f"El tope {binding[0]} es lo que lo impide" in html and "supera lo que este agente" not in html


def test_the_two_csv_downloads_have_different_names(app: Any, keys: dict[str, str]) -> None:
    """The plain CSV and the Spanish-Excel CSV land as two files, not one replacing the other."""
    _decide(app, keys)
    client = _signed_in(app, keys["audit"])
    names = [client.get(f"/console/decisions/export?format=csv{extra}", buffered=True).headers["Content-Disposition"]
             for extra in ("", "&excel_es=true")]
    assert names == ['attachment; filename="decisions.csv"', 'attachment; filename="decisions-excel-es.csv"']


def test_back_to_the_log_keeps_the_filters_the_decision_was_opened_from(app: Any, keys: dict[str, str]) -> None:
    """Open a decision from a filtered list, "Volver al registro" returns to that list, not the whole log;
    only the log's own arguments come back (the link goes nowhere else)."""
    ids = _decide(app, keys)
    client = _signed_in(app, keys["audit"])
    listed = client.get("/console/decisions?agent_id=ag-101&outcome=escalate").get_data(as_text=True)
    link = re.search(rf'href="(/console/decisions/{ids["escalated"]}\?[^"]+)"', listed)
    assert link is not None
    page = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    back = re.search(r'<a href="([^"]+)">Volver al registro</a>', page)
    assert back is not None and back.group(1).replace("&amp;", "&") == "/console/decisions?agent_id=ag-101&outcome=escalate"
    forged = client.get(f"/console/decisions/{ids['escalated']}?log=next%3Dhttps://evil.example%26rule%3Dx").get_data(as_text=True)
    assert '<a href="/console/decisions?rule=x">Volver al registro</a>' in forged


def test_one_decision_on_a_page_is_said_in_the_singular(app: Any, keys: dict[str, str]) -> None:
    """"1 decisión en esta página", not "1 decisiones"."""
    _decide(app, keys)
    html = _signed_in(app, keys["audit"]).get("/console/decisions?agent_id=sr-201").get_data(as_text=True)
    assert "1 decisión en esta página." in html and "1 decisiones" not in html


def test_the_audit_page_speaks_spanish_down_to_the_technical_detail(app: Any, keys: dict[str, str]) -> None:
    """The newest entry is "Última entrada" (not "Cabeza"), and the first problem's detail is in Spanish."""
    _decide(app, keys)
    client = _signed_in(app, keys["audit"])
    assert "Última entrada:" in client.get("/console/audit?run=1").get_data(as_text=True)
    cut = client.get(f"/console/audit?run=1&anchors=9:{'0' * 64}").get_data(as_text=True)
    assert "La entrada 9 está anclada, pero el registro termina en el nº 5: se borraron entradas del final." in cut
    assert "is anchored but" not in cut and '<dd lang="en">' not in cut


@pytest.mark.parametrize("detail", [
    "entry 3 missing: the log jumps from seq 2 to 4", "entries 3 to 5 missing: the log jumps from seq 2 to 6",
    "entry 3 (dec_1) was not written with the log key: forged by someone without it",
    "entry 3 (dec_1) was edited: its content no longer gives its hash",
    "entry 3 (dec_1) does not follow entry 2: one of them was inserted, replaced or re-hashed",
    "entry 3 (dec_1) differs from the anchor noted for it",
    "entry 9 is anchored but the log ends at seq 5: entries were deleted from its end",
    "the rule index of entry 3 does not match its chained rules ['a/b']",
    "budget rows at entry 3 name decisions ['dec_2'], not dec_1", "entry 3 granted refund but its budget rows are missing",
    "the approval request of escalated decision dec_1 is missing or moved",
    "rule rows at seq 3 belong to no chained entry", "budget rows at seq 3 belong to no chained entry",
    "an approval request for dec_1 belongs to no escalated decision",
    "policy revision sha256:ab was edited: its files no longer give its hash",
])
def test_every_detail_verify_can_give_has_spanish_words(tmp_path: Path, detail: str) -> None:
    """Each detail of decisionlog's verify (chain.py, audit.py) is a known message, not English on the page."""
    with make_app(tmp_path).test_request_context("/console/audit?lang=es"):
        words, lang = decision_log.in_words(detail, decision_log.DETAILS)
        assert lang is None and words != detail and "{" not in words


def test_the_escalation_reads_in_the_page_language_and_its_sentence_once(app: Any, keys: dict[str, str]) -> None:
    """A Spanish decision on an English page: "To tier Supervisor", not the customer's "Gerente" label
    of the answer; the escalation's sentence is among the words, so it is not repeated (owner trial)."""
    ids = _decide(app, keys)
    client = _signed_in(app, keys["audit"])
    english = client.get(f"/console/decisions/{ids['escalated']}?lang=en").get_data(as_text=True)
    assert "To tier Supervisor" in english
    answer = app.test_client().get(f"/v1/decisions/{ids['escalated']}", headers={"Authorization": f"Bearer {keys['audit']}"}).get_json()
    assert english.count(html_module.escape(answer["escalation"]["say"], quote=True)) == 1
