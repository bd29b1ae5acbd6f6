"""The Flask application factory: settings from policy_service.config, then every web module's `init_app`
and blueprint. gunicorn serves `policy_service:create_app()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from policy_service import config
from policy_service.console.app import init_app as init_console
from policy_service.web import (
    access,
    approvals,
    audit,
    decisions,
    errors,
    health,
    insights,
    metrics,
    openapi,
    policies,
    request_log,
    simulations,
    state,
)

MAX_BODY_BYTES = 64 * 1024


class PolicyServiceApp(Flask):
    """Flask, asking once per hook or view whether it is a coroutine function: `ensure_sync` runs for
    every hook and the view of every request (six a decision), and its `inspect` check cost ~0.8 % of a
    decision's instructions. Flask documents the method as the one to override."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        synced = self._synced.get(func)
        if synced is None:
            synced = self._synced[func] = super().ensure_sync(func)
        return synced


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = PolicyServiceApp("policy_service", static_folder=None)  # /docs serves its own assets (web/openapi.py)
    settings = config.settings()
    app.config.from_mapping(
        POLICIES=settings.policies,
        DATABASE_URL=settings.log_url,
        DEV=settings.dev,
        KEYS_FILE=settings.keys_file,
        # Under `serve`, the gunicorn master records what is live; workers follow it (service/reloading.py).
        FOLLOW_RELOADS=settings.follow_reloads,
        SHADOW_POLICIES=settings.shadow_policies,
        ALLOW_FAILING_TESTS=settings.allow_failing_tests,  # else a set whose own test cases fail is refused
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        # Privacy (docs/contract.md §6): request paths masked before storage, and a secret for keyed customer ids.
        MASKED_FIELDS=settings.masked_fields,
        CUSTOMER_ID_KEY=settings.customer_id_key,
        LOG_KEY=settings.log_key,  # entry hashes under an HMAC key kept outside the database
        SECRET_KEY=settings.secret_key,  # signs the console's sessions (console/session.py)
        APPROVAL_OVERDUE_MINUTES=settings.approval_overdue_minutes,
    )
    if test_config:
        app.config.update(test_config)
    errors.init_app(app)
    request_log.init_app(app)
    access.init_app(app)
    state.init_app(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(metrics.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(policies.blueprint)
    app.register_blueprint(decisions.blueprint)
    app.register_blueprint(audit.blueprint)
    app.register_blueprint(approvals.blueprint)
    app.register_blueprint(simulations.blueprint)
    app.register_blueprint(insights.blueprint)
    init_console(app)  # the pages for people under /console/, and GET / to them
    return app
