"""The Insights page (docs/contract.md §9, §10; policy_service/console/insights.py): the report of GET
/v1/insights as a page, with its SVG charts, recommendations linked to their escalations in the log, and
who may see it."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import console_as, make_app


def _text(page: Any) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)))).replace("\xa0", " ")


def _escalations(client: Any) -> None:
    """21 agents' refunds from 55 € to 75 €, each approved by a supervisor: raise the agent's 50 € to 75 €."""
    for n in range(21):
        body = {"agent": {"id": "ag-101"}, "customer": {"id": f"cu-{n}", "tier": "standard"}, "case": {"days_since_purchase": 3},
                "proposal": {"action": "refund", "amount": f"{55 + n}.00", "currency": "EUR"}, "locale": "es"}
        decision = client.post("/v1/decisions", json=body).get_json()
        assert decision["outcome"] == "escalate"
        assert client.post(f"/v1/decisions/{decision['decision_id']}/approval",
                           json={"approver_id": "sup-7", "verdict": "approve"}).status_code == 201


def test_the_page_shows_the_report_the_api_gives_with_charts_and_links(tmp_path: Path) -> None:
    """The recommendation's words and candidate, the evidence's figures as the API counts them, a chart
    per subject with a title, and a link to the escalations behind it in the decision log."""
    client = make_app(tmp_path).test_client()
    _escalations(client)
    api = client.get("/v1/insights?since=2026-01-01").get_json()
    (rec,) = api["recommendations"]
    page = client.get("/console/insights?since=2026-01-01&lang=es")
    assert page.status_code == 200
    text, body = _text(page), page.get_data(as_text=True)
    assert "reembolso, Asesor: subir el límite de 50,00 € a 75,00 €" in text
    assert f"{rec['cases']} escalados decididos hasta 75,00 €: {rec['approved']} aprobados (100 %)" in text
    assert "Cambio en refunds.yaml: set_limits: {refund: {agent: 75}}" in text
    assert 'href="/console/decisions?action=refund&amp;outcome=escalate&amp;from=2026-01-01"' in body
    assert body.count('<svg class="chart"') == 2 and 'role="img"' in body and "<title id=\"rates-chart-title\">" in body
    assert "reembolso · Asesor" in text and "21 decisiones desde 2026-01-01" in text
    english = _text(client.get("/console/insights?since=2026-01-01&lang=en"))
    assert "refund, Agent: raise the limit from €50.00 to €75.00" in english


def test_a_bad_window_is_named_at_the_top_and_the_default_shown(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    page = client.get("/console/insights?since=ninety&lang=es")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'class="error-summary"' in body and 'href="#since"' in body and 'aria-invalid="true"' in body
    assert "No hay decisiones en este periodo." in _text(page)


@pytest.mark.parametrize("key, status", [("admin", 200), ("audit", 200), ("approver", 403), ("tool", 403)])
def test_only_policy_admins_and_auditors_see_insights(tmp_path: Path, key: str, status: int) -> None:
    """Approvers and agent tools neither see the link nor get the page."""
    client = console_as(tmp_path, key)
    assert client.get("/console/insights").status_code == status
    assert ('href="/console/insights"' in client.get("/console/").get_data(as_text=True)) == (status == 200)


def test_a_recommendation_links_to_its_replay_which_allows_exactly_what_it_expects(tmp_path: Path) -> None:
    """Contract §10: each recommendation is linked to its replay. The page writes the candidate into a copy
    of the live files, replays the same window and shows the report Impact shows: here 21 escalations
    that become allowed, as the recommendation expects; the live files are untouched."""
    client = make_app(tmp_path).test_client()
    _escalations(client)
    body = client.get("/console/insights?since=2026-01-01").get_data(as_text=True)
    link = re.search(r'<a href="(/console/insights/replay\?[^"]+)">Ver qué cambiaría', body)
    assert link is not None
    page = client.get(html.unescape(link.group(1)))
    text = _text(page)
    assert page.status_code == 200
    assert "La recomendación prevé 21 escaladas que pasarían a permitidas; la revisión del registro con el cambio da 21." in text
    assert "escalada permitida 21" in text and "set_limits: {refund: {agent: 75}}" in text
    assert "refund:       {agent: 50," in (Path(__file__).resolve().parents[2] / "policies" / "refunds.yaml").read_text()
    assert client.get("/console/insights/replay?since=2026-01-01&action=refund&tier=manager").status_code == 404
