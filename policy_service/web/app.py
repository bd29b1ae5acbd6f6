"""The Flask application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from policy_service.decisionlog import default_database_url
from policy_service.service.keys import DEFAULT_KEYS_FILE
from policy_service.web import (
    access,
    approvals,
    audit,
    decisions,
    errors,
    health,
    metrics,
    openapi,
    policies,
    request_log,
    state,
)

MAX_BODY_BYTES = 64 * 1024


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask("policy_service", static_folder=None)  # /docs serves its own assets (web/docs.py)
    app.config.from_mapping(
        POLICIES=os.environ.get("POLICY_SERVICE_POLICIES", "policies"),
        DATABASE_URL=os.environ.get("POLICY_SERVICE_DATABASE_URL") or default_database_url(),
        DEV=os.environ.get("POLICY_SERVICE_DEV") == "1",
        KEYS_FILE=os.environ.get("POLICY_SERVICE_KEYS", DEFAULT_KEYS_FILE),
        # Under `serve`, the gunicorn master records what is live; workers follow it (reloading.py).
        FOLLOW_RELOADS=os.environ.get("POLICY_SERVICE_FOLLOW_RELOADS") == "1",
        SHADOW_POLICIES=os.environ.get("POLICY_SERVICE_SHADOW_POLICIES") or None,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        # Privacy (SPEC §6): request paths masked before storage, and a secret for keyed customer ids.
        MASKED_FIELDS=os.environ.get("POLICY_SERVICE_MASKED_FIELDS", ""),
        CUSTOMER_ID_KEY=os.environ.get("POLICY_SERVICE_CUSTOMER_ID_KEY") or None,
    )
    if test_config:
        app.config.update(test_config)
    errors.init_app(app)
    request_log.init_app(app)
    access.init_app(app)
    approvals.init_app(app)
    state.init_app(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(metrics.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(policies.blueprint)
    app.register_blueprint(decisions.blueprint)
    app.register_blueprint(audit.blueprint)
    app.register_blueprint(approvals.blueprint)
    return app
