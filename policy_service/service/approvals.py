"""After a decision: an approver's verdict on an escalation, and the outcome an agent reports (docs/contract.md §5).

Both are events in the hash chain, appended in a chain transaction that also reads what they depend on
(the decision, its earlier events, the budgets), so deciding twice or overspending cannot slip between
two workers. Refusals are the domain errors of policy_service.errors; only the web layer gives them statuses.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from policy_service.deciding import budgets
from policy_service.deciding.budgets import Budgets
from policy_service.deciding.evaluation import Evaluation
from policy_service.deciding.request import Identifier, parse_quantity
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import ChainTransaction, DecisionStore, LedgerRow, NewEntry, Rendered
from policy_service.decisionlog.chain import canonical_json
from policy_service.errors import ConflictError, DecisionNotFoundError, FieldError, NotPermittedError
from policy_service.service.keys import ANY_AGENT, AgentScope, act_as, check_scope
from policy_service.service.responses import EventSchema, dump
from policy_service.service.spelling import approval_id, json_time, outcome_id, proposal_json, quantity_json


class ApprovalSchema(Schema):
    class Meta:
        unknown = RAISE

    approver_id = Identifier(required=True, validate=validate.Length(1, 200))
    verdict = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    amount = fields.Raw()
    note = fields.String(validate=validate.Length(max=2000))


class OutcomeSchema(Schema):
    class Meta:
        unknown = RAISE

    action = fields.String(validate=validate.Length(1, 100))
    amount = fields.Raw()
    # Literally true, nothing else: "yes" or 1 must not release a budget by accident.
    declined = fields.Boolean(truthy={True}, falsy=set(), error_messages={"invalid": "must be true (or left out)"})

    @validates_schema
    def _one_form(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("declined"):
            if "action" in data or "amount" in data:
                raise ValidationError("a declined outcome carries no action or amount", "declined")
        elif "action" not in data:
            raise ValidationError("required unless declined is true", "action")


@dataclasses.dataclass
class _Logged:
    decision: dict[str, Any]  # the decision entry (kind, response, request, agent_id, customer_id, created_at)
    body: dict[str, Any]  # its response as the caller saw it
    events: list[dict[str, Any]]  # parsed event responses, oldest first

    def event(self, kind: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e["kind"] == kind), None)


def _logged(transaction: ChainTransaction, decision_id: str) -> _Logged:
    entries = transaction.entries(decision_id)
    decision = next((e for e in entries if e["kind"] == "decision"), None)
    if decision is None:
        raise DecisionNotFoundError(decision_id)
    return _Logged(decision, json.loads(decision["response"]),
                   [json.loads(e["response"]) for e in entries if e["kind"] != "decision"])


def _amount(raw: Any, unit: str, runtime: PolicyRuntime, field: str) -> int:
    try:
        return parse_quantity(raw, unit, runtime.policy_set.organization)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None


def _reevaluate(runtime: PolicyRuntime, logged: _Logged, budgets: Budgets, *, action: str, amount: int,
                tier: str | None = None) -> Evaluation:
    """The stored request decided again under the live policies, proposing `amount` of `action`
    (at the approver's `tier` when one is given), through the same validation as a new request."""
    org = runtime.policy_set.organization
    body = {**json.loads(logged.decision["request"]), "proposal": proposal_json(action, org.actions[action].unit, amount, org)}
    try:
        request = runtime.read(body, trusted_tier=True)
    except ValidationError:
        raise ConflictError("the stored request cannot be decided again (fields were masked before storage, or "
                       "the live policies no longer accept it)") from None
    return runtime.decide(request, budgets, tier=tier)


def _event_entry(kind: str, event_id: str, logged: _Logged, runtime: PolicyRuntime, caller: str | None,
                 agent_id: str | None, verdict: str, action: str, body: dict[str, Any], render: Any,
                 at: datetime) -> NewEntry:
    policy = runtime.policy_set.policy_for(action)
    return NewEntry(
        id=event_id, kind=kind, decision_id=logged.body["decision_id"], created_at=at,
        caller=caller, agent_id=agent_id, customer_id=logged.decision["customer_id"], outcome=verdict, action=action,
        policy=policy.id if policy else None, rules="[]", policy_revision=runtime.revision,
        request=canonical_json(body), response=render, masked="[]")


def decide_approval(runtime: PolicyRuntime, store: DecisionStore, decision_id: str, body: Any, *,
                    caller: str | None, scope: AgentScope = ANY_AGENT) -> str:
    """Approve (optionally a lower amount) or reject an escalated decision; returns the event's JSON.

    The approver is the key's bound agent when it has one (`approver_id` may then be left out), and
    must be within the key's scope: an approver key cannot borrow a manager's id."""
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["the body must be a JSON object"]})
    body = act_as(body, "approver_id", scope)
    data = ApprovalSchema().load(body)
    org = runtime.policy_set.organization
    check_scope(scope, data["approver_id"], runtime.policy_set.agents, org, "approver_id")
    with store.chain_transaction() as transaction:
        logged = _logged(transaction, decision_id)
        pending = transaction.approval_request(decision_id)
        if pending is None:
            raise ConflictError(f"decision {decision_id} was {logged.body['outcome']}, not escalated: nothing awaits approval")
        earlier = logged.event("approval")
        if earlier is not None:
            done = "approved" if earlier["verdict"] == "approve" else "rejected"  # not "rejectd"
            raise ConflictError(f"decision {decision_id} was already {done} by {earlier['approver']['id']}")
        if logged.event("outcome") is not None:  # a declined case must not hold budget for its window
            raise ConflictError(f"an outcome is already recorded for decision {decision_id}: nothing awaits approval")
        approver = runtime.policy_set.agents.get(data["approver_id"])
        if approver is None:
            raise FieldError("approver_id", f'unknown agent "{data["approver_id"]}"')
        if org.tier_rank(approver.tier) < org.tier_rank(pending.to_tier):
            raise NotPermittedError("approver_id", f"{approver.id} is {approver.tier}; this escalation needs {pending.to_tier} or above")
        unit = org.actions[pending.action].unit
        amount = pending.amount if data.get("amount") is None else _amount(data["amount"], unit, runtime, "amount")
        if amount > pending.amount or amount <= 0:
            raise FieldError("amount", "an approval may lower the proposed amount, not raise it or make it zero")
        ledger: tuple[LedgerRow, ...] = ()
        if data["verdict"] == "approve":
            now = transaction.now
            judged = _reevaluate(runtime, logged, Budgets(transaction, logged.decision["customer_id"], now, approver.id),
                                 action=pending.action, amount=amount, tier=approver.tier)
            if judged.outcome != "allow":
                limit = quantity_json(unit, judged.limit, org)
                raise NotPermittedError("approver_id", f"{approver.id}'s own limit and caps cover {limit or 'nothing'} of {pending.action} here, "
                                                  f"not {quantity_json(unit, amount, org)}")
            ledger = budgets.reservation(pending.action, amount, logged.decision["customer_id"], approver.id)

        def render(created_at: datetime) -> Rendered:
            return Rendered.of(dump(EventSchema, {
                "event_id": approval_id(decision_id), "kind": "approval", "decision_id": decision_id,
                "created_at": json_time(created_at), "verdict": data["verdict"],
                "approver": {"id": approver.id, "tier": approver.tier}, "action": pending.action,
                "amount": quantity_json(unit, amount, org), "note": data.get("note"),
            }))

        verdict = "approved" if data["verdict"] == "approve" else "rejected"
        entry = _event_entry("approval", approval_id(decision_id), logged, runtime, caller, approver.id, verdict,
                             pending.action, body, render, transaction.now)
        return transaction.append(entry, ledger=ledger, reserved_at=logged.decision["created_at"]).response


