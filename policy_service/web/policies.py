"""GET /v1/policies, GET /v1/policies/matrix and POST /v1/policies/reload (SPEC §5, issue 5)."""

from __future__ import annotations

from flask import Blueprint, Response
from marshmallow import RAISE, Schema, fields, validate

from policy_service.service.keys import ROLES
from policy_service.service.matrix import matrix_json
from policy_service.web.access import caller, requires
from policy_service.web.decisions import json_response, query_args
from policy_service.web.errors import ProblemError
from policy_service.web.state import service_state

blueprint = Blueprint("policies", __name__)


class MatrixQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    locale = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"))


@blueprint.get("/v1/policies")
@requires(*ROLES)
def policies() -> Response:
    return json_response(service_state().policies_detail())


@blueprint.get("/v1/policies/matrix")
@requires(*ROLES)
def matrix() -> Response:
    locale = query_args(MatrixQuerySchema()).get("locale")  # one the organisation lacks falls back to its default
    return json_response(matrix_json(service_state().runtime.policy_set, locale))


@blueprint.post("/v1/policies/reload")
@requires("policy_admin")
def reload() -> Response:
    """200 with the live revision; 422 with every problem, positioned, when the set on disk is broken
    (the revision that was live stays live, in every worker)."""
    state = service_state()
    outcome = state.live.reload("api", caller().name)
    if not outcome.ok:
        errors: dict[str, list[str]] = {}
        for d in outcome.diagnostics:
            errors.setdefault(f"{d.file}:{d.line}:{d.column}", []).append(
                f"{d.severity}[{d.code}]: {d.message}" + (f" (hint: {d.hint})" if d.hint else ""))
        raise ProblemError(422, "Policy set refused",
                           f"the policy directory has {sum(d.severity == 'error' for d in outcome.diagnostics)} error(s); "
                           f"{outcome.revision} stays live", errors)
    return json_response({"revision": outcome.revision, "previous": outcome.previous, "changed": outcome.changed,
                          "warnings": [d.render() for d in outcome.diagnostics]})
