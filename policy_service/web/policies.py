"""GET /v1/policies, GET /v1/policies/matrix and POST /v1/policies/reload (docs/contract.md §5)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import RAISE, Schema, fields

from policy_service.deciding.request import LOCALE_PATTERN, WholeMatch
from policy_service.service.keys import ROLES
from policy_service.service.matrix import matrix_json
from policy_service.service.responses import MatrixSchema, PoliciesSchema, ProblemSchema, ReloadResultSchema
from policy_service.web.access import caller, requires
from policy_service.web.errors import ProblemError
from policy_service.web.operations import documented, query_args
from policy_service.web.state import service_state

blueprint = Blueprint("policies", __name__)


class MatrixQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    locale = fields.String(validate=WholeMatch(LOCALE_PATTERN))


@blueprint.get("/v1/policies")
@requires(*ROLES)
@documented("The live revision, its policies and the last reload error", {200: PoliciesSchema})
def policies() -> Any:
    return service_state().policies_detail()


@blueprint.get("/v1/policies/matrix")
@requires(*ROLES)
@documented("The empowerment matrix: limits per action and tier, and what changes them", {200: MatrixSchema},
            query=MatrixQuerySchema)
def matrix() -> Any:
    locale = query_args(MatrixQuerySchema()).get("locale")  # one the organisation lacks falls back to its default
    return matrix_json(service_state().runtime.policy_set, locale)


@blueprint.post("/v1/policies/reload")
@requires("policy_admin")
@documented("Reload the policy directory; a broken set leaves the live one in place",
            {200: ReloadResultSchema, 422: ProblemSchema})
def reload() -> Any:
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
    return {"revision": outcome.revision, "previous": outcome.previous, "changed": outcome.changed,
            "warnings": [d.render() for d in outcome.diagnostics]}
