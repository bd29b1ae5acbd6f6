"""Deciding a proposal and recording it before the caller sees it (docs/contract.md §5).

Plain Python: the web layer calls `decide_and_record` and only turns its result or its exceptions into
HTTP. The decision is recorded before it is returned; if recording fails, the caller gets StoreError
and no decision id, so nothing claims to be decided.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from policy_service.deciding import budgets
from policy_service.deciding.budgets import Budgets
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import ApprovalRequest, DecisionStore, NewEntry, Rendered
from policy_service.decisionlog.chain import canonical_json
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.errors import IdempotencyConflictError
from policy_service.service.keys import ANY_AGENT, AgentScope, act_as, check_scope
from policy_service.service.shadow import ShadowPolicies
from policy_service.service.spelling import decision_body, new_decision_id

IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Recorded:
    """A recorded decision: `text` is exactly what the caller receives; the rest is for metrics and logs."""
    text: str
    decision_id: str
    outcome: str
    action: str
    policy: str | None
    engine_seconds: float  # evaluation time, 0 for an idempotent replay
    replayed: bool = False


def decide_and_record(runtime: PolicyRuntime, store: DecisionStore, body: Any, *, caller: str | None,
                      trusted_tier: bool, privacy: PrivacySettings = PrivacySettings(),
                      idempotency_key: str | None = None, shadow: ShadowPolicies | None = None,
                      scope: AgentScope = ANY_AGENT) -> Recorded:
    """The decision, recorded byte for byte before it is returned.

    Cap usage is read and the decision appended in one chain transaction, so two concurrent requests
    cannot both spend the same remaining budget. With an Idempotency-Key already used by this caller
    in the last 24 h for the same body, the first answer comes back and nothing is recorded.

    Raises marshmallow.ValidationError for a bad body, IdempotencyConflictError, NotPermittedError (an agent outside the key's scope) and StoreError when the
    log cannot record.
    """
    body = act_as(body, "agent.id", scope)
    request = runtime.read(body, trusted_tier=trusted_tier, counted=True)
    check_scope(scope, request.agent_id, runtime.policy_set.agents, runtime.policy_set.organization, "agent.id")
    decision_id = new_decision_id()
    customer_ref = privacy.customer_ref(request.customer_id)
    stored_request, masked = privacy.protect(body)
    stored_text = canonical_json(stored_request)
    body_hash = privacy.body_fingerprint(body, stored_request, stored_text) if idempotency_key is not None else ""
    caller_name = caller or "anonymous"
    # The rules match on the request's values alone, so the engine runs before the chain lock: what
    # runs under it, the other worker waits for (docs/performance.md, "Tenth session on the bar").
    started = time.perf_counter()
    fired = runtime.fired_rules(request)
    matching_seconds = time.perf_counter() - started
    with store.chain_transaction() as transaction:
        now = transaction.now
        if idempotency_key is not None:
            earlier = transaction.idempotent(caller_name, idempotency_key, now - IDEMPOTENCY_WINDOW)
            if earlier is not None:
                if earlier[0] != body_hash:
                    raise IdempotencyConflictError(idempotency_key)
                first = next(e["response"] for e in transaction.entries(earlier[1]) if e["kind"] == "decision")
                seen = json.loads(first)
                return Recorded(first, seen["decision_id"], seen["outcome"], seen["proposal"]["action"], None, 0.0, replayed=True)
        started = time.perf_counter()
        evaluation = runtime.decide(request, Budgets(transaction, customer_ref, now), fired=fired)
        engine_seconds = matching_seconds + time.perf_counter() - started
        shadowed = shadow.judge(body, trusted_tier, transaction, customer_ref, now) if shadow is not None else None

        def render(created_at: datetime) -> Rendered:  # called under the lock, with the logged time
            return Rendered.of(decision_body(evaluation, runtime.policy_set.organization, runtime.revision, decision_id,
                                             created_at, request.agent_id))

        policy = runtime.policy_set.policy_for(evaluation.action)
        allowed = evaluation.outcome == "allow"
        appended = transaction.append(
            NewEntry(
                id=decision_id, kind="decision", decision_id=decision_id, created_at=now, caller=caller,
                agent_id=request.agent_id, customer_id=customer_ref, outcome=evaluation.outcome,
                action=evaluation.action, policy=policy.id if policy else None,
                rules=canonical_json(list(evaluation.fired)), policy_revision=runtime.revision,
                request=stored_text, response=render, masked=canonical_json(masked),
                fired_rules=evaluation.fired,
            ),
            ledger=budgets.reservation(evaluation.action, evaluation.amount, customer_ref, request.agent_id) if allowed else (),
            approval=ApprovalRequest(decision_id, evaluation.escalation.to_tier, _team_of(runtime, request.agent_id),
                                     evaluation.action, evaluation.amount, now) if evaluation.outcome == "escalate" and evaluation.escalation else None,
            idempotency=(caller_name, idempotency_key, body_hash) if idempotency_key is not None else None,
        )
    if shadow is not None:
        shadow.record(decision_id, evaluation, shadowed)
    return Recorded(appended.response, decision_id, evaluation.outcome, evaluation.action,
                    policy.id if policy else None, engine_seconds)


def _team_of(runtime: PolicyRuntime, agent_id: str | None) -> str | None:
    agent = runtime.policy_set.agents.get(agent_id or "")
    return agent.team if agent else None
