"""GET /healthz (the process can serve) and GET /readyz (policies loaded, database reachable, with the
detail an operator needs to see why not)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app

from policy_service.service.responses import HealthSchema, ReadySchema
from policy_service.web.access import identified, public
from policy_service.web.operations import documented
from policy_service.web.state import service_state

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@public
@documented("The process can serve", {200: HealthSchema})
def healthz() -> Any:
    return {"status": "ok"}


@blueprint.get("/readyz")
@public
@documented("Policies loaded and database reachable, with detail", {200: ReadySchema, 503: ReadySchema})
def readyz() -> Any:
    state = service_state()
    started = time.perf_counter()
    reachable = state.store.ping()
    database = {"status": "ok" if reachable else "unreachable", "dialect": state.store.dialect,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3)}
    keys = current_app.extensions.get("policy_service_keys")
    detail = identified()
    policies = state.policies_detail()
    if not detail:  # an anonymous probe learns whether to route traffic here, not how the host is laid out
        error = policies["last_reload_error"]
        policies = {"revision": policies["revision"], "loaded_at": policies["loaded_at"],
                    "last_reload_error": None if error is None else {"at": error["at"], "source": error["source"]}}
    body = {
        "status": "ok" if reachable else "unavailable",
        "policies": policies,
        "database": database,
        "keys": {"mode": "dev: no keys, every caller trusted"} if keys is None
        else {"mode": "keys", "count": len(keys.current())} if detail else {"mode": "keys"},
    }
    return body, 200 if reachable else 503