def record_outcome(runtime: PolicyRuntime, store: DecisionStore, decision_id: str, body: Any, *, caller: str | None,
                   scope: AgentScope = ANY_AGENT) -> str:
    """What was really granted (or that the customer declined): settles the decision's reservation.

    Only a key whose scope holds the decision's agent may report it: another key cannot release its budget."""
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["the body must be a JSON object"]})
    data = OutcomeSchema().load(body)
    org = runtime.policy_set.organization
    with store.chain_transaction() as transaction:
        logged = _logged(transaction, decision_id)
        if logged.event("outcome") is not None:
            raise ConflictError(f"an outcome is already recorded for decision {decision_id}")
        proposed = logged.body["proposal"]["action"]
        held = transaction.reserved(decision_id)
        customer, agent = logged.decision["customer_id"], logged.decision["agent_id"]
        check_scope(scope, agent, runtime.policy_set.agents, org, "decision_id")
        if data.get("declined"):
            action, amount, ledger = proposed, None, budgets.settle(held, proposed, None)
        else:
            action = data["action"]
            if action not in org.actions:
                raise FieldError("action", f'unknown action "{action}"')
            unit = org.actions[action].unit
            amount = _amount(data.get("amount"), unit, runtime, "amount")
            ledger = _grant(runtime, logged, transaction, held, action, amount, customer, agent)

        def render(created_at: datetime) -> Rendered:
            unit = org.actions[action].unit
            return Rendered.of(dump(EventSchema, {
                "event_id": outcome_id(decision_id), "kind": "outcome", "decision_id": decision_id,
                "created_at": json_time(created_at), "declined": amount is None, "action": None if amount is None else action,
                "amount": None if amount is None else quantity_json(unit, amount, org),
            }))

        entry = _event_entry("outcome", outcome_id(decision_id), logged, runtime, caller, agent,
                             "declined" if amount is None else "granted", action, body, render, transaction.now)
        return transaction.append(entry, ledger=ledger, reserved_at=logged.decision["created_at"]).response


