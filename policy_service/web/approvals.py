"""Approvals and outcomes: POST /v1/decisions/{id}/approval, POST /v1/decisions/{id}/outcome and the
approval queue GET /v1/approvals (docs/contract.md §5)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from policy_service.service.approvals import ApprovalSchema, OutcomeSchema, decide_approval, record_outcome
from policy_service.service.events import APPROVAL_STATUSES, approval_queue
from policy_service.service.responses import EventSchema, ProblemSchema, QueueSchema
from policy_service.web.access import caller, requires
from policy_service.web.operations import DECISION_ID, documented, query_args, read_json_body
from policy_service.web.state import service_state

blueprint = Blueprint("approvals", __name__)


class QueueQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(load_default="pending", validate=validate.OneOf(APPROVAL_STATUSES))
    tier = fields.String()
    team = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


@blueprint.post("/v1/decisions/<decision_id>/approval")
@requires("approver")
@documented("Approve or reject an escalated decision", {201: EventSchema, 404: ProblemSchema, 409: ProblemSchema},
            body=ApprovalSchema, parameters=[DECISION_ID])
def approval(decision_id: str) -> Response:
    state = service_state()
    event = decide_approval(state.runtime, state.store, decision_id, read_json_body(), caller=caller().name,
                            scope=caller().scope)
    return Response(event, status=201, mimetype="application/json")


@blueprint.post("/v1/decisions/<decision_id>/outcome")
@requires("agent_tool")
@documented("What was actually granted, or that nothing was", {201: EventSchema, 404: ProblemSchema, 409: ProblemSchema},
            body=OutcomeSchema, parameters=[DECISION_ID])
def outcome(decision_id: str) -> Response:
    state = service_state()
    event = record_outcome(state.runtime, state.store, decision_id, read_json_body(), caller=caller().name,
                           scope=caller().scope)
    return Response(event, status=201, mimetype="application/json")


@blueprint.get("/v1/approvals")
@requires("approver")
@documented("Escalations by status (waiting for an approver by default), oldest first", {200: QueueSchema},
            query=QueueQuerySchema)
def queue() -> Any:
    """Escalations oldest first: pending ones with how long each has waited, decided ones with their verdict."""
    state = service_state()
    args = query_args(QueueQuerySchema())
    org = state.runtime.policy_set.organization
    tiers = [t.id for t in org.tiers]
    if args.get("tier") not in (None, *tiers):  # a mistyped tier must not read as "nothing is waiting"
        raise ValidationError({"tier": [f"unknown tier; one of: {', '.join(tiers)}"]})
    return {"items": approval_queue(state.store, org, args["status"], args.get("tier"), args.get("team"), args["limit"],
                                    datetime.now(timezone.utc))}
