"""The approvals inbox (docs/contract.md §9): an approver sees the escalations they may decide, decides
them through the same pipeline as the API, and sees the result, a 409 or a missing reason on the page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers import make_app

from policy_service.console.approvals import AmountError, amount_value
from policy_service.service.keys import ANY_AGENT, AgentScope, create_key


def junior_escalation(client: Any, headers: dict[str, str] | None = None, customer: str = "cu-9",
                      amount: str = "90.00") -> str:
    """A junior agent (ag-101, tier agent) proposes more compensation than its limit: it goes to a supervisor."""
    body = {"agent": {"id": "ag-101"}, "customer": {"id": customer, "tier": "standard"},
            "case": {"reason": "late_delivery", "fault": "carrier"},
            "proposal": {"action": "delivery_compensation", "amount": amount, "currency": "EUR"}, "locale": "es"}
    decision = client.post("/v1/decisions", json=body, headers=headers or {}).get_json()
    assert decision["outcome"] == "escalate", decision
    return decision["decision_id"]  # type: ignore[no-any-return]


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[Any, dict[str, str], dict[str, dict[str, str]]]:
    key_file = tmp_path / "keys.json"
    secrets = {
        "marta": create_key(key_file, "marta", ["approver"], scope=AgentScope(agent="sup-7")),
        "andres": create_key(key_file, "andres", ["approver"], scope=AgentScope(agent="sr-201")),
        "tool": create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT),
        "audit": create_key(key_file, "audit", ["auditor"]),
    }
    app = make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file))
    return app, secrets, {name: {"Authorization": f"Bearer {secret}"} for name, secret in secrets.items()}


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def signed_in(app: Any, secret: str) -> Any:
    client = app.test_client()
    token = _token(client.get("/console/login").get_data(as_text=True))
    assert client.post("/console/login", data={"key": secret, "csrf_token": token}).status_code == 302
    return client


def decide(client: Any, decision_id: str, **form: str) -> Any:
    token = _token(client.get("/console/approvals").get_data(as_text=True))
    return client.post(f"/console/approvals/{decision_id}", data={"csrf_token": token, **form})


def test_a_lead_approves_a_juniors_escalation_and_the_api_says_approved(keyed: Any) -> None:
    """The inbox lists it with the request in context; approving goes through decide_approval as sup-7."""
    app, secrets, headers = keyed
    api = app.test_client()
    decision_id = junior_escalation(api, headers["tool"])
    console = signed_in(app, secrets["marta"])
    inbox = console.get("/console/approvals").get_data(as_text=True)
    assert decision_id in inbox
    for shown in ("Lucía Pérez (ag-101)", "cu-9", "90,00\xa0€", "15,00\xa0€", "Supervisor", "reenvío sin coste",
                  "Aprobar", "Rechazar", "Aprueba como Marta Gil (sup-7)."):
        assert shown in inbox, shown
    assert "Uso de topes del cliente" not in inbox  # the caps listed include the agent's own, not just the customer's
    approved = decide(console, decision_id, verdict="approve", amount="90,00")
    assert approved.status_code == 303 and approved.headers["Location"] == "/console/approvals"
    assert (f"Aprobada la decisión {decision_id}: compensación por retraso para cu-9, 90,00\xa0€."
            in console.get("/console/approvals").get_data(as_text=True))
    state = api.get(f"/v1/decisions/{decision_id}", headers=headers["audit"]).get_json()["state"]
    assert state["approval"] == "approved" and state["approver_id"] == "sup-7" and state["approved_amount"] == "90.00"
    logged = api.get("/v1/decisions", headers=headers["audit"]).get_json()["items"]
    assert decision_id in {item["decision_id"] for item in logged}


def test_an_approver_may_approve_a_smaller_amount(keyed: Any) -> None:
    """"30,00" typed in a Spanish page is 30.00 to the service."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    assert decide(console, decision_id, verdict="approve", amount="30,00").status_code == 303
    state = app.test_client().get(f"/v1/decisions/{decision_id}", headers=headers["audit"]).get_json()["state"]
    assert state["approved_amount"] == "30.00"


