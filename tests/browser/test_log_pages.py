"""The auditors' pages in a real browser (docs/contract.md §9): the distribution's Chromium driven by
Playwright against the app served on a local port. An auditor finds a decision by agent, opens it,
reads why it escalated (the rule's own text), follows the rule to its revision and verifies the chain,
with the keyboard where a person would; an approver-only key gets the 403 page; axe-core finds no
serious or critical violation on any of the pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browsing import keep_screenshot, needs_chromium, serious_violations, served, sign_in
from helpers import BODY, ROOT, make_app, small_refund

from policy_service.service.keys import ANY_AGENT, AgentScope, create_key

SCREENSHOT = ROOT / "docs" / "img" / "console-decision.png"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app with API keys on a local port, a decision that escalated (ag-101's refund outside the
    return window) and decisions of other agents around it."""
    tmp_path = tmp_path_factory.mktemp("console")
    key_file = tmp_path / "keys.json"
    keys = {"audit": create_key(key_file, "ines", ["auditor"]),
            "marta": create_key(key_file, "marta", ["approver"], scope=AgentScope(agent="sup-7")),
            "tool": create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT)}
    app = make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file), SECRET_KEY="browser-tests")
    api = app.test_client()
    tool = {"Authorization": f"Bearer {keys['tool']}"}
    for agent in ("sr-201", "ag-102"):
        api.post("/v1/decisions", json={**small_refund("20.00"), "agent": {"id": agent}}, headers=tool)
    escalated = api.post("/v1/decisions", json=BODY, headers=tool).get_json()
    api.post("/v1/decisions", json={**small_refund("30.00"), "agent": {"id": "sr-202"}}, headers=tool)
    with served(app) as base:
        yield {"base": base, "keys": keys, "decision": escalated}


def test_an_auditor_finds_a_decision_by_agent_opens_it_sees_why_and_verifies_the_chain(page: Any, site: dict[str, Any]) -> None:
    """Sign in, choose the agent in the filter form and search with the keyboard, open the decision,
    read the rule that sent it to a supervisor and follow it to the revision, then verify the chain."""
    sign_in(page, site, "audit", "/console/decisions")
    assert page.get_by_role("heading", level=1).inner_text() == "Registro de decisiones"
    page.get_by_label("Agente del directorio").select_option("ag-101")
    page.get_by_label("Regla").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the filter form, as a keyboard user would
    rows = page.locator("table.log tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "ag-101" in row and "120,00\xa0€" in row and "escalada" in row and "pendiente de aprobación" in row
    assert not serious_violations(page)

    decision_id = site["decision"]["decision_id"]
    link = page.get_by_role("link", name=f"Abrir la decisión {decision_id}")
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.split("?")[0].endswith(f"/console/decisions/{decision_id}")
    # "Volver al registro" goes back to the list as it was filtered, not to the whole log.
    back = page.get_by_role("link", name="Volver al registro").get_attribute("href")
    assert back is not None and back.startswith("/console/decisions?") and "agent_id=ag-101" in back
    why = page.locator("#why")
    assert why.inner_text() == "Por qué se escaló"
    rule = page.locator("section.rule", has=page.get_by_role("heading", name="refunds/outside_return_window"))
    # The rule in words first; its YAML opens from the keyboard.
    assert "el reembolso lo autoriza un supervisor" in rule.locator("p.sentence").inner_text()
    assert not rule.locator("pre").is_visible()
    rule.locator("summary").focus()
    page.keyboard.press("Enter")
    assert "require_tier: {refund: supervisor}" in rule.locator("pre").inner_text()
    words = page.locator("blockquote.words").all_inner_texts()
    assert site["decision"]["say"][0] in words
    assert page.locator("table.chain td.hash").count() == 2
    assert not serious_violations(page)
    keep_screenshot(page, SCREENSHOT, 1400, scroll_to="#why")

    rule.get_by_role("link", name="Ver refunds/outside_return_window en la revisión").click()
    page.wait_for_url("**/console/revisions/**#refunds/outside_return_window")
    target = page.locator('[id="refunds/outside_return_window"]')
    assert target.is_visible() and "outside_return_window" in target.locator("pre").inner_text()
    assert not serious_violations(page)

    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Verificar la cadena").click()
    page.get_by_role("button", name="Verificar ahora").click()
    result = page.locator("#result")
    assert "La cadena está íntegra: 4 entradas comprobadas." in result.inner_text()
    assert not serious_violations(page)


def test_a_misspelt_rule_is_named_beside_its_field_and_the_summary_links_there(page: Any, site: dict[str, Any]) -> None:
    sign_in(page, site, "audit", "/console/decisions")
    page.get_by_label("Regla").fill("gold_leewey")
    page.get_by_role("button", name="Buscar").click()
    summary = page.locator(".error-summary")
    assert "gold_leeway" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "f-rule"
    assert page.get_by_label("Regla").get_attribute("aria-invalid") == "true"
    assert not serious_violations(page)


def test_pages_switch_to_english(page: Any, site: dict[str, Any]) -> None:
    sign_in(page, site, "audit", "/console/audit")
    page.get_by_role("link", name="EN", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Verify the chain"
    page.get_by_role("button", name="Verify now").click()
    assert "The chain is intact" in page.locator("#result").inner_text()


def test_an_approver_only_key_gets_the_403_page_on_the_log(page: Any, site: dict[str, Any]) -> None:
    """Neither linked in its navigation nor served: the log, a decision and verify are the 403 page."""
    sign_in(page, site, "marta")
    navigation = page.get_by_role("navigation", name="Navegación principal")
    assert navigation.get_by_role("link", name="Registro de decisiones").count() == 0
    for path in ("/console/decisions", f"/console/decisions/{site['decision']['decision_id']}", "/console/audit"):
        answer = page.goto(site["base"] + path)
        assert answer is not None and answer.status == 403
        assert page.get_by_role("heading", level=1).inner_text() == "No tiene acceso a esta página"
    assert not serious_violations(page)
