"""Who is using the console (docs/contract.md §9): sign-in with an API key into a signed session cookie,
its idle expiry, the page language, and the role check every console page goes through.

The cookie holds the key's hash (never the key), a random session id, the language and the CSRF token;
it is signed with SECRET_KEY (POLICY_SERVICE_SECRET_KEY), HttpOnly, SameSite=Strict, Secure when the
request came over HTTPS, limited to /console, and refused after 8 hours without a request (each response
re-signs it, so the limit is idle time). The key is looked up in the key file on every request, so a
revoked key ends its sessions within a second. "Salir" records the session id in the log's database
(service.sign_outs), where every worker and instance looks it up, so a saved copy of the cookie is
signed out too; a cookie without a session id (made before sign-outs were recorded) is not a session.
Under --dev every visitor is the development caller, with every role.

Without POLICY_SERVICE_SECRET_KEY, `serve` makes one random key per instance in the gunicorn master,
which every worker inherits (serving/gunicorn_conf.py): sessions then end when the instance restarts.
An app built any other way without the setting (a script, a test) makes a key for its own process and
says so in the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask, Request, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from policy_service.console.texts import LANGUAGES
from policy_service.service.keys import DEV_CALLER, AgentScope, ApiKey, hash_key
from policy_service.service.sign_outs import SignedOutSessions
from policy_service.web.access import public
from policy_service.web.state import service_state

log = logging.getLogger(__name__)

IDLE_LIMIT = timedelta(hours=8)
COOKIE_NAME = "policy_service_console"
View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in key: its name, roles and scope; `agent` is the agent it acts as, if bound to one."""
    name: str
    roles: frozenset[str]
    scope: AgentScope
    dev: bool = False

    @property
    def agent(self) -> str | None:
        return self.scope.bound

    def has_any(self, roles: frozenset[str] | tuple[str, ...]) -> bool:
        return not self.roles.isdisjoint(roles)

    @classmethod
    def of(cls, key: ApiKey, dev: bool = False) -> ConsoleUser:
        return cls(key.name, key.roles, key.scope, dev)


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request itself came over HTTPS (gunicorn
    trusts X-Forwarded-Proto from loopback only), so one setting serves both a TLS front and plain
    localhost."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Without the console's cookie (every call of the JSON API), the empty session Flask would give,
        without first building a signing serializer for a cookie that is not there: measured at about
        5 % of a decision's CPU (docs/performance.md). Without any Cookie header, not even the parse."""
        if "HTTP_COOKIE" not in request.environ or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def requires_console_role(*roles: str) -> Callable[[View], View]:
    """A console page for signed-in users holding any one of `roles` (none named: any signed-in user).

    The API's key check lets the page through (`public`: the console checks its own session); the
    console's check (`check_console_access`) then sends a visitor who is not signed in to the sign-in
    page and answers a signed-in one without the role with the 403 page."""
    def mark(view: View) -> View:
        view.console_roles = frozenset(roles)  # type: ignore[attr-defined]
        return public(view)
    return mark


def console_public(view: View) -> View:
    """A console page anyone may open (sign-in, the stylesheet)."""
    view.console_roles = None  # type: ignore[attr-defined]
    return public(view)


def current_user() -> ConsoleUser | None:
    """The signed-in user of this request, or None; under --dev, the development caller."""
    if "console_user" not in g:
        g.console_user = None  # while it is looked up: a 503 page for an unreachable log renders signed out
        g.console_user = _find_user()
    return g.console_user  # type: ignore[no-any-return]


def _find_user() -> ConsoleUser | None:
    if current_app.config["DEV"]:
        return ConsoleUser.of(DEV_CALLER, dev=True)
    hashed, session_id = session.get("key"), session.get("sid")
    if not isinstance(hashed, str) or not isinstance(session_id, str):
        return None
    key = current_app.extensions["policy_service_keys"].current().find_hashed(hashed)
    if key is None or _sign_outs().is_signed_out(service_state().store, session_id):
        return None
    return ConsoleUser.of(key)


def _sign_outs() -> SignedOutSessions:
    return current_app.extensions["policy_service_sign_outs"]  # type: ignore[no-any-return]


def sign_in(secret: str) -> ConsoleUser | None:
    """Opens a session for the key `secret`, or None (and no session) when it is not a valid key."""
    key = current_app.extensions["policy_service_keys"].current().find(secret)
    if key is None:
        return None
    language = session.get("lang")
    session.clear()  # a fresh session (and CSRF token) for the signed-in user: no fixation
    session.permanent = True
    session["key"] = hash_key(secret)
    session["sid"] = secrets.token_urlsafe(24)  # what "Salir" records: every copy of this cookie ends with it
    if language:
        session["lang"] = language
    g.console_user = ConsoleUser.of(key)
    return g.console_user  # type: ignore[no-any-return]


def sign_out() -> None:
    """Ends the session for every copy of its cookie: its id is recorded where every worker and instance
    looks. The cookie is cleared even when the log cannot be reached (StoreError then: the 503 page), so
    this browser at least forgets it."""
    session_id, language = session.get("sid"), session.get("lang")
    try:
        if isinstance(session_id, str) and not current_app.config["DEV"]:
            _sign_outs().sign_out(service_state().store, session_id)
    finally:
        session.clear()
        if language:
            session["lang"] = language
        g.console_user = None


def language() -> str:
    """The page language: `?lang=` (remembered in the session), else the session's, else the
    organisation's first locale's language when the console speaks it, else Spanish."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        if session.get("lang") != asked:
            session["lang"] = asked
        return asked
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    first = service_state().runtime.policy_set.organization.default_locale.split("-")[0]
    return first if first in LANGUAGES else LANGUAGES[0]


def secret_key(configured: str | None) -> str:
    if configured:
        return configured
    log.warning("POLICY_SERVICE_SECRET_KEY is not set: console sessions are signed with a key of this process "
                "only; set it when more than one process serves the console (policy-service serve sets one per instance)")
    return secrets.token_urlsafe(32)


def init_app(app: Flask) -> None:
    app.config["SECRET_KEY"] = secret_key(app.config.get("SECRET_KEY"))
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=IDLE_LIMIT,
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    app.config.setdefault("SESSION_COOKIE_SECURE", False)
    app.session_interface = ConsoleSessionInterface()
    app.extensions["policy_service_sign_outs"] = SignedOutSessions()
