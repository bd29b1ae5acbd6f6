"""The Policies page in a real browser (docs/contract.md §9): the distribution's Chromium driven by
Playwright against the app served on a local port. An agent tool's key reads the matrix and a rule in
words, moves from a matrix row to the rule that changes it and to the live revision's text with the
keyboard, sees a refused reload's problem at its position, and axe-core finds no serious or critical
violation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from browsing import needs_chromium, serious_violations, served
from helpers import EXAMPLE_POLICIES, break_refunds, make_app

from policy_service.service.keys import AgentScope, create_key

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app with API keys on a local port, serving a copy of the example policies that was then broken
    and reloaded (refused), so the history holds a refusal."""
    tmp_path = tmp_path_factory.mktemp("policies")
    policies = tmp_path / "policies"
    shutil.copytree(EXAMPLE_POLICIES, policies)
    key_file = tmp_path / "keys.json"
    keys = {"tool": create_key(key_file, "tool", ["agent_tool"], scope=AgentScope(agent="ag-101")),
            "admin": create_key(key_file, "admin", ["policy_admin"])}
    app = make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file), SECRET_KEY="browser-tests", POLICIES=str(policies))
    api = app.test_client()
    break_refunds(policies)
    refused = api.post("/v1/policies/reload", headers={"Authorization": f"Bearer {keys['admin']}"})
    assert refused.status_code == 422
    with served(app) as base:
        yield {"base": base, "keys": keys, "position": next(iter(refused.get_json()["errors"]))}


def test_any_role_reads_the_matrix_a_rule_in_words_and_a_refused_reload(page: Any, site: dict[str, Any]) -> None:
    """Sign in with an agent tool's key, open Políticas from the navigation, read the matrix and the rule a
    row links to, see the refusal at its position, then follow the live revision to its text."""
    page.goto(site["base"] + "/console/")
    page.get_by_label("Clave de API").fill(site["keys"]["tool"])
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Políticas").click()
    page.wait_for_url("**/console/policies")
    assert page.get_by_role("heading", level=1).inner_text() == "Políticas"
    matrix = page.locator("table.matrix")
    refund = matrix.locator("tr", has=page.get_by_role("rowheader", name="Reembolso"))
    assert "Asesor sénior" in matrix.locator("thead").inner_text()
    assert "2.000,00\xa0€" in refund.inner_text()
    assert not serious_violations(page)

    link = matrix.get_by_role("link", name="refunds/outside_return_window").first  # under refund and store credit
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/policies#refunds/outside_return_window")
    rule = page.locator('[id="refunds/outside_return_window"]')
    assert ("Si la compra tiene más de 30 días: el reembolso lo autoriza un supervisor; ofrecer crédito en tienda"
            in rule.inner_text())
    assert "case.days_since_purchase" in rule.locator("pre").inner_text()

    history = page.locator(".result", has_text="rechazada").first
    assert site["position"] in history.inner_text() and "customer.tierr" in history.inner_text()

    page.locator("p", has_text="Revisión en vigor").get_by_role("link").click()
    page.wait_for_url("**/console/revisions/sha256:*")
    assert page.get_by_role("heading", level=1).inner_text() == "Revisión de las políticas"
