"""The console's blueprint and what every page shares: the layout's context (who is signed in, the
language, the navigation their roles may see), `console_page`, the `money` and `when` filters, the
sign-in, sign-out and home pages, the stylesheet, and the error pages (403, 404, a refused form).

A page registers with `@blueprint.get(...)` and `@requires_console_role(...)`, and adds itself to the
navigation with `nav_entry`, so a link is shown exactly to the roles the page serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from babel.dates import format_datetime
from flask import Blueprint, Flask, current_app, redirect, render_template, request, send_from_directory, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from policy_service.console import session as console_session
from policy_service.console.session import console_public, current_user, language, requires_console_role
from policy_service.console.texts import LANGUAGES, text
from policy_service.deciding.request import parse_quantity
from policy_service.deciding.words import format_amount, resolve_locale
from policy_service.errors import StoreError
from policy_service.model import Organization
from policy_service.web.access import public
from policy_service.web.state import service_state

__all__ = ["blueprint", "console_page", "csrf", "current_user", "init_app", "money", "nav_entry", "person",
           "requires_console_role", "t", "when"]

STATIC = Path(__file__).parent / "static"
blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
root = Blueprint("console_root", __name__)
csrf = CSRFProtect()


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: str  # a key of texts.TEXTS
    roles: frozenset[str]


NAV: list[NavEntry] = []
UNDECLARED = object()  # a console page that declares no roles: refused to everyone


def nav_entry(endpoint: str, label: str, *roles: str) -> None:
    """Links `endpoint` in the navigation for users holding any of `roles` (the roles its page requires)."""
    NAV.append(NavEntry(endpoint, label, frozenset(roles)))


def visible_nav() -> list[NavEntry]:
    user = current_user()
    if user is None:
        return []
    return [entry for entry in NAV if entry.endpoint in current_app.view_functions
            and (not entry.roles or user.has_any(entry.roles))]


def organization() -> Organization:
    return service_state().runtime.policy_set.organization


def locale() -> str:
    """The locale money and dates are written in: the organisation's locale of the page's language."""
    return resolve_locale(language(), organization())


def t(key: str, **values: Any) -> str:
    """A console text in the page's language (templates call it as `t("key")`)."""
    return text(key, language(), **values)


def person(agent_id: str | None) -> str:
    """An agent of the directory as people know them, "Marta Gil (sup-7)"; else its id."""
    if agent_id is None:
        return "—"
    agent = service_state().runtime.policy_set.agents.get(agent_id)
    return f"{agent.name} ({agent.id})" if agent else agent_id


def money(amount: Any, unit: str = "money") -> str:
    """An amount as the API spells it ("120.00", 3, true) written for the page's locale, through the same
    formatting as the words said to customers ("120,00 €" in es, "€120.00" in en)."""
    if amount is None:
        return "—"
    org = organization()
    try:
        quantity = parse_quantity(amount, unit, org)
    except ValidationError:
        return str(amount)
    return format_amount(org, unit, quantity, locale()) or t("flag_yes")


def when(moment: datetime | str | None) -> str:
    """A moment (a datetime, or the API's ISO text) as the page's locale writes a date and time, in UTC."""
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    written = format_datetime(moment, format="medium", tzinfo=timezone.utc, locale=locale().replace("-", "_"))
    return f"{written} UTC"


def console_page(template: str, status: int = 200, /, **context: Any) -> Response:
    """A console page rendered in the layout (templates/console/base.html), answered with `status`
    (positional, so a page may pass its own `status` to the template)."""
    response = current_app.make_response((render_template(template, **context), status))
    return response


def switch_url(code: str) -> str:
    """This page in another language: its path and query (a filter, a tab) with `lang` set."""
    args = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    return f"{request.path}?{urlencode([*args, ('lang', code)])}"


@blueprint.context_processor
def _layout() -> dict[str, Any]:
    return {"t": t, "user": current_user(), "nav": visible_nav(), "lang": language(), "languages": LANGUAGES,
            "switch_url": switch_url, "person": person, "dev": bool(current_app.config["DEV"])}


@blueprint.before_request
def check_console_access() -> Response | None:
    """Every console request: a changing form must carry its CSRF token; a page must declare who may see
    it (fails closed: a page that declares nothing is the 403 page); a visitor who is not signed in goes
    to sign in, a signed-in one without the role gets the 403 page."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None
    roles: Any = getattr(view, "console_roles", UNDECLARED)
    if roles is UNDECLARED:
        return forbidden()
    if roles is None:
        return None
    user = current_user()
    if user is None:
        return redirect(url_for("console.login", next=request.full_path if request.args else request.path))
    if roles and not user.has_any(roles):
        return forbidden()
    return None


@blueprint.after_request
def _headers(response: Response) -> Response:
    """Pages hold decisions and customers: not cached, not framed, no script or style from elsewhere."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = ("default-src 'self'; style-src 'self'; script-src 'self'; "
                                                   "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
    return response


def forbidden() -> Response:
    return console_page("console/error.html", 403, title=t("forbidden_title"), body=t("forbidden_body"))


@blueprint.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError) -> Response:
    return console_page("console/error.html", 400, title=t("csrf_title"), body=t("csrf_body"))


@blueprint.errorhandler(StoreError)
def _store_unavailable(error: StoreError) -> Response:
    current_app.logger.error("decision log unavailable: %s", error)
    return console_page("console/error.html", 503, title=t("unavailable_title"), body=t("unavailable_body"))


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    if error.code == 404:
        return console_page("console/error.html", 404, title=t("not_found_title"), body=t("not_found_body"))
    if error.code == 403:
        return forbidden()
    return console_page("console/error.html", error.code or 500, title=t("error_title"), body=error.name)


@root.get("/")
@public
def to_console() -> Response:
    return redirect(url_for("console.home"))


@blueprint.get("/")
@requires_console_role()
def home() -> Response:
    return console_page("console/home.html")


def _local(target: str | None) -> str | None:
    """`next` only when it is a path of this console: never a redirect to another site."""
    if not target or not target.startswith("/console/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@blueprint.route("/login", methods=["GET", "POST"])
@console_public
def login() -> Response:
    if current_app.config["DEV"]:
        return redirect(url_for("console.home"))
    next_page = _local(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(next_page or url_for("console.home"))
        notice = t("signed_out") if request.args.get("signed_out") else None
        return console_page("console/login.html", next_page=next_page, notice=notice)
    secret = request.form.get("key", "").strip()
    if not secret:
        return console_page("console/login.html", 400, next_page=next_page, error=t("key_required"))
    if console_session.sign_in(secret) is None:
        return console_page("console/login.html", 401, next_page=next_page, error=t("wrong_key"))
    return redirect(next_page or url_for("console.home"))


@blueprint.post("/logout")
@console_public
def logout() -> Response:
    console_session.sign_out()
    if current_app.config["DEV"]:
        return redirect(url_for("console.home"))
    # Post/Redirect/Get: the browser ends on the sign-in page's own URL, where a reload sends nothing again.
    return redirect(url_for("console.login", signed_out=1), 303)


@blueprint.get("/static/<path:name>")
@console_public
def static(name: str) -> Response:
    response = send_from_directory(STATIC, name, max_age=3600)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def init_app(app: Flask) -> None:
    console_session.init_app(app)
    # The JSON API takes keys in headers, which a browser never adds on its own: it needs no CSRF
    # token. Only the console's forms are checked, by check_console_access.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a token lives as long as its session (8 h idle)
    csrf.init_app(app)
    app.add_template_filter(money, "money")
    app.add_template_filter(when, "when")
