"""GET /v1/audit/verify and GET /v1/policies/revisions/{revision}: proof for auditors."""

from __future__ import annotations

from flask import Blueprint, Response, request

from policy_service.decisionlog import audit
from policy_service.decisionlog.chain import parse_anchor
from policy_service.service.keys import ROLES
from policy_service.web.access import requires
from policy_service.web.decisions import json_response
from policy_service.web.errors import ProblemError
from policy_service.web.state import service_state

blueprint = Blueprint("audit", __name__)


@blueprint.get("/v1/audit/verify")
@requires("auditor")
def verify() -> Response:
    """200 either way (the check itself worked); `ok` and `problem` say what it found."""
    anchors: dict[int, str] = {}
    for text in request.args.getlist("anchor"):
        try:
            seq, digest = parse_anchor(text)
        except ValueError as exc:
            raise ProblemError(422, "Invalid request", str(exc), {"anchor": [str(exc)]}) from None
        anchors[seq] = digest
    unknown = sorted(set(request.args) - {"anchor"})
    if unknown:
        raise ProblemError(422, "Invalid request", "unknown query parameter", {name: ["unknown field"] for name in unknown})
    return json_response(audit.verify(service_state().store, anchors).as_dict())


@blueprint.get("/v1/policies/revisions/<revision>")
@requires(*ROLES)
def policy_revision(revision: str) -> Response:
    stored = service_state().store.revision(revision)
    if stored is None:
        raise ProblemError(404, "Not Found", f'no stored policy revision "{revision}"')
    return json_response(stored)
