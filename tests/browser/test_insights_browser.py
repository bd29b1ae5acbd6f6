"""The Insights page in a real browser (docs/contract.md §9, §10): the distribution's Chromium driven by
Playwright against the app served on a local port. An auditor reaches Insights from the navigation,
reads the recommendation and its candidate, sees the charts, follows the link to the escalations behind
it in the decision log; axe-core finds no serious or critical violation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import make_app

from policy_service.service.keys import ANY_AGENT, create_key

playwright = pytest.importorskip("playwright.sync_api")
axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
from werkzeug.serving import make_server  # noqa: E402  (after the skips: only these tests need a server)

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="the distribution's Chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app with 21 agents' refunds from 55 € to 75 €, each approved by a supervisor."""
    tmp_path = tmp_path_factory.mktemp("insights")
    key_file = tmp_path / "keys.json"
    keys = {"audit": create_key(key_file, "ines", ["auditor"]),
            "tool": create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT),
            "approver": create_key(key_file, "marta", ["approver"], scope=ANY_AGENT)}
    app = make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file), SECRET_KEY="browser-tests")
    api = app.test_client()
    for n in range(21):
        body = {"agent": {"id": "ag-101"}, "customer": {"id": f"cu-{n}", "tier": "standard"}, "case": {"days_since_purchase": 3},
                "proposal": {"action": "refund", "amount": f"{55 + n}.00", "currency": "EUR"}, "locale": "es"}
        decision = api.post("/v1/decisions", json=body, headers={"Authorization": f"Bearer {keys['tool']}"}).get_json()
        api.post(f"/v1/decisions/{decision['decision_id']}/approval", json={"approver_id": "sup-7", "verdict": "approve"},
                 headers={"Authorization": f"Bearer {keys['approver']}"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base": f"http://127.0.0.1:{server.server_port}", "keys": keys}
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def page() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="es-ES")
        yield context.new_page()
        context.close()
        browser.close()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands (WCAG 2.2 AA and best practice)."""
    results = axe_playwright.Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_an_auditor_reads_a_recommendation_and_opens_its_escalations(page: Any, site: dict[str, Any]) -> None:
    """From the navigation to the recommendation, then to the log filtered to its escalations."""
    page.goto(site["base"] + "/console/")
    page.get_by_label("Clave de API").fill(site["keys"]["audit"])
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Perspectivas").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Perspectivas"
    heading = page.get_by_role("heading", level=3).first.inner_text().replace("\xa0", " ")
    assert heading == "reembolso, Asesor: subir el límite de 50,00 € a 75,00 €"
    assert page.locator("code.candidate").inner_text() == "set_limits: {refund: {agent: 75}}"
    assert page.get_by_role("img", name="Escalados y aprobaciones por acción y nivel").count() == 1
    assert not serious_violations(page)
    page.get_by_label("Periodo").fill("nunca")
    page.get_by_role("button", name="Mostrar").click()
    assert page.locator(".error-summary").count() == 1
    assert not serious_violations(page)
    page.get_by_label("Periodo").fill("all")
    page.get_by_role("button", name="Mostrar").click()
    page.get_by_role("link", name="Ver los escalados de reembolso en el registro").click()
    assert "/console/decisions?action=refund&outcome=escalate" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Registro de decisiones"