def _grant(runtime: PolicyRuntime, logged: _Logged, transaction: ChainTransaction, held: list[LedgerRow],
           action: str, amount: int, customer: str | None, agent: str | None) -> tuple[LedgerRow, ...]:
    """Ledger rows for granting `amount` of `action`; ConflictError when the decision did not allow it."""
    org = runtime.policy_set.organization
    unit = org.actions[action].unit
    proposed = logged.body["proposal"]["action"]
    approval = logged.event("approval")
    if action == proposed and (logged.body["outcome"] == "allow" or (approval and approval["verdict"] == "approve")):
        allowed = approval["amount"] if approval and approval["verdict"] == "approve" else logged.body["proposal"].get("amount")
        ceiling = _amount(allowed, unit, runtime, "amount")  # a flag: 1, whatever it says
        if amount > ceiling:
            raise ConflictError(f"{quantity_json(unit, amount, org)} is more than the {quantity_json(unit, ceiling, org)} allowed or approved")
        return budgets.settle(held, action, amount)
    option = next((o for o in logged.body["options"] if o["action"] == action), None)
    if option is None and action == proposed and logged.body["outcome"] == "escalate" and approval is None:
        # Not a "no": the escalation has no verdict yet (an assistant relayed the other message as one).
        raise ConflictError(f"decision {logged.body['decision_id']} awaits approval: {action} can be reported "
                            "once it is approved")
    if option is None:
        raise ConflictError(f"decision {logged.body['decision_id']} neither allowed nor offered {action}")
    ceiling = _amount(option["max"], unit, runtime, "amount")
    if amount > ceiling:
        raise ConflictError(f"{quantity_json(unit, amount, org)} is more than the {quantity_json(unit, ceiling, org)} offered")
    # An option reserved nothing when it was offered: check the budgets it would spend now.
    judged = _reevaluate(runtime, logged, Budgets(transaction, customer, transaction.now, agent),
                         action=action, amount=amount)
    if judged.outcome != "allow":
        raise ConflictError(f"the budgets no longer cover {quantity_json(unit, amount, org)} of {action}")
    return budgets.settle(held, proposed, None) + budgets.reservation(action, amount, customer, agent)

