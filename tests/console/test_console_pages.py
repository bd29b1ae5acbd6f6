"""The console's foundation (docs/contract.md §9): sign-in into a signed session, CSRF on every changing
form, sign-out, the language switch, the layout's helpers and the filters every page uses."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from helpers import make_app

from policy_service.console import pages
from policy_service.service.keys import AgentScope, create_key, revoke_key


def _app(tmp_path: Path, **config: Any) -> tuple[Any, dict[str, str]]:
    key_file = tmp_path / "keys.json"
    secrets = {
        "marta": create_key(key_file, "marta", ["approver"], scope=AgentScope(agent="sup-7")),
        "tool": create_key(key_file, "tool", ["agent_tool"], scope=AgentScope(agent="ag-101")),
        "audit": create_key(key_file, "audit", ["auditor"]),
    }
    return make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file), **config), secrets


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def _sign_in(client: Any, secret: str) -> Any:
    token = _token(client.get("/console/login").get_data(as_text=True))
    return client.post("/console/login", data={"key": secret, "csrf_token": token})


def test_the_root_redirects_to_the_console(tmp_path: Path) -> None:
    """GET / sends a browser to /console/, which sends a visitor who is not signed in to sign in."""
    app, _ = _app(tmp_path)
    client = app.test_client()
    assert client.get("/").headers["Location"] == "/console/"
    assert client.get("/console/").headers["Location"] == "/console/login?next=/console/"


def test_the_sign_in_page_asks_for_the_api_key_in_spanish_first(tmp_path: Path) -> None:
    """One field, labelled "Clave de API", named `key`; the organisation's first locale (es) by default."""
    app, _ = _app(tmp_path)
    html = app.test_client().get("/console/login").get_data(as_text=True)
    assert '<html lang="es">' in html
    assert '<label for="key">Clave de API</label>' in html
    assert len(re.findall(r"<input[^>]+name=\"key\"", html)) == 1


def test_the_language_switch_is_remembered_in_the_session(tmp_path: Path) -> None:
    """?lang=en turns the pages English, and they stay English without it."""
    app, _ = _app(tmp_path)
    client = app.test_client()
    assert '<label for="key">API key</label>' in client.get("/console/login?lang=en").get_data(as_text=True)
    assert '<label for="key">API key</label>' in client.get("/console/login").get_data(as_text=True)
    assert "Clave de API" in client.get("/console/login?lang=es").get_data(as_text=True)


def test_a_valid_key_opens_a_signed_session_cookie(tmp_path: Path) -> None:
    """HttpOnly, SameSite=Strict, only for /console, with an 8 hour lifetime; the key itself is not in it."""
    app, secrets = _app(tmp_path)
    client = app.test_client()
    signed_in = _sign_in(client, secrets["marta"])
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/console/"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    assert secrets["marta"] not in cookie
    home = client.get("/console/").get_data(as_text=True)
    assert "marta" in home and "sup-7" in home
    assert "<h1>Le damos la bienvenida</h1>" in home and "Bienvenida<" not in home
    assert "Ha entrado como marta (actúa como Marta Gil (sup-7))" in home  # the person, by name and id


def test_the_cookie_is_secure_over_https(tmp_path: Path) -> None:
    """A request that came over HTTPS gets a Secure cookie."""
    app, secrets = _app(tmp_path)
    client = app.test_client()
    page = client.get("/console/login", base_url="https://console.example")
    signed_in = client.post("/console/login", base_url="https://console.example",
                            headers={"Referer": "https://console.example/console/login"},
                            data={"key": secrets["marta"], "csrf_token": _token(page.get_data(as_text=True))})
    assert signed_in.status_code == 302
    assert "Secure" in signed_in.headers["Set-Cookie"]


def test_a_wrong_key_is_refused_without_saying_why(tmp_path: Path) -> None:
    """401 with the sign-in page again and one sentence; no session is opened."""
    app, _ = _app(tmp_path)
    client = app.test_client()
    refused = _sign_in(client, "psk_not-a-key")
    assert refused.status_code == 401
    assert "La clave de API no es válida." in refused.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_a_post_without_its_csrf_token_is_refused_with_a_page(tmp_path: Path) -> None:
    """Sign-in and sign-out without the token: 400, an HTML page in the layout, no session change."""
    app, secrets = _app(tmp_path)
    client = app.test_client()
    refused = client.post("/console/login", data={"key": secrets["marta"]})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "No se pudo enviar el formulario" in refused.get_data(as_text=True)
    assert client.get("/console/").status_code == 302
    _sign_in(client, secrets["marta"])
    assert client.post("/console/logout").status_code == 400
    assert client.get("/console/").status_code == 200


def test_the_json_api_needs_no_csrf_token(tmp_path: Path) -> None:
    """CSRF is the console's: an API call with a key in its header is not asked for a token."""
    app, secrets = _app(tmp_path)
    client = app.test_client()
    answered = client.post("/v1/decisions", json={"customer": {"id": "cu-1", "tier": "standard"},
                                                  "proposal": {"action": "refund", "amount": "10.00", "currency": "EUR"}},
                           headers={"Authorization": f"Bearer {secrets['tool']}"})
    assert answered.status_code == 201


