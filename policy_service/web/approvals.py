"""Approvals and outcomes: POST /v1/decisions/{id}/approval, POST /v1/decisions/{id}/outcome and the
approval queue GET /v1/approvals (docs/contract.md §5)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from policy_service.service.approvals import ApprovalSchema, OutcomeSchema, decide_approval, record_outcome
from policy_service.service.responses import EventSchema, ProblemSchema, QueueSchema
from policy_service.service.spelling import approval_id, json_time, quantity_json
from policy_service.web.access import caller, requires
from policy_service.web.operations import DECISION_ID, documented, query_args, read_json_body
from policy_service.web.state import service_state

blueprint = Blueprint("approvals", __name__)


class QueueQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(load_default="pending", validate=validate.OneOf(["pending"]))
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
@documented("Escalations waiting for an approver, oldest first", {200: QueueSchema}, query=QueueQuerySchema)
def queue() -> Any:
    """Escalations waiting for an approver, oldest first, with how long each has waited."""
    state = service_state()
    args = query_args(QueueQuerySchema())
    org = state.runtime.policy_set.organization
    tiers = [t.id for t in org.tiers]
    if args.get("tier") not in (None, *tiers):  # a mistyped tier must not read as "nothing is waiting"
        raise ValidationError({"tier": [f"unknown tier; one of: {', '.join(tiers)}"]})
    now = datetime.now(timezone.utc)
    items = [{
        "approval_id": approval_id(row["decision_id"]), "decision_id": row["decision_id"], "status": "pending",
        "to_tier": row["to_tier"], "team": row["team"], "agent_id": row["agent_id"], "customer_id": row["customer_id"],
        "action": row["action"],
        "amount": quantity_json(org.actions[row["action"]].unit, row["amount"], org) if row["action"] in org.actions else row["amount"],
        "created_at": json_time(row["created_at"]),
        "waited_seconds": int((now - row["created_at"]).total_seconds()),
    } for row in state.store.pending_approvals(args.get("tier"), args.get("team"), args["limit"])]
    return {"items": items}

