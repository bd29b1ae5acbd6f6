"""GET /healthz (the process can serve) and GET /readyz (policies loaded, database reachable)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .access import public
from .state import service_state

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@public
def healthz() -> Response:
    return jsonify(status="ok")


@blueprint.get("/readyz")
@public
def readyz() -> tuple[Response, int]:
    state = service_state()
    database = state.store.ping()
    body = {
        "status": "ok" if database else "unavailable",
        "policies": {"revision": state.runtime.revision, "policies": len(state.runtime.policy_set.policies)},
        "database": "ok" if database else "unreachable",
    }
    return jsonify(body), 200 if database else 503