def test_a_rejection_needs_a_reason(keyed: Any) -> None:
    """Without one: 422, an error summary linking to the reason field; with one, it is in the history."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    refused = decide(console, decision_id, verdict="reject", note="  ")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'<a href="#note-{decision_id}">Escriba el motivo del rechazo.</a>' in page
    assert 'aria-invalid="true"' in page
    assert decide(console, decision_id, verdict="reject", note="Ya se compensó por teléfono").status_code == 303
    history = console.get("/console/approvals?status=rejected").get_data(as_text=True)
    assert decision_id in history and "Ya se compensó por teléfono" in history
    assert "<td>Marta Gil (sup-7)</td>" in history  # "Decidida por": the person, by name and id
    state = app.test_client().get(f"/v1/decisions/{decision_id}", headers=headers["audit"]).get_json()["state"]
    assert state["approval"] == "rejected"


def test_a_decision_decided_elsewhere_is_a_message_not_a_failure(keyed: Any) -> None:
    """The API's 409 shows as a message on the inbox page."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    token = _token(console.get("/console/approvals").get_data(as_text=True))
    api = app.test_client()
    marta = {"Authorization": f"Bearer {secrets['marta']}"}
    assert api.post(f"/v1/decisions/{decision_id}/approval", json={"verdict": "reject", "note": "no"}, headers=marta).status_code == 201
    late = console.post(f"/console/approvals/{decision_id}", data={"csrf_token": token, "verdict": "approve"})
    assert late.status_code == 409
    assert f"La decisión {decision_id} ya estaba rechazada por Marta Gil (sup-7): no ha cambiado nada." in late.get_data(as_text=True)


def test_an_approver_sees_only_what_their_tier_may_decide(keyed: Any) -> None:
    """A senior agent's key does not see an escalation to a supervisor."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    inbox = signed_in(app, secrets["andres"]).get("/console/approvals").get_data(as_text=True)
    assert decision_id not in inbox and "No hay escalados pendientes" in inbox


def test_a_key_without_the_approver_role_sees_no_link_and_gets_the_403_page(keyed: Any) -> None:
    """Pages a role may not see are neither linked nor served."""
    app, secrets, _ = keyed
    auditor = signed_in(app, secrets["audit"])
    assert "/console/approvals" not in auditor.get("/console/").get_data(as_text=True)
    refused = auditor.get("/console/approvals")
    assert refused.status_code == 403 and "No tiene acceso a esta página" in refused.get_data(as_text=True)
    assert auditor.post("/console/approvals/dec_x", data={"csrf_token": _token(auditor.get("/console/").get_data(as_text=True)),
                                                          "verdict": "approve"}).status_code == 403
    approver = signed_in(app, secrets["marta"])
    assert 'href="/console/approvals"' in approver.get("/console/").get_data(as_text=True)


def test_a_verdict_without_its_csrf_token_is_refused(keyed: Any) -> None:
    """400, the refused-form page; nothing is decided."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    refused = console.post(f"/console/approvals/{decision_id}", data={"verdict": "approve"})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert app.test_client().get(f"/v1/decisions/{decision_id}", headers=headers["audit"]).get_json()["state"]["approval"] == "pending"


def test_under_dev_an_unbound_approver_picks_who_approves(tmp_path: Path) -> None:
    """The select offers the agents whose tier may decide it; the chosen one is the approver."""
    app = make_app(tmp_path)
    client = app.test_client()
    decision_id = junior_escalation(client)
    inbox = client.get("/console/approvals").get_data(as_text=True)
    select = re.search(rf'<select id="approver-approve-{decision_id}".*?</select>', inbox, re.S)
    assert select is not None
    offered = re.findall(r'<option value="([^"]+)"', select.group(0))
    assert offered == ["mgr-1", "sup-7", "sup-8"]
    assert decide(client, decision_id, verdict="approve", approver="sup-7").status_code == 303
    assert client.get(f"/v1/decisions/{decision_id}").get_json()["state"]["approver_id"] == "sup-7"


def test_an_approver_who_is_also_an_auditor_opens_the_decisions_page_from_the_inbox(tmp_path: Path) -> None:
    """Under --dev (every role) the decision id links to /console/decisions/<id>; an approver-only key's does not."""
    client = make_app(tmp_path).test_client()
    decision_id = junior_escalation(client)
    assert f'href="/console/decisions/{decision_id}"' in client.get("/console/approvals").get_data(as_text=True)


