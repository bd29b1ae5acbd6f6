"""How a view reads its request (`read_json_body`, `query_args`, `idempotency_key`) and what it answers,
declared once on the view: the OpenAPI document reads it from Flask's
URL map, and the same declaration serialises what the view returns.

A view decorated with `documented(...)` returns plain data (or `(data, status)`), and its answer is
that data dumped through the schema declared for the status (service.responses.dump): the shape the
document shows is the shape the caller gets. A view may still return a ready `Response` (a decision
rendered under the chain lock, a streamed export, a page of text) when its bytes are built elsewhere.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from flask import Response, request
from marshmallow import Schema

from policy_service.service.responses import dump
from policy_service.web.errors import ProblemError

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: Mapping[int, type[Schema] | None]  # status -> body schema (None: not JSON, or ours to stream)
    body: Any = None  # a request body schema, or the name of a component ("DecisionRequest")
    query: type[Schema] | None = None
    parameters: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    content_types: tuple[str, ...] = ("application/json",)


DECISION_ID = {"in": "path", "name": "decision_id", "required": True, "schema": {"type": "string"}}
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                   "description": "the same key and body within 24 h return the first answer again"}
ANCHOR = {"in": "query", "name": "anchor", "required": False, "style": "form", "explode": True,
          "schema": {"type": "array", "items": {"type": "string", "pattern": r"^\d+:[0-9a-f]{64}$"}},
          "description": "SEQ:HASH noted from an earlier verify; catches deletion of the newest entries"}
REVISION = {"in": "path", "name": "revision", "required": True, "schema": {"type": "string"}}


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def read_json_body() -> Any:
    raw = request.get_data(cache=False)
    try:
        # Decimals, not floats: 0.1 stays 0.1 and 10.005 is seen as having three decimals.
        return json.loads(raw, parse_float=Decimal, parse_constant=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProblemError(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None


def query_args(schema: Any) -> dict[str, Any]:
    """The query string through a marshmallow schema: unknown or bad parameters are a 422 naming them."""
    return schema.load(request.args.to_dict())  # type: ignore[no-any-return]


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise ProblemError(422, "Invalid request", "Idempotency-Key must be 1 to 200 characters",
                           {"Idempotency-Key": ["must be 1 to 200 characters"]})
    return key


def documented(summary: str, responses: Mapping[int, type[Schema] | None], **details: Any) -> Callable[[View], View]:
    """Declare the operation a view implements (see the module docstring)."""
    operation = Operation(summary, dict(responses), **details)
    success = min(status for status in operation.responses if status < 300)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def respond(*args: Any, **kwargs: Any) -> Any:
            result = view(*args, **kwargs)
            if isinstance(result, Response):
                return result
            body, status = result if isinstance(result, tuple) else (result, success)
            schema = operation.responses[status]
            if schema is None:
                raise TypeError(f"{request.endpoint}: no schema declared for status {status}")
            return json_response(dump(schema, body), status)

        respond.operation = operation  # type: ignore[attr-defined]
        return respond  # type: ignore[return-value]

    return decorate


def operation_of(view: Callable[..., Any]) -> Operation | None:
    return getattr(view, "operation", None)
