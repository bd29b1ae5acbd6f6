"""The Impact page (docs/contract.md §9; policy_service/console/impact.py): the shadow candidate's replay
report as a page that agrees with `policy-service replay`, the disagreements recorded, and who may see it."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import break_refunds, console_as, make_app, raise_refund_limit, small_refund

from policy_service.service.keys import ANY_AGENT, create_key
from policy_service.service.reloading import load_runtime
from policy_service.service.replay import replay


def _text(page: Any) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))))


def _shadowed(tmp_path: Path, policies_copy: Path, headers: dict[str, str] | None = None,
              **config: Any) -> tuple[Any, dict[str, str]]:
    """An app whose shadow candidate raises the agents' refund limit to 100 €, and a small log."""
    raise_refund_limit(policies_copy, 100)
    app = make_app(tmp_path, SHADOW_POLICIES=str(policies_copy), **config)
    client = app.test_client()
    ids = {amount: client.post("/v1/decisions", json=small_refund(amount), headers=headers).get_json()["decision_id"]
           for amount in ("60.00", "70.00", "20.00")}
    return app, ids


def test_the_page_agrees_with_replay_on_the_same_candidate(tmp_path: Path, policies_copy: Path) -> None:
    """The changed decisions' ids (each linked to its page), the counts and the money line are replay's."""
    app, ids = _shadowed(tmp_path, policies_copy)
    candidate, _ = load_runtime(policies_copy)
    assert candidate is not None
    report = replay(app.extensions["policy_service"].store, candidate, None)
    page = app.test_client().get("/console/impact?lang=es")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    shown = re.findall(r'class="ident change" href="/console/decisions/([^"]+)"', body)
    assert shown == report.changed == [ids["60.00"], ids["70.00"]]
    assert f'id="replayed">{report.decisions}<' in body and f'id="changed">{len(report.changed)}<' in body
    assert 'id="failing-tests"' not in body  # its cases pass (the pinning file is gone): no flag
    text = _text(page)
    assert "120,00 € → 150,00 € (+30,00 €)" in text  # 50 € + 50 € + 20 € live; 60 € + 70 € + 20 € under the candidate
    assert (report.grantable_live, report.grantable_candidate) == (12000, 15000)
    assert "escalada → permitida" in text and "60,00 € → 60,00 €" not in text
    assert "reembolso" in text and "50,00 € → 60,00 €" in text


def test_the_page_lists_the_shadow_disagreements_recorded_so_far(tmp_path: Path, policies_copy: Path) -> None:
    """Each decision the shadow judged otherwise when it was made is listed and linked."""
    app, ids = _shadowed(tmp_path, policies_copy)
    body = app.test_client().get("/console/impact?lang=en").get_data(as_text=True)
    assert re.findall(r'class="ident disagreement" href="/console/decisions/([^"]+)"', body) == [ids["60.00"], ids["70.00"]]


def test_the_page_speaks_english(tmp_path: Path, policies_copy: Path) -> None:
    """The same report in English, money as English writes it."""
    app, _ = _shadowed(tmp_path, policies_copy)
    text = _text(app.test_client().get("/console/impact?lang=en"))
    assert "Decisions that would change" in text and "escalated → allowed" in text
    assert "€120.00 → €150.00 (+€30.00)" in text and "Disagreements recorded in shadow mode" in text


def test_without_a_candidate_the_page_says_how_to_configure_one(tmp_path: Path) -> None:
    """No shadow candidate: no report, the command that sets one up."""
    client = make_app(tmp_path).test_client()
    spanish = _text(client.get("/console/impact?lang=es"))
    assert "No hay ninguna política candidata configurada." in spanish and "serve --shadow" in spanish
    assert "serve --shadow DIRECTORY" in _text(client.get("/console/impact?lang=en"))


def test_a_candidate_that_cannot_load_is_named_with_its_problems(tmp_path: Path, policies_copy: Path) -> None:
    """Shadow mode is off when the candidate is broken: the page says so, shows why, and how to configure one."""
    break_refunds(policies_copy)
    text = _text(make_app(tmp_path, SHADOW_POLICIES=str(policies_copy)).test_client().get("/console/impact?lang=es"))
    assert "no se puede cargar; el modo sombra está apagado" in text and "refunds.yaml:" in text
    assert "serve --shadow" in text and "Decisiones que cambiarían" not in text


