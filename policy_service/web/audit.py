"""GET /v1/audit/verify and GET /v1/policies/revisions/{revision}: proof for auditors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from policy_service.decisionlog import audit
from policy_service.decisionlog.chain import parse_anchor
from policy_service.service.keys import ROLES
from policy_service.service.responses import ProblemSchema, StoredRevisionSchema, VerifySchema
from policy_service.web.access import requires
from policy_service.web.errors import ProblemError
from policy_service.web.operations import ANCHOR, REVISION, documented, still_alive
from policy_service.web.state import service_state

blueprint = Blueprint("audit", __name__)


@blueprint.get("/v1/audit/verify")
@requires("auditor")
@documented("Check the whole log's hash chain and stored policy revisions", {200: VerifySchema}, parameters=[ANCHOR])
def verify() -> Any:
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
    store = service_state().store
    return audit.verify(store, anchors, store.log_key, progress=still_alive).as_dict()


@blueprint.get("/v1/policies/revisions/<revision>")
@requires(*ROLES)
@documented("A stored policy revision's files", {200: StoredRevisionSchema, 404: ProblemSchema}, parameters=[REVISION])
def policy_revision(revision: str) -> Any:
    stored = service_state().store.revision(revision)
    if stored is None:
        raise ProblemError(404, "Not Found", f'no stored policy revision "{revision}"')
    return stored