def test_signing_out_ends_the_session(tmp_path: Path) -> None:
    """After "Salir" the console asks for a key again."""
    app, secrets = _app(tmp_path)
    client = app.test_client()
    _sign_in(client, secrets["marta"])
    home = client.get("/console/").get_data(as_text=True)
    out = client.post("/console/logout", data={"csrf_token": _token(home)})
    assert out.status_code == 303 and out.headers["Location"] == "/console/login?signed_out=1"  # not a page at /logout
    assert "Ha salido de la consola." in client.get(out.headers["Location"]).get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_a_revoked_key_ends_its_sessions(tmp_path: Path, monkeypatch: Any) -> None:
    """The session holds the key's hash, looked up in the key file on every request."""
    from policy_service.web import access

    monkeypatch.setattr(access, "RECHECK_SECONDS", 0.0)
    app, secrets = _app(tmp_path)
    client = app.test_client()
    _sign_in(client, secrets["marta"])
    assert client.get("/console/").status_code == 200
    time.sleep(0.01)
    revoke_key(tmp_path / "keys.json", "marta")
    assert client.get("/console/").status_code == 302


def test_a_session_idle_for_eight_hours_has_expired(tmp_path: Path, monkeypatch: Any) -> None:
    """The signature's age is checked on every request, and every response re-signs it: idle expiry."""
    app, secrets = _app(tmp_path)
    client = app.test_client()
    _sign_in(client, secrets["marta"])
    assert client.get("/console/").status_code == 200
    later = time.time() + 8 * 3600 + 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/console/").status_code == 302


def test_a_session_signed_by_one_worker_is_read_by_another(tmp_path: Path) -> None:
    """Two apps with the same POLICY_SERVICE_SECRET_KEY (two gunicorn workers) share sessions."""
    app, secrets = _app(tmp_path, SECRET_KEY="one-secret-for-the-instance")
    other = make_app(tmp_path, DEV=False, KEYS_FILE=str(tmp_path / "keys.json"), SECRET_KEY="one-secret-for-the-instance")
    client = app.test_client()
    _sign_in(client, secrets["marta"])
    session = client.get_cookie("policy_service_console", path="/console")
    assert session is not None
    reader = other.test_client()
    reader.set_cookie("policy_service_console", session.value, path="/console")
    assert reader.get("/console/").status_code == 200


def test_under_dev_the_console_opens_without_a_key_with_every_role(tmp_path: Path) -> None:
    """--dev: no sign-in page, no sign-out button, and a banner saying so."""
    client = make_app(tmp_path).test_client()
    assert client.get("/console/login").headers["Location"] == "/console/"
    home = client.get("/console/").get_data(as_text=True)
    assert "Modo de desarrollo" in home and "Salir" not in home
    for role in ("aprobación", "auditoría", "administración de políticas", "herramienta de agente"):
        assert role in home


def test_next_never_leaves_the_console(tmp_path: Path) -> None:
    """After sign-in, `next` is followed only to a console path: never to another site."""
    app, secrets = _app(tmp_path)
    client = app.test_client()
    token = _token(client.get("/console/login").get_data(as_text=True))
    signed_in = client.post("/console/login", data={"key": secrets["marta"], "csrf_token": token,
                                                    "next": "//evil.example/console/"})
    assert signed_in.headers["Location"] == "/console/"


def test_pages_are_not_cached_or_framed(tmp_path: Path) -> None:
    """no-store, DENY, and a content policy that allows nothing from elsewhere."""
    client = make_app(tmp_path).test_client()
    page = client.get("/console/")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_stylesheet_is_served_by_the_console(tmp_path: Path) -> None:
    """No CDN: the layout links only the console's own stylesheet."""
    client = make_app(tmp_path).test_client()
    html = client.get("/console/").get_data(as_text=True)
    assert re.findall(r'(?:href|src)="(https?:)?//', html) == []
    assert client.get("/console/static/console.css").status_code == 200


def test_money_and_dates_are_written_for_the_pages_language(tmp_path: Path) -> None:
    """Through the same Babel formatting as the words said to customers."""
    app = make_app(tmp_path)
    with app.test_request_context("/console/?lang=es"):
        assert pages.money("1234.50") == "1.234,50\xa0€"
        assert pages.money("3", "days") == "3 días"
        assert pages.money(True, "flag") == "sí"
        assert pages.when("2026-12-02T09:05:00Z") == "2 dic 2026, 9:05:00 UTC"
    with app.test_request_context("/console/?lang=en"):
        assert pages.money("1234.50") == "€1,234.50"
        assert pages.when("2026-12-02T09:05:00Z") == "Dec 2, 2026, 9:05:00\u202fAM UTC"
