"""POST /v1/decisions, GET /v1/decisions/{id}, and the auditors' list and export of decisions."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, g, stream_with_context

from policy_service.decisionlog import audit
from policy_service.service.auditing import with_rule_resolved
from policy_service.service.events import decision_page, decision_with_events
from policy_service.service.keys import check_scope
from policy_service.service.recording import decide_and_record
from policy_service.service.responses import DecisionPageSchema, DecisionSchema, DecisionWithEventsSchema, ProblemSchema
from policy_service.telemetry import metrics
from policy_service.web.access import caller, requires
from policy_service.web.errors import ProblemError
from policy_service.web.operations import DECISION_ID, IDEMPOTENCY_KEY, documented, idempotency_key, query_args, read_json_body
from policy_service.web.state import service_state

blueprint = Blueprint("decisions", __name__)


@blueprint.post("/v1/decisions")
@requires("agent_tool")
@documented("Evaluate a proposal, record it and return the decision", {201: DecisionSchema, 409: ProblemSchema},
            body="DecisionRequest", parameters=[IDEMPOTENCY_KEY])
def create_decision() -> Response:
    started = time.perf_counter()
    body = read_json_body()
    state, key = service_state(), caller()
    recorded = decide_and_record(
        state.runtime, state.store, body,
        caller=key.name,
        trusted_tier=key.trusted_tier,
        privacy=state.privacy,
        idempotency_key=idempotency_key(),
        shadow=state.shadow,
        scope=key.scope,
    )
    g.decision_id = recorded.decision_id
    if not recorded.replayed:
        metrics.DECISIONS.labels(recorded.outcome, recorded.action, recorded.policy or "").inc()
        metrics.ENGINE_SECONDS.observe(recorded.engine_seconds)
        metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
    # No Location header: the id is in the body, and werkzeug's IRI->URI handling of it cost ~7 % of
    # the request (bench/http_api.py).
    return Response(recorded.text, status=201, mimetype="application/json")


@blueprint.get("/v1/decisions")
@requires("auditor")
@documented("Decisions in the log, newest first, by cursor pages", {200: DecisionPageSchema}, query=audit.PageSchema)
def list_decisions() -> Any:
    state = service_state()
    args = with_rule_resolved(query_args(audit.PageSchema()), state.runtime.policy_set, state.store)
    return decision_page(state.store, args, state.privacy)


@blueprint.get("/v1/decisions/export")
@requires("auditor")
@documented("The log's entries (decisions with their approvals and outcomes) as streamed CSV or JSONL",
            {200: None}, query=audit.ExportSchema,
            content_types=("text/csv", "application/x-ndjson"))
def export_decisions() -> Response:
    state = service_state()
    args = with_rule_resolved(query_args(audit.ExportSchema()), state.runtime.policy_set, state.store)
    chunks, mimetype, name = audit.export(state.store, args, state.privacy)
    return Response(stream_with_context(chunks), mimetype=mimetype,  # Flask adds "; charset=utf-8" to text/*
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/v1/decisions/<decision_id>")
@requires("agent_tool", "auditor")
@documented("One decision as it was answered, with its events and where it stands now (state)",
            {200: DecisionWithEventsSchema, 404: ProblemSchema},
            parameters=[DECISION_ID])
def get_decision(decision_id: str) -> Any:
    state = service_state()
    decision = decision_with_events(state.store, decision_id)
    if decision is None:
        raise ProblemError(404, "Not Found", f'no decision "{decision_id}"')
    if not caller().has_any({"auditor"}):  # an agent tool reads only the decisions of agents in its scope
        policy_set = state.runtime.policy_set
        check_scope(caller().scope, decision["agent"]["id"], policy_set.agents, policy_set.organization, "decision_id")
    return decision
