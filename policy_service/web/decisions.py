"""POST /v1/decisions and GET /v1/decisions/{id}."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, request

from ..decisions import decide_and_record
from .errors import ProblemError
from .state import service_state

blueprint = Blueprint("decisions", __name__)


def _json_response(body: Any, status: int) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def read_json_body() -> Any:
    raw = request.get_data(cache=False)
    try:
        # Decimals, not floats: 0.1 stays 0.1 and 10.005 is seen as having three decimals.
        return json.loads(raw, parse_float=Decimal, parse_constant=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProblemError(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None


@blueprint.post("/v1/decisions")
def create_decision() -> Response:
    body = read_json_body()
    state = service_state()
    response_text = decide_and_record(
        state.runtime, state.store, body,
        caller="dev" if current_app.config["DEV"] else None,
        trusted_tier=bool(current_app.config["DEV"]),
    )
    # No Location header: the id is in the body, and werkzeug's IRI->URI handling of it cost ~7 % of
    # the request (bench/http_api.py).
    return Response(response_text, status=201, mimetype="application/json")


@blueprint.get("/v1/decisions/<decision_id>")
def get_decision(decision_id: str) -> Response:
    found = service_state().store.get(decision_id)
    if found is None:
        raise ProblemError(404, "Not Found", f'no decision "{decision_id}"')
    return _json_response({**found, "events": []}, 200)
