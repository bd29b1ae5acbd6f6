"""The simulator in a real browser (docs/contract.md §9): the distribution's Chromium driven by Playwright
against the app served on a local port. A policy owner fills the form with the keyboard and mouse as a
person would and reads the README's answer, and the log has not moved; an auditor opens a logged
decision in the simulator and tries it again; axe-core finds no serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browsing import needs_chromium, serious_violations, served, sign_in
from helpers import BODY, make_app

from policy_service.service.keys import ANY_AGENT, create_key

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app with API keys on a local port and one logged decision: the README's escalated refund."""
    tmp_path = tmp_path_factory.mktemp("simulator")
    key_file = tmp_path / "keys.json"
    keys = {"admin": create_key(key_file, "pilar", ["policy_admin"]), "audit": create_key(key_file, "ines", ["auditor"]),
            "tool": create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT)}
    app = make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file), SECRET_KEY="browser-tests")
    api = app.test_client()
    decided = api.post("/v1/decisions", json=BODY, headers={"Authorization": f"Bearer {keys['tool']}"}).get_json()
    with served(app) as base:
        yield {"base": base, "keys": keys, "decision": decided, "api": api}


def _entries(site: dict[str, Any]) -> int:
    verified = site["api"].get("/v1/audit/verify", headers={"Authorization": f"Bearer {site['keys']['audit']}"}).get_json()
    return int(verified["entries"])


def test_a_policy_owner_simulates_the_readme_example_and_nothing_is_recorded(page: Any, site: dict[str, Any]) -> None:
    """From the navigation to the answer: a junior agent, a 120 € refund, a 45-day-old purchase, a gold
    customer; the page says what the agent is told, as the API does, and the log keeps its one entry."""
    api = site["api"].post("/v1/simulations", json=BODY, headers={"Authorization": f"Bearer {site['keys']['admin']}"}).get_json()
    sign_in(page, site, "admin")
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Simulador").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Simulador"
    assert not serious_violations(page)
    page.get_by_label("Agente").select_option("ag-101")
    # Fields by their labels, values by their words (the trial read `customer.tier` and "gold").
    page.get_by_label("Identificador del cliente").fill("cu-88")
    page.get_by_label("Nivel del cliente").select_option(label="oro")
    page.get_by_label("Valor del pedido").fill("180,00")
    page.get_by_label("Días desde la compra").fill("45")
    page.get_by_label("Acción").select_option("refund")
    page.get_by_label("Importe", exact=True).fill("120,00")
    page.get_by_label("Importe", exact=True).press("Enter")  # submits the form, as a keyboard user would
    result = page.locator("#result")
    result.wait_for()
    text = result.inner_text()
    assert "Respuesta simulada: escalada" in text and "no se ha registrado nada" in text
    assert api["say"][0] in page.locator("#result blockquote.words").all_inner_texts()
    assert "refunds/outside_return_window" in text
    assert not serious_violations(page)
    assert _entries(site) == 1


def test_an_auditor_opens_a_logged_decision_in_the_simulator(page: Any, site: dict[str, Any]) -> None:
    """"Probar en el simulador" on a decision's page fills the form with its request and answers the same at once."""
    decision = site["decision"]
    sign_in(page, site, "audit", f"/console/decisions/{decision['decision_id']}")
    page.get_by_role("link", name="Probar en el simulador").click()
    assert page.get_by_label("Nivel del cliente").input_value() == "gold"
    assert page.get_by_label("Importe", exact=True).input_value() == "120,00"
    assert decision["decision_id"] in page.locator(".notice").first.inner_text()
    # Answered at once, without pressing Simular (the trial's owner had to find the button).
    result = page.locator("#result")
    assert "escalada" in result.inner_text()
    assert not serious_violations(page)
    assert page.locator("#result blockquote.words").all_inner_texts()[:len(decision["say"])] == decision["say"]
    assert _entries(site) == 1
