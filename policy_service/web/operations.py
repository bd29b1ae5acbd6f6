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
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from flask import Response, current_app, request
from marshmallow import Schema

from policy_service.service.responses import dump
from policy_service.web.errors import ProblemError

View = TypeVar("View", bound=Callable[..., Any])


# The WSGI environ key under which the serving worker puts a zero-argument callable that tells it the
# request is making progress (serving/worker.py): long work (verify) calls it, so gunicorn's time-out,
# meant for hung workers, never cuts a request that advances. Absent outside gunicorn.
ALIVE = "policy_service.alive"


def still_alive() -> None:
    """Tell the worker the request in hand is advancing (a no-op where no worker listens)."""
    beat = request.environ.get(ALIVE)
    if beat is not None:
        beat()


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


MAX_DEPTH = 32  # nesting a request may have; a real body has three or four levels
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def read_json_body() -> Any:
    """The body as JSON, or a 4xx that says why: never a 500 for anything a caller sends (docs/contract.md §8).

    Numbers become Decimals (0.1 stays 0.1, 10.005 has three decimals). A chunked body is cut by
    werkzeug at the size limit rather than refused, so a body that fills the limit is refused here.
    Lone surrogates (an escaped half of a UTF-16 pair) and nesting past MAX_DEPTH are 422s naming
    where they are; both checks are skipped when the raw bytes cannot hold them."""
    raw = request.get_data(cache=False)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and len(raw) >= limit:
        raise ProblemError(413, "Request Entity Too Large", f"the body is larger than {limit // 1024} KiB")
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=Decimal)
    except RecursionError:
        raise _too_deep("body") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProblemError(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    except ArithmeticError:  # a number Decimal cannot hold (an exponent past its context): not a quantity
        message = "a number in the body is too large to be an amount"
        raise ProblemError(422, "Invalid request", message, {"body": [message]}) from None
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH or _ESCAPED_SURROGATE.search(raw):
        _check_text_and_depth(body, "", 0)
    return body


def _too_deep(where: str) -> ProblemError:
    message = f"nested more than {MAX_DEPTH} levels deep"
    return ProblemError(422, "Invalid request", message, {where: [message]})


def _check_text_and_depth(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _too_deep(path or "body")
    if isinstance(value, str):
        _refuse_surrogates(value, path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_surrogates(key, path or "body")
            _check_text_and_depth(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text_and_depth(item, f"{path}.{index}" if path else str(index), depth + 1)


def _refuse_surrogates(text: str, where: str) -> None:
    if any("\ud800" <= char <= "\udfff" for char in text):
        message = "contains a lone UTF-16 surrogate (an escape such as \\ud800 without its pair)"
        raise ProblemError(422, "Invalid request", message, {where: [message]})


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
