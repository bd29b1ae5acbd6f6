"""What one agent may grant now, before any case facts (docs/contract.md §11 `get_my_authority`): per
action, the limit its tier has with no rule fired (the empowerment matrix's cell), that limit under the
caps this agent and, when named, this customer have left, and each such cap's remaining room.

Read like the simulator reads (a LedgerView: no chain lock, nothing written), through the same Budgets
and limit functions a decision uses, so it cannot disagree with evaluate. It is an outline, not an
answer: rules that read a case's facts can raise, lower or forbid a limit; only a decision says what
holds for a case.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import Schema, fields

from policy_service.deciding.budgets import Budgets
from policy_service.deciding.limits import LimitContext, binds, effective_limit, uncapped_limit
from policy_service.deciding.request import identifier_problem
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.deciding.words import label, resolve_locale
from policy_service.decisionlog import DecisionStore
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.errors import FieldError
from policy_service.service.responses import QUANTITY, dump
from policy_service.service.spelling import quantity_json


class AuthorityCapSchema(Schema):
    id = fields.String(required=True, metadata={"description": "policy/cap"})
    label = fields.String(required=True)
    per = fields.String(required=True, metadata={"enum": ["customer", "agent"]})
    window_hours = fields.Integer(required=True)
    remaining = fields.Raw(required=True, metadata={**QUANTITY, "description": "amount left in the window (null: no amount bound)"})
    remaining_count = fields.Integer(required=True, allow_none=True,
                                     metadata={"description": "grants left in the window (null: no count bound)"})


class AuthorityActionSchema(Schema):
    action = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True, metadata={"enum": ["money", "days", "count", "flag"]})
    limit = fields.Raw(required=True, metadata={
        **QUANTITY, "description": "what this agent's tier may grant with no rule fired (null: nothing without approval)"})
    limit_now = fields.Raw(required=True, metadata={
        **QUANTITY, "description": "the limit under the caps left for this agent (and the customer, when named)"})
    caps = fields.List(fields.Nested(AuthorityCapSchema), required=True)


class AuthorityAgentSchema(Schema):
    id = fields.String(required=True)
    tier = fields.String(required=True)
    team = fields.String(required=True)


class AuthoritySchema(Schema):
    agent = fields.Nested(AuthorityAgentSchema, required=True)
    customer_id = fields.String(required=True, allow_none=True)
    currency = fields.String(required=True)
    policy_revision = fields.String(required=True)
    actions = fields.List(fields.Nested(AuthorityActionSchema), required=True)


def my_authority(runtime: PolicyRuntime, store: DecisionStore, agent_id: str, *, action: str | None = None,
                 customer_id: str | None = None, privacy: PrivacySettings = PrivacySettings(),
                 locale: str | None = None) -> dict[str, Any]:
    """AuthoritySchema for `agent_id`: every action (or only `action`), with caps for this customer when named.

    Raises FieldError naming `action` or `customer_id` when either is not acceptable, or `agent` when
    the live agent directory no longer holds the agent; StoreError when the log cannot be read."""
    policy_set = runtime.policy_set
    org = policy_set.organization
    agent = policy_set.agents.get(agent_id)
    if agent is None:
        raise FieldError("agent", f'agent "{agent_id}" is not in the live agent directory')
    if action is not None and action not in org.actions:
        raise FieldError("action", f'unknown action "{action}"; one of: {", ".join(org.actions)}')
    if customer_id is not None:
        problem = identifier_problem(customer_id) or (None if customer_id else "must not be empty")
        if problem is not None:
            raise FieldError("customer_id", problem)
        customer_id = unicodedata.normalize("NFC", customer_id)  # as a decision's customer.id is counted
    customer_ref = privacy.customer_ref(customer_id)
    words = resolve_locale(locale, org)
    table = runtime.limit_table(frozenset())  # no rule fired: the matrix row, before any case fact
    rows = []
    with store.ledger_view() as ledger:
        budgets = Budgets(ledger, customer_ref, ledger.now)
        for action_id, spec in org.actions.items():
            if action is not None and action_id != action:
                continue
            ctx = LimitContext(policy_set, table, agent.tier, None, budgets.usage(policy_set, action_id, agent.id))
            caps = []
            for cap in policy_set.caps_for(action_id):
                # A customer's caps only with a customer to count them for; an agent cap only when it binds this tier.
                if (cap.per == "customer" and customer_ref is None) or not binds(cap, agent.tier, ctx):
                    continue
                used_amount, used_count = ctx.usage.get(cap.key, (0, 0))
                ceiling = cap.max_amount_for(agent.tier)
                caps.append({
                    "id": cap.key, "label": label(cap.label, words, org, cap.id), "per": cap.per,
                    "window_hours": int(cap.window.total_seconds()) // 3600,
                    "remaining": None if ceiling is None else quantity_json(spec.unit, max(ceiling - used_amount, 0), org),
                    "remaining_count": None if cap.max_count is None else max(cap.max_count - used_count, 0),
                })
            rows.append({
                "action": action_id, "label": label(spec.label, words, org, action_id), "unit": spec.unit,
                "limit": quantity_json(spec.unit, uncapped_limit(ctx, action_id, agent.tier), org),
                "limit_now": quantity_json(spec.unit, effective_limit(ctx, action_id, agent.tier), org),
                "caps": caps,
            })
    return dump(AuthoritySchema, {
        "agent": {"id": agent.id, "tier": agent.tier, "team": agent.team}, "customer_id": customer_id,
        "currency": org.currency, "policy_revision": runtime.revision, "actions": rows,
    })

