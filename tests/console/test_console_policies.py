"""The Policies page (policy_service/console/policies.py): the live revision, rules in words beside their
YAML, the empowerment matrix, the reload history with a refused attempt's problems, for every role."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpers import break_refunds, make_app

from policy_service.service.keys import AgentScope, create_key


def _text(html: str) -> str:
    """The page as people read it: tags dropped, entities undone, spaces collapsed."""
    plain = re.sub(r"<[^>]+>", " ", html).replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    return re.sub(r"\s+", " ", plain)


def _page(client: Any, lang: str) -> str:
    response = client.get(f"/console/policies?lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_shows_the_live_revision_linked_to_its_text(tmp_path: Path) -> None:
    """The live revision is named, linked to its stored text, with when it went live."""
    client = make_app(tmp_path).test_client()
    revision = client.get("/v1/policies").get_json()["revision"]
    html = _page(client, "es")
    assert f'href="/console/revisions/{revision}"' in html
    assert "En vigor desde el" in _text(html)
    assert client.get(f"/console/revisions/{revision}").status_code == 200


def test_a_rule_reads_in_words_in_spanish_and_english_beside_its_yaml(tmp_path: Path) -> None:
    """refunds/outside_return_window is a sentence in the page's language, its own words and its YAML lines."""
    client = make_app(tmp_path).test_client()
    spanish = _text(_page(client, "es"))
    assert ("Si la compra tiene más de 30 días: el reembolso lo autoriza un supervisor; ofrecer crédito en tienda"
            in spanish)
    assert "Si el nivel del cliente es oro o platino: los límites se multiplican por 1,5" in spanish
    assert "when: {case.days_since_purchase: {gt: 30}}" in spanish  # the YAML beside it
    assert "el reembolso lo autoriza un supervisor." in spanish  # the rule's own `say`
    english = _text(_page(client, "en"))
    assert "If the purchase is more than 30 days old: a refund needs a supervisor; offer store credit" in english
    assert "If the customer's flags include fraud_review" in english and "hand the case to Fraud prevention" in english


def test_the_matrix_has_labels_and_money_in_the_locale(tmp_path: Path) -> None:
    """Tiers and actions by their labels, limits as the locale writes money, the rules that change a row."""
    client = make_app(tmp_path).test_client()
    spanish = _page(client, "es")
    matrix = _text(spanish[spanish.index('id="matrix"'):spanish.index('id="reloads"')])
    assert "Asesor sénior" in matrix and "Gerente" in matrix and "Reembolso" in matrix and "Crédito en tienda" in matrix
    assert "2.000,00 €" in matrix and "50,00 €" in matrix
    assert 'href="#refunds/gold_leeway"' in spanish
    english = _page(client, "en")
    assert "€2,000.00" in _text(english[english.index('id="matrix"'):english.index('id="reloads"')])


def test_a_refused_reload_shows_its_positioned_problem(tmp_path: Path, policies_copy: Path) -> None:
    """After a broken copy is reloaded, the history shows the refusal with file:line:col, code, message and hint,
    and which revision stayed live."""
    client = make_app(tmp_path, POLICIES=str(policies_copy)).test_client()
    live = client.get("/v1/policies").get_json()["revision"]
    break_refunds(policies_copy)
    refused = client.post("/v1/policies/reload")
    assert refused.status_code == 422
    (position, [problem]), *_ = refused.get_json()["errors"].items()
    code = re.search(r"\[([^\]]+)\]", problem)
    assert code
    for lang, refused_word, hint in (("es", "rechazada", "pista"), ("en", "refused", "hint")):
        page = _text(_page(client, lang))
        history = page[page.index("Historial de recargas" if lang == "es" else "Reload history"):]
        assert refused_word in history and position in history and code.group(1) in history
        assert f"{hint}:" in history and live in history
    assert "customer.tierr" in _text(_page(client, "en"))


def test_every_signed_in_role_sees_the_page_and_its_link(tmp_path: Path) -> None:
    """Any role's key opens the page and finds it in the navigation; a visitor is sent to sign in."""
    key_file = tmp_path / "keys.json"
    secrets = {"approver": create_key(key_file, "marta", ["approver"], scope=AgentScope(agent="sup-7")),
               "tool": create_key(key_file, "tool", ["agent_tool"], scope=AgentScope(agent="ag-101")),
               "auditor": create_key(key_file, "audit", ["auditor"]),
               "admin": create_key(key_file, "admin", ["policy_admin"])}
    app = make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file))
    visitor = app.test_client().get("/console/policies")
    assert visitor.status_code == 302 and "/console/login" in visitor.headers["Location"]
    for secret in secrets.values():
        client = app.test_client()
        login = client.get("/console/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token
        client.post("/console/login", data={"key": secret, "csrf_token": token.group(1)})
        assert 'href="/console/policies"' in client.get("/console/").get_data(as_text=True)
        assert client.get("/console/policies").status_code == 200


def test_what_started_each_load_is_said_in_the_page_language(tmp_path: Path) -> None:
    """The trial read "Origen start": the service's own word for a load at start, untranslated."""
    client = make_app(tmp_path).test_client()
    spanish = _text(_page(client, "es"))
    assert "(al arrancar el servicio)" in spanish and "Origen al arrancar el servicio" in spanish
    assert "start" not in spanish.split()
    assert "(when the service started)" in _text(_page(client, "en"))