def test_an_approver_only_key_sees_the_id_without_a_link(keyed: Any) -> None:
    """A link it could not follow is not shown."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    inbox = signed_in(app, secrets["marta"]).get("/console/approvals").get_data(as_text=True)
    assert decision_id in inbox and f'href="/console/decisions/{decision_id}"' not in inbox


def test_pending_escalations_are_oldest_first_and_marked_overdue_after_the_setting(tmp_path: Path) -> None:
    """APPROVAL_OVERDUE_MINUTES (default 15) decides the overdue mark."""
    app = make_app(tmp_path, APPROVAL_OVERDUE_MINUTES=0)
    client = app.test_client()
    first, second = junior_escalation(client, customer="cu-1"), junior_escalation(client, customer="cu-2")
    inbox = client.get("/console/approvals").get_data(as_text=True)
    assert inbox.index(first) < inbox.index(second)
    assert inbox.count('class="tag tag-overdue"') == 2
    calm = make_app(tmp_path)
    assert 'class="tag tag-overdue"' not in calm.test_client().get("/console/approvals").get_data(as_text=True)


def test_the_inbox_refreshes_itself_without_losing_what_is_typed(tmp_path: Path) -> None:
    """The pending tab asks console.js to reload it (which waits while a form is in use) and links a refresh."""
    client = make_app(tmp_path).test_client()
    page = client.get("/console/approvals").get_data(as_text=True)
    assert 'data-refresh="30"' in page and "/console/static/console.js" in page and "Actualizar ahora" in page
    assert "data-refresh" not in client.get("/console/approvals?status=approved").get_data(as_text=True)
    assert client.get("/console/static/console.js").status_code == 200


def test_the_inbox_speaks_english_on_the_switch(tmp_path: Path) -> None:
    """?lang=en: the buttons, labels and money in English."""
    client = make_app(tmp_path).test_client()
    junior_escalation(client)
    page = client.get("/console/approvals?lang=en").get_data(as_text=True)
    assert "Approve" in page and "Reason for rejecting" in page and "€90.00" in page


@pytest.mark.parametrize("typed, unit, locale, sent", [
    ("", "money", "es", None), ("30", "money", "es", "30"), ("30,50", "money", "es", "30.50"),
    ("1.234,50", "money", "es", "1234.50"), ("2.000", "money", "es", "2000"), ("1.000,00", "money", "es", "1000.00"),
    ("30.50", "money", "en", "30.50"), ("1,234.50", "money", "en", "1234.50"), (" 3 ", "days", "es", "3")])
def test_an_amount_typed_in_either_language_reaches_the_service_in_its_spelling(typed: str, unit: str, locale: str,
                                                                               sent: str | None) -> None:
    """Read as the page's locale writes numbers: in Spanish a comma is the decimal mark and dots group
    thousands ("2.000" is two thousand); in English the other way round; empty means the full amount."""
    assert amount_value(typed, unit, locale) == sent


@pytest.mark.parametrize("typed, locale", [("80.25", "es"), ("1,234.50", "es"), ("1.2.3", "es"), ("abc", "es"),
                                           ("90,00", "en"), ("1.234,50", "en")])
def test_an_amount_the_locale_does_not_read_one_way_is_refused_not_reinterpreted(typed: str, locale: str) -> None:
    """"80.25" on a Spanish page could be 8025 or 80,25: it is an error, never a guess."""
    with pytest.raises(AmountError):
        amount_value(typed, "money", locale)


def test_two_thousand_typed_the_spanish_way_is_refused_as_more_than_proposed(keyed: Any) -> None:
    """"2.000" on a Spanish page is 2000 €, more than the 90 € proposed: refused in Spanish, nothing approved,
    the summary linking to the amount field on the page."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    refused = decide(console, decision_id, verdict="approve", amount="2.000")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert (f'<a href="#amount-{decision_id}">Solo puede aprobar un importe menor que el propuesto (90,00\xa0€), '
            f'no mayor ni cero.</a>') in page
    assert f'id="amount-{decision_id}"' in page and "lower the proposed amount" not in page
    state = app.test_client().get(f"/v1/decisions/{decision_id}", headers=headers["audit"]).get_json()["state"]
    assert state["approval"] == "pending"


@pytest.mark.parametrize("typed", ["80.25", "1,5.0", "ochenta"])
def test_an_amount_written_the_english_way_on_the_spanish_page_says_how_to_write_it(keyed: Any, typed: str) -> None:
    """"80.25" could be 8025 or 80,25: the page asks for "1.234,50" instead of guessing, and approves nothing."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    refused = decide(console, decision_id, verdict="approve", amount=typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'<a href="#amount-{decision_id}">«{typed}» no se lee como un importe: escriba el importe como 1.234,50' in page
    assert f'id="amount-{decision_id}"' in page and f'value="{typed}"' in page
    state = app.test_client().get(f"/v1/decisions/{decision_id}", headers=headers["audit"]).get_json()["state"]
    assert state["approval"] == "pending"


def test_the_english_page_reads_a_decimal_point(keyed: Any) -> None:
    """On the English page "80.25" is €80.25."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    console.get("/console/approvals?lang=en")
    assert decide(console, decision_id, verdict="approve", amount="80.25").status_code == 303
    state = app.test_client().get(f"/v1/decisions/{decision_id}", headers=headers["audit"]).get_json()["state"]
    assert state["approved_amount"] == "80.25"


