"""Every error leaves as application/problem+json, in one shape (ProblemSchema), through `problem`.

The service's domain errors (policy_service.errors) get their HTTP statuses here, one handler per
kind, all registered by `init_app`; web views that refuse a request themselves raise ProblemError
with the status (docs/contract.md §5)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from flask import Flask, Response, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from policy_service.errors import (
    ConflictError,
    DecisionNotFoundError,
    FieldError,
    IdempotencyConflictError,
    NotPermittedError,
    PolicyServiceError,
    StoreError,
)
from policy_service.service.problems import field_errors
from policy_service.service.responses import ProblemSchema, dump
from policy_service.telemetry.metrics import LOG_WRITE_FAILURES

log = logging.getLogger(__name__)


class ProblemError(PolicyServiceError):
    """An HTTP problem raised by the web layer itself (400, 404, 422 ...), answered as it is."""

    def __init__(self, status: int, title: str, detail: str, errors: Mapping[str, list[str]] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, dict(errors or {})
        self.headers = dict(headers or {})


def problem(status: int, title: str, detail: str, errors: Mapping[str, list[str]] | None = None) -> Response:
    body = dump(ProblemSchema, {"type": "about:blank", "title": title, "status": status, "detail": detail,
                                "errors": dict(errors or {})})
    text = json.dumps(body, ensure_ascii=False)
    try:
        payload = text.encode("utf-8")
    except UnicodeEncodeError:  # a message quoting a caller's lone surrogate: escape it, never fail
        payload = json.dumps(body).encode("ascii")
    return Response(payload, status=status, mimetype="application/problem+json")


def init_app(app: Flask) -> None:
    @app.errorhandler(ProblemError)
    def _problem(error: ProblemError) -> Response:
        response = problem(error.status, error.title, error.detail, error.errors)
        response.headers.update(error.headers)
        return response

    @app.errorhandler(ValidationError)
    def _invalid(error: ValidationError) -> Response:
        errors = field_errors(error.messages)
        fields = ", ".join(sorted(errors))
        return problem(422, "Invalid request", f"the request breaks the schema at: {fields}", errors)

    @app.errorhandler(IdempotencyConflictError)
    def _idempotency(error: IdempotencyConflictError) -> Response:
        return problem(409, "Conflict", "this Idempotency-Key was used in the last 24 h with another body",
                       {"Idempotency-Key": ["already used with another body"]})

    @app.errorhandler(DecisionNotFoundError)
    def _not_found(error: DecisionNotFoundError) -> Response:
        return problem(404, "Not Found", f'no decision "{error}"')

    @app.errorhandler(ConflictError)
    def _conflict(error: ConflictError) -> Response:
        return problem(409, "Conflict", str(error))

    @app.errorhandler(FieldError)
    def _field(error: FieldError) -> Response:
        if isinstance(error, NotPermittedError):
            return problem(403, "Forbidden", error.message, {error.field: [error.message]})
        return problem(422, "Invalid request", error.message, {error.field: [error.message]})

    @app.errorhandler(StoreError)
    def _store(error: StoreError) -> Response:
        log.error("decision log unavailable: %s", error)
        if request.method != "GET":
            LOG_WRITE_FAILURES.inc()
        if request.method == "GET":
            return problem(503, "Decision log unavailable", "the decision log cannot be read right now; retry shortly")
        return problem(503, "Decision log unavailable", "nothing was recorded, so nothing was decided; retry shortly")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        detail = "the body is larger than 64 KiB" if error.code == 413 else (error.description or error.name)
        return problem(error.code or 500, error.name, detail)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")