def test_a_policy_owner_reads_the_ids_an_auditor_opens(tmp_path: Path, policies_copy: Path) -> None:
    """A decision's page is the auditor's: a policy_admin without that role sees the ids unlinked."""
    key_file = tmp_path / "keys.json"
    secret = create_key(key_file, "pilar", ["policy_admin"])
    tool = {"Authorization": "Bearer " + create_key(key_file, "tool", ["agent_tool"], scope=ANY_AGENT)}
    app, ids = _shadowed(tmp_path, policies_copy, tool, DEV=False, KEYS_FILE=str(key_file))
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").get_data(as_text=True))
    assert token is not None
    assert client.post("/console/login", data={"key": secret, "csrf_token": token.group(1)}).status_code == 302
    body = client.get("/console/impact").get_data(as_text=True)
    assert ids["60.00"] in body and 'href="/console/decisions/' not in body


@pytest.mark.parametrize("key, status", [("admin", 200), ("audit", 200), ("approver", 403), ("tool", 403)])
def test_only_policy_admins_and_auditors_see_impact(tmp_path: Path, key: str, status: int) -> None:
    """Approvers and agent tools neither see the link nor get the page."""
    client = console_as(tmp_path, key)
    assert client.get("/console/impact").status_code == status
    assert ('href="/console/impact"' in client.get("/console/").get_data(as_text=True)) == (status == 200)


def test_a_candidate_failing_its_own_test_cases_is_flagged_on_impact_and_in_the_simulator(tmp_path: Path,
                                                                                            policies_copy: Path) -> None:
    """The trial's owner previewed a candidate that could never go live (its cases pinned the old limit):
    both pages now say so, each failing case at its file and line; a passing candidate shows no flag."""
    refunds = policies_copy / "refunds.yaml"
    refunds.write_text(refunds.read_text().replace("refund:       {agent: 50,", "refund:       {agent: 100,"))
    app = make_app(tmp_path, SHADOW_POLICIES=str(policies_copy))
    client = app.test_client()
    impact = client.get("/console/impact?lang=es").get_data(as_text=True)
    assert 'id="failing-tests"' in impact and "La candidata no pasa sus propias pruebas" in impact
    assert re.search(r'<span class="ident">refunds_test\.yaml:\d+:1</span>: error\[<span class="ident">PS050</span>\]', impact)
    simulator = client.get("/console/simulator", query_string={
        "agent.id": "ag-101", "customer.id": "cu-1", "proposal.action": "refund", "proposal.amount": "60,00", "run": "1"})
    assert 'id="shadow-failing-tests"' in simulator.get_data(as_text=True)


def test_the_page_looks_back_as_far_as_asked_like_replay_since(tmp_path: Path, policies_copy: Path) -> None:
    """`since` as `policy-service replay --since` takes it (default: the whole log); a period it cannot read
    is named; an empty window says so rather than that nothing was ever recorded."""
    from datetime import date, timedelta

    app, ids = _shadowed(tmp_path, policies_copy)
    client = app.test_client()
    default = client.get("/console/impact").get_data(as_text=True)
    assert 'id="replayed">3<' in default and 'name="since" value="all"' in default  # the whole log
    assert "2 (66,7 %)" in _text(client.get("/console/impact?lang=es"))
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    later = client.get("/console/impact", query_string={"since": tomorrow}).get_data(as_text=True)
    assert 'id="replayed">0<' in later and "Ningún desacuerdo registrado en este periodo." in later
    assert 'class="ident disagreement"' not in later  # the disagreements follow the same window
    wrong = client.get("/console/impact", query_string={"since": "last week"})
    text = _text(wrong)
    assert wrong.status_code == 400 and "«last week» no es un periodo" in text and 'href="#f-since"' in wrong.get_data(as_text=True)


def test_a_mistyped_window_keeps_the_candidate_named_and_spanish_periods_read(tmp_path: Path, policies_copy: Path) -> None:
    """A second trial typed "hoy": the page then said how to configure a candidate, as if it were gone.
    "30 días" and "todo" are read as 30d and all."""
    app, _ = _shadowed(tmp_path, policies_copy)
    client = app.test_client()
    wrong = client.get("/console/impact", query_string={"since": "hoy"}).get_data(as_text=True)
    assert "«hoy» no es un periodo" in wrong and "Candidata sha256:" in wrong and 'id="no-candidate"' not in wrong
    assert "policy-service serve --shadow" not in wrong
    for typed in ("30 días", "30 dias", "todo", "7 days"):
        page = client.get("/console/impact", query_string={"since": typed}).get_data(as_text=True)
        assert 'id="replayed">3<' in page, typed
