"""The approvals inbox in a real browser (docs/contract.md §9, issue 15): the distribution's Chromium driven
by Playwright against a real `policy-service serve` (gunicorn, two workers, a key file). A supervisor key
bound to a lead signs in, sees the escalation a junior agent just raised through the API, and approves it;
the agent's tool then reads `state.approval == "approved"` through the API. A wrong key, a form without
its CSRF token and a key without the role are refused; the pages are Spanish first and English on the
switch; keyboard-only approval works; axe-core finds no serious or critical violation on any page."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from browsing import keep_screenshot, needs_chromium, serious_violations, sign_in
from helpers import ROOT
from servers import call, start_instance, wait_until_serving

from policy_service.service.keys import ANY_AGENT, AgentScope, create_key

SCREENSHOT = ROOT / "docs" / "img" / "console-approvals.png"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`policy-service serve` with two workers and no POLICY_SERVICE_SECRET_KEY (the instance makes one,
    so a session signed by one worker must be read by the other), and the keys of the story."""
    tmp_path = tmp_path_factory.mktemp("approvals")
    key_file = tmp_path / "keys.json"
    keys = {"marta": create_key(key_file, "marta", ["approver"], scope=AgentScope(agent="sup-7")),
            "tool": create_key(key_file, "crm-tool", ["agent_tool"], scope=AgentScope(agent="ag-101")),
            "audit": create_key(key_file, "ines", ["auditor"]),
            "integration": create_key(key_file, "crm", ["agent_tool"], scope=ANY_AGENT)}
    environment = os.environ.pop("POLICY_SERVICE_SECRET_KEY", None)
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path, "--keys", str(key_file), workers=2)
    try:
        wait_until_serving(port, server)
        yield {"base": f"http://127.0.0.1:{port}", "port": port, "keys": keys}
    finally:
        server.terminate()
        server.wait(30)
        if environment is not None:
            os.environ["POLICY_SERVICE_SECRET_KEY"] = environment


