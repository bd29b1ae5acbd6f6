"""One JSON line per request on stderr, with a request id that the response carries back.

The id comes from the caller's `X-Request-ID` when it is a sane token (so a CRM can follow its own id
through our logs), otherwise it is generated. Lines hold ids, never customer data: route templates,
not paths, and the decision id, not the request body.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

from policy_service.telemetry.logs import configure_logging, log_fields
from policy_service.telemetry.metrics import REQUESTS

log = logging.getLogger("policy_service.requests")
ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _start() -> None:
    # The request and g objects once each: every use of Flask's proxies looks them up again.
    state, offered = g._get_current_object(), request.headers.get("X-Request-ID", "")
    state.started = time.perf_counter()
    state.request_id = offered if ACCEPTED_ID.fullmatch(offered) else secrets.token_hex(16)  # uuid4().hex, without the UUID object


def _finish(response: Response) -> Response:
    state, current = g._get_current_object(), request._get_current_object()  # type: ignore[attr-defined]
    latency = time.perf_counter() - state.get("started", time.perf_counter())
    route = current.url_rule.rule if current.url_rule is not None else "unmatched"
    request_id = state.get("request_id") or secrets.token_hex(16)
    response.headers["X-Request-ID"] = request_id
    REQUESTS.labels(route, current.method, str(response.status_code)).inc()
    caller = state.get("caller")
    log_fields(log, "request", {
        "request_id": request_id, "method": current.method, "route": route, "status": response.status_code,
        "latency_ms": round(latency * 1000, 3), "decision_id": state.get("decision_id"),
        "caller": caller.name if caller is not None else None,
    })
    return response


def init_app(app: Flask) -> None:
    configure_logging()
    # Registered before the access check, so a refused request is logged with its id too.
    app.before_request(_start)
    app.after_request(_finish)
