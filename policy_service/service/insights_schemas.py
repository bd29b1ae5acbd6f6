"""The shapes of GET /v1/insights (docs/contract.md §10): its query and its answer, as marshmallow
schemas the OpenAPI document is generated from and `responses.dump` serialises by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from policy_service.service.replay import parse_since

MONEY = {"description": 'money as a decimal string in the organisation\'s currency ("112.50"); null for an action '
                        "whose amounts are not money", "nullable": True, "type": "string"}
QUANTITY = {"description": 'in the action\'s unit: money as a decimal string ("80.00"), days or a count as an integer',
            "nullable": True, "oneOf": [{"type": "string"}, {"type": "integer"}]}


class Since(fields.Field[datetime | None]):
    """30d, 12h, an ISO date or date-time, or all; the same reading as `replay --since`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime | None:
        if not isinstance(value, str):
            raise ValidationError("use 30d, 12h, an ISO date or 'all'")
        try:
            return parse_since(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class InsightsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    since = Since(load_default=lambda: parse_since("90d"), metadata={"type": "string", "example": "90d",
                                                  "description": "how far back: 30d, 12h, an ISO date or 'all' (default 90d)"})
    min_cases = fields.Integer(load_default=20, validate=validate.Range(1, 1_000_000),
                               metadata={"description": "decided escalations a recommendation needs (default 20)"})
    min_rate = fields.Float(load_default=0.95, validate=validate.Range(0, 1),
                            metadata={"description": "approval rate a recommendation needs (default 0.95)"})


class OutcomeCountsSchema(Schema):
    allow = fields.Integer(required=True)
    escalate = fields.Integer(required=True)
    handoff = fields.Integer(required=True)
    deny = fields.Integer(required=True)


class EscalationCountsSchema(Schema):
    approved = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    pending = fields.Integer(required=True, metadata={"description": "no verdict yet (or closed by an outcome without one)"})


class WaitSchema(Schema):
    median = fields.Integer(required=True, allow_none=True, metadata={"description": "whole seconds, nearest rank"})
    p90 = fields.Integer(required=True, allow_none=True)


class MoneySchema(Schema):
    proposed = fields.Raw(required=True, metadata=MONEY)
    allowed = fields.Raw(required=True, metadata=MONEY)
    approved = fields.Raw(required=True, metadata=MONEY)
    granted = fields.Raw(required=True, metadata={**MONEY, "description": "money granted by reported outcomes "
                                                                           "(an option of another money action included)"})


class _Figures(Schema):
    action = fields.String(required=True)
    unit = fields.String(required=True)
    decisions = fields.Integer(required=True)
    outcomes = fields.Nested(OutcomeCountsSchema, required=True)
    escalations = fields.Nested(EscalationCountsSchema, required=True)
    approval_rate = fields.Float(required=True, allow_none=True, metadata={"description": "approved / decided"})
    approval_rate_lower_bound = fields.Float(required=True, allow_none=True,
                                             metadata={"description": "Wilson score interval, 95 %, lower end"})
    wait_seconds = fields.Nested(WaitSchema, required=True, metadata={"description": "from escalation to verdict"})
    money = fields.Nested(MoneySchema, required=True)


class TierFiguresSchema(_Figures):
    tier = fields.String(required=True, allow_none=True, metadata={"description": "the requesting agent's tier"})


class KindFiguresSchema(_Figures):
    agent_kind = fields.String(required=True, metadata={"description": "human or ai (today's agent directory); "
                                                                         "unknown for an agent it does not list"})


class RuleCountSchema(Schema):
    rule = fields.String(required=True)
    decisions = fields.Integer(required=True)


class DeadEndSchema(Schema):
    action = fields.String(required=True)
    decisions = fields.Integer(required=True, metadata={"description": "answers with outcome deny and no option"})
    rules = fields.List(fields.Nested(RuleCountSchema), required=True, metadata={"description": "rules that fired in them"})


class RejectedSchema(Schema):
    count = fields.Integer(required=True)
    amount = fields.Raw(required=True, metadata=QUANTITY)


class RecommendationSchema(Schema):
    action = fields.String(required=True)
    tier = fields.String(required=True)
    policy = fields.String(required=True, allow_none=True)
    file = fields.String(required=True, allow_none=True, metadata={"description": "the policy's file, where `candidate` goes"})
    current_limit = fields.Raw(required=True, metadata=QUANTITY)
    suggested_limit = fields.Raw(required=True, metadata=QUANTITY)
    cases = fields.Integer(required=True, metadata={"description": "decided escalations proposing at most the suggested limit"})
    approved = fields.Integer(required=True)
    approval_rate = fields.Float(required=True)
    approval_rate_lower_bound = fields.Float(required=True, allow_none=True)
    escalations_avoided = fields.Integer(required=True, metadata={"description": "= cases: these turn into allow on replay"})
    money_released = fields.Raw(required=True, metadata={**QUANTITY, "description": "their approved amounts summed"})
    rejected_now_allowed = fields.Nested(RejectedSchema, required=True)
    pending_now_allowed = fields.Integer(required=True, metadata={
        "description": "undecided escalations at or below the suggested limit, which replay also turns into allow"})
    median_wait_seconds = fields.Integer(required=True, allow_none=True)
    candidate = fields.String(required=True, metadata={
        "description": "the one-line change: `set_limits: {action: {tier: L}}`, the matrix cell to write in `file`",
        "example": "set_limits: {refund: {agent: 80}}"})


class InsightsSchema(Schema):
    since = fields.String(required=True, allow_none=True, metadata={"description": "start of the window (null: the whole log)"})
    currency = fields.String(required=True)
    min_cases = fields.Integer(required=True)
    min_rate = fields.Float(required=True)
    decisions = fields.Integer(required=True, metadata={"description": "decisions in the window"})
    by_tier = fields.List(fields.Nested(TierFiguresSchema), required=True, metadata={"description": "per action × requesting tier"})
    by_agent_kind = fields.List(fields.Nested(KindFiguresSchema), required=True)
    dead_ends = fields.List(fields.Nested(DeadEndSchema), required=True)
    recommendations = fields.List(fields.Nested(RecommendationSchema), required=True)