def api(site: dict[str, Any], method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    status, _, payload = call(site["port"], method, path, body, {"Authorization": f"Bearer {site['keys'][key]}"})
    return status, json.loads(payload) if payload else None


def junior_escalates(site: dict[str, Any], customer: str, amount: str = "90.00") -> str:
    """The junior agent's tool (a key bound to ag-101) proposes more compensation than ag-101 may give."""
    status, decision = api(site, "POST", "/v1/decisions", "tool", {
        "customer": {"id": customer, "tier": "standard"}, "case": {"reason": "late_delivery", "fault": "carrier"},
        "proposal": {"action": "delivery_compensation", "amount": amount, "currency": "EUR"}, "locale": "es"})
    assert status == 201 and decision["outcome"] == "escalate", decision
    return decision["decision_id"]  # type: ignore[no-any-return]


def test_a_lead_approves_the_escalation_a_junior_just_raised(page: Any, site: dict[str, Any]) -> None:
    """Sign in with a key bound to sup-7, find the escalation in the inbox, approve it; the API says approved."""
    decision_id = junior_escalates(site, "cu-501")
    sign_in(page, site, "marta")
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Aprobaciones").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Aprobaciones"
    card = page.locator(f"#decision-{decision_id}")
    assert "Lucía Pérez (ag-101)" in card.inner_text() and "90,00\xa0€" in card.inner_text()
    assert "15,00\xa0€" in card.inner_text()  # the agent's own limit, beside the amount
    assert not serious_violations(page)
    keep_screenshot(page, SCREENSHOT, 1250)
    card.get_by_role("button", name="Aprobar").click()
    assert (f"Aprobada la decisión {decision_id}: compensación por retraso para cu-501, 90,00\xa0€."
            in page.get_by_role("status").first.inner_text())
    assert page.locator(f"#decision-{decision_id}").count() == 0
    status, decision = api(site, "GET", f"/v1/decisions/{decision_id}", "tool")
    assert status == 200 and decision["state"]["approval"] == "approved" and decision["state"]["approver_id"] == "sup-7"
    page.get_by_role("link", name="Aprobadas").click()
    assert decision_id in page.locator("table").inner_text()
    assert not serious_violations(page)


def test_keyboard_only_approval_of_a_smaller_amount(page: Any, site: dict[str, Any]) -> None:
    """Tab to the key, type it, Enter; Tab to the amount, type a smaller one, Enter: approved at 40 €."""
    decision_id = junior_escalates(site, "cu-502")
    page.goto(site["base"] + "/console/approvals")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "key":
            break
    page.keyboard.type(site["keys"]["marta"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", level=1).inner_text() == "Aprobaciones"
    amount_id = f"amount-{decision_id}"
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == amount_id:
            break
    assert page.evaluate("document.activeElement.id") == amount_id
    focused_outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focused_outline != "none"  # focus is visible
    page.keyboard.press("Control+A")
    page.keyboard.type("40,00")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aprobar"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"Aprobada la decisión {decision_id}: compensación por retraso para cu-502, 40,00\xa0€." in \
        page.get_by_role("status").first.inner_text()
    # The keyboard lands on the confirmation, not back at the top of the page.
    assert page.evaluate("document.activeElement.getAttribute('role')") == "status"
    status, decision = api(site, "GET", f"/v1/decisions/{decision_id}", "tool")
    assert decision["state"]["approved_amount"] == "40.00"


def test_a_rejection_without_a_reason_is_an_error_summary_then_rejected_with_one(page: Any, site: dict[str, Any]) -> None:
    """The summary links to the reason field; typed there, the rejection goes through."""
    decision_id = junior_escalates(site, "cu-503")
    sign_in(page, site, "marta", "/console/approvals")
    card = page.locator(f"#decision-{decision_id}")
    card.get_by_role("button", name="Rechazar").click()
    summary = page.locator(".error-summary")
    assert "Escriba el motivo del rechazo." in summary.inner_text()
    assert page.evaluate("document.activeElement.className") == "error-summary"  # focused, so it is read first
    assert page.evaluate("document.body.hasAttribute('data-refresh')") is False  # would re-send the form
    assert not serious_violations(page)
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == f"note-{decision_id}"
    page.keyboard.type("Ya se compensó en tienda")
    page.locator(f"#decision-{decision_id}").get_by_role("button", name="Rechazar").click()
    assert f"Rechazada la decisión {decision_id}: compensación por retraso para cu-503." in \
        page.get_by_role("status").first.inner_text()
    assert api(site, "GET", f"/v1/decisions/{decision_id}", "tool")[1]["state"]["approval"] == "rejected"


def test_a_wrong_key_is_refused_without_saying_why(page: Any, site: dict[str, Any]) -> None:
    """One sentence in the error summary, the field marked invalid."""
    page.goto(site["base"] + "/console/login")
    page.get_by_label("Clave de API").fill("psk_not-a-key")
    page.get_by_role("button", name="Entrar").click()
    assert "La clave de API no es válida." in page.locator(".error-summary").inner_text()
    assert page.get_by_label("Clave de API").get_attribute("aria-invalid") == "true"
    assert not serious_violations(page)


def test_a_post_without_the_csrf_token_is_refused(page: Any, site: dict[str, Any]) -> None:
    """A signed-in browser's POST that lacks the token (what a forged form from another site would send)."""
    decision_id = junior_escalates(site, "cu-504")
    sign_in(page, site, "marta", "/console/approvals")
    answer = page.context.request.post(f"{site['base']}/console/approvals/{decision_id}", form={"verdict": "approve"},
                                       max_redirects=0)
    assert answer.status == 400 and "No se pudo enviar el formulario" in answer.text()
    assert api(site, "GET", f"/v1/decisions/{decision_id}", "tool")[1]["state"]["approval"] == "pending"


def test_a_key_without_the_approver_role_sees_no_link_and_gets_the_403_page(page: Any, site: dict[str, Any]) -> None:
    """An agent_tool key: no "Aprobaciones" in its navigation, and the 403 page in the layout at the URL."""
    sign_in(page, site, "integration")
    assert page.get_by_role("link", name="Aprobaciones").count() == 0
    answer = page.goto(site["base"] + "/console/approvals")
    assert answer is not None and answer.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "No tiene acceso a esta página"
    assert not serious_violations(page)


def test_spanish_by_default_and_english_on_the_switch(page: Any, site: dict[str, Any]) -> None:
    """The switch is remembered through sign-in; "Sign out" ends the session."""
    page.goto(site["base"] + "/console/login")
    assert page.get_attribute("html", "lang") == "es" and page.get_by_label("Clave de API").count() == 1
    assert not serious_violations(page)
    page.get_by_role("link", name="EN", exact=True).click()
    assert page.get_attribute("html", "lang") == "en"
    page.get_by_label("API key").fill(site["keys"]["marta"])
    page.get_by_role("button", name="Sign in").click()
    assert not serious_violations(page)
    page.get_by_role("link", name="Approvals").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Approvals"
    page.get_by_role("button", name="Sign out").click()
    assert "You have signed out." in page.get_by_role("status").inner_text()
    assert page.goto(site["base"] + "/console/approvals") is not None
    assert page.url.startswith(site["base"] + "/console/login")


def test_two_thousand_the_spanish_way_is_refused_and_the_link_reaches_the_amount(page: Any, site: dict[str, Any]) -> None:
    """"2.000" is 2000 €, more than proposed: the focused summary says so in Spanish and its link reaches the
    amount field; the form's URL opened directly is the inbox, not JSON."""
    decision_id = junior_escalates(site, "cu-504")
    sign_in(page, site, "marta", "/console/approvals")
    card = page.locator(f"#decision-{decision_id}")
    card.get_by_label("Importe a aprobar").fill("2.000")
    card.get_by_role("button", name="Aprobar").click()
    summary = page.locator(".error-summary")
    assert "Solo puede aprobar un importe menor que el propuesto (90,00\xa0€)" in summary.inner_text()
    assert page.evaluate("document.activeElement.className") == "error-summary"
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == f"amount-{decision_id}"
    assert api(site, "GET", f"/v1/decisions/{decision_id}", "tool")[1]["state"]["approval"] == "pending"
    page.goto(f"{site['base']}/console/approvals/{decision_id}")
    assert page.get_by_role("heading", level=1).inner_text() == "Aprobaciones"