def test_a_refused_form_does_not_reload_itself_and_its_url_opened_is_the_inbox(keyed: Any) -> None:
    """The page answering a POST has no auto-refresh (a reload would send the form again); opening the
    form's URL (a reload, a bookmark) goes to the inbox page, not the API's JSON 405."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    page = decide(console, decision_id, verdict="reject", note="").get_data(as_text=True)
    assert "data-refresh" not in page and "console.js" not in page and "se actualiza sola" not in page
    assert 'data-refresh="30"' in console.get("/console/approvals").get_data(as_text=True)
    opened = console.get(f"/console/approvals/{decision_id}")
    assert opened.status_code == 303 and opened.headers["Location"].startswith("/console/approvals")
    assert "text/html" in console.get(f"/console/approvals/{decision_id}", follow_redirects=True).content_type


def test_the_result_of_a_form_takes_the_focus(keyed: Any) -> None:
    """The error summary and the confirmation carry autofocus, so the keyboard lands on them, not at the top."""
    app, secrets, headers = keyed
    decision_id = junior_escalation(app.test_client(), headers["tool"])
    console = signed_in(app, secrets["marta"])
    refused = decide(console, decision_id, verdict="reject", note="").get_data(as_text=True)
    assert re.search(r'<div class="error-summary"[^>]*tabindex="-1" autofocus>', refused)
    decide(console, decision_id, verdict="reject", note="duplicada")
    assert re.search(r'<p class="notice" role="status" tabindex="-1" autofocus>Rechazada',
                     console.get("/console/approvals").get_data(as_text=True))


def test_a_supervisor_on_a_managers_escalation_is_told_in_spanish_beside_the_card(keyed: Any) -> None:
    """The service's English refusal becomes the page's words, with names and tier labels, and its link
    goes to the decision's card, which is on the page (a bound key has no approver list)."""
    app, secrets, headers = keyed
    senior = {"agent": {"id": "sr-201"}, "customer": {"id": "cu-901"},
              "proposal": {"action": "refund", "amount": "1200.00", "currency": "EUR"}}
    answer = app.test_client().post("/v1/decisions", json=senior, headers=headers["tool"]).get_json()
    assert answer["escalation"]["to_tier"] == "manager", answer
    other = junior_escalation(app.test_client(), headers["tool"])  # keeps the inbox non-empty
    console = signed_in(app, secrets["marta"])
    token = _token(console.get("/console/approvals").get_data(as_text=True))
    refused = console.post(f"/console/approvals/{answer['decision_id']}", data={"csrf_token": token, "verdict": "approve"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "Marta Gil (sup-7) tiene el nivel Supervisor; este escalado necesita" in page
    assert "or above" not in page and other in page
    link = re.search(r'<a href="#([^"]+)">Marta Gil', page)
    assert link and (link.group(1) == f"decision-{answer['decision_id']}")


@pytest.mark.parametrize("message", [
    "an approval may lower the proposed amount, not raise it or make it zero",
    'must be a decimal string such as "120.00"',
    'must be an amount: a decimal string such as "120.00" or a number',
    "sup-7 is supervisor; this escalation needs manager or above",
    "sup-7's own limit and caps cover 50.00 of refund here, not 80.00",
    'unknown agent "zz-1"',
    "decision dec_1 was allow, not escalated: nothing awaits approval",
    "an outcome is already recorded for decision dec_1: nothing awaits approval",
    "the stored request cannot be decided again (fields were masked before storage, or x)",
    "Missing data for required field.",
])
@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_refusal_a_console_user_can_meet_is_in_the_pages_language(tmp_path: Path, message: str, lang: str) -> None:
    """Each refusal of decide_approval that can reach the inbox has console words in both languages."""
    from policy_service.console.approvals import REFUSALS, refusal_words
    app = make_app(tmp_path)
    with app.test_request_context(f"/console/approvals?lang={lang}"):
        assert any(pattern.match(message) for pattern, _ in REFUSALS), message
        words = refusal_words(message)
        assert words != message and "{" not in words
        if lang == "es":
            assert not re.search(r"\b(the|is|not|must|approval|above)\b", words), words


def test_why_it_escalated_reads_the_rules_that_held_it_back_in_words(keyed: Any) -> None:
    """The README's refund (gold customer, 45-day-old purchase): the rule that wants a supervisor, in words;
    not the gold customer's leeway, which only raised the limit (owner trial)."""
    from helpers import BODY

    app, secrets, headers = keyed
    decision = app.test_client().post("/v1/decisions", json=BODY, headers=headers["tool"]).get_json()
    assert decision["outcome"] == "escalate" and "refunds/gold_leeway" in decision["rules"]
    inbox = signed_in(app, secrets["marta"]).get("/console/approvals").get_data(as_text=True)
    why = inbox[inbox.index("Por qué se escaló"):][:1500]
    assert "<li>Si la compra tiene más de 30 días: el reembolso lo autoriza un supervisor; ofrecer crédito en tienda</li>" in why
    assert "multiplican" not in why and "refunds/gold_leeway" not in why
