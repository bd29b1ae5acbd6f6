"""The Impact page in a real browser (docs/contract.md §9): the distribution's Chromium driven by Playwright
against the app served on a local port with a shadow candidate. An auditor reaches Impact from the
navigation, reads the money line and opens a changed decision from its row; axe-core finds no serious or
critical violation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from browsing import needs_chromium, serious_violations, served
from helpers import EXAMPLE_POLICIES, make_app, raise_refund_limit, small_refund

from policy_service.service.keys import ANY_AGENT, create_key

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app with a shadow candidate that raises the agents' refund limit to 100 €, and two logged refunds."""
    tmp_path = tmp_path_factory.mktemp("impact")
    candidate = tmp_path / "candidate"
    shutil.copytree(EXAMPLE_POLICIES, candidate)
    raise_refund_limit(candidate, 100)
    key_file = tmp_path / "keys.json"
    keys = {"audit": create_key(key_file, "ines", ["auditor"]),
            "tool": create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT)}
    app = make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file), SECRET_KEY="browser-tests",
                   SHADOW_POLICIES=str(candidate))
    api = app.test_client()
    ids = [api.post("/v1/decisions", json=small_refund(amount), headers={"Authorization": f"Bearer {keys['tool']}"})
           .get_json()["decision_id"] for amount in ("60.00", "20.00")]
    with served(app) as base:
        yield {"base": base, "keys": keys, "ids": ids}


def test_an_auditor_reads_the_impact_and_opens_a_changed_decision(page: Any, site: dict[str, Any]) -> None:
    """From the navigation to the report, then to the decision that would change."""
    page.goto(site["base"] + "/console/")
    page.get_by_label("Clave de API").fill(site["keys"]["audit"])
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Impacto").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Impacto"
    assert "escalada" in page.locator("#transitions + table").inner_text()
    assert "70,00 € → 80,00 €" in page.locator("#money-line").inner_text().replace("\xa0", " ")
    assert not serious_violations(page)
    page.get_by_role("link", name=site["ids"][0]).first.click()
    assert site["ids"][0] in page.url
