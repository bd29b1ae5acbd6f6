"""Who may call what (docs/contract.md §8): every endpoint declares its roles or that it is public; one hook checks
the presented key before any view runs. An endpoint that declares nothing is refused to everyone, so a
forgotten declaration fails closed (and tests/test_access.py walks the URL map to catch it first).

A key is presented as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g, request

from policy_service.errors import KeyFileError
from policy_service.service import keys
from policy_service.service.keys import DEV_CALLER, ApiKey
from policy_service.web.errors import ProblemError

log = logging.getLogger(__name__)

View = TypeVar("View", bound=Callable[..., object])
PUBLIC: frozenset[str] = frozenset()
RECHECK_SECONDS = 1.0  # a key created or revoked with the CLI takes effect within this


def requires(*roles: str) -> Callable[[View], View]:
    """The roles any one of which lets a key call this view."""
    def mark(view: View) -> View:
        view.access = frozenset(roles)  # type: ignore[attr-defined]
        return view
    return mark


def public(view: View) -> View:
    """Operations endpoints (health, metrics, the API document) answer without a key."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


class KeySource(keys.KeySource):
    """service.keys.KeySource, rechecking as often as this module's RECHECK_SECONDS says (tests lower it)."""

    @property
    def recheck_seconds(self) -> float:
        return RECHECK_SECONDS


def presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None


def caller() -> ApiKey:
    """The authenticated caller of the current request (set by the access check)."""
    return g.caller  # type: ignore[no-any-return]


def identified() -> bool:
    """Whether a public endpoint's caller presented a valid key (or the service runs --dev): only
    they see agent ids, paths and key counts (docs/contract.md §8)."""
    return g.get("caller") is not None


def check_access() -> None:
    endpoint = request.endpoint
    if endpoint is None:
        return  # no such route: the 404/405 handler answers
    allowed = getattr(current_app.view_functions[endpoint], "access", None)
    if allowed is None:
        log.error("endpoint %s declares no roles; refused to everyone", endpoint)
        raise ProblemError(403, "Forbidden", "this endpoint is not open to any role")
    if current_app.config["DEV"]:
        g.caller = DEV_CALLER
        return
    secret = presented_key()
    key = current_app.extensions["policy_service_keys"].current().find(secret) if secret else None
    if allowed is PUBLIC:  # open to all; a valid key, if one is presented, sees the detail (identified())
        g.caller = key
        return
    if key is None:
        raise ProblemError(401, "Unauthorized", "a valid API key is required (Authorization: Bearer <key>)"
                           if secret is None else "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
    if not key.has_any(allowed):
        raise ProblemError(403, "Forbidden",
                           f'the key "{key.name}" lacks the role for this endpoint (needs one of: {", ".join(sorted(allowed))})')
    g.caller = key


def init_app(app: Flask) -> None:
    if not app.config["DEV"]:
        try:
            app.extensions["policy_service_keys"] = KeySource(app.config["KEYS_FILE"])
        except KeyFileError as exc:
            from policy_service.errors import StartupError
            raise StartupError(f"the API key file cannot be read: {exc}") from None
    app.before_request(check_access)
