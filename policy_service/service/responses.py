"""The shapes of what the API answers, as marshmallow schemas, and `dump`, which serialises by them.

One source per shape: every answer is built as plain data and passed through `dump(SomeSchema, data)`,
which emits exactly the schema's fields in the schema's order (a field the schema does not declare,
or a required one missing, is a bug that fails at once), and the OpenAPI document is generated from
the same classes. So a field cannot be added to an answer and forgotten in the document, or the other
way round; tests/test_openapi.py also validates real answers against the document.

`dump` is compiled once per schema into plain dict operations: marshmallow's own `Schema.dump` would
cost ~50 µs per decision, under the chain lock (docs/performance.md), and its field conversions
would add nothing here: the values are already JSON (decimal strings, ints, bools, lists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from marshmallow import Schema, fields

from policy_service.errors import ShapeError

QUANTITY = {"description": 'money as a decimal string ("112.50"), a count as an integer, a flag as true',
            "nullable": True, "oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}


def _quantity(**metadata: object) -> fields.Raw:
    return fields.Raw(metadata={**QUANTITY, **metadata})


def _nullable_nested(schema: type[Schema], description: str) -> fields.Nested:
    return fields.Nested(schema, allow_none=True, required=True, metadata={"description": description})


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "messages per dotted field path, e.g. proposal.amount"})


class ProposalOutSchema(Schema):
    action = fields.String(required=True)
    amount = _quantity()
    currency = fields.String()


class AgentOutSchema(Schema):
    id = fields.String(required=True, allow_none=True)
    tier = fields.String(required=True)


class OptionSchema(Schema):
    action = fields.String(required=True)
    unit = fields.String(required=True)
    max = _quantity(description="the most the agent may grant of this action now")
    say = fields.String(required=True)
    conditions = fields.List(fields.String())


class EscalationSchema(Schema):
    to_tier = fields.String(required=True)
    label = fields.String(required=True)
    say = fields.String(required=True)


class ApprovalRefSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)


class HandoffSchema(Schema):
    team = fields.String(required=True)
    label = fields.String(required=True)
    contact = fields.String(allow_none=True)


class CapSchema(Schema):
    id = fields.String(required=True)
    remaining = _quantity()
    remaining_count = fields.Integer(allow_none=True)
    # Not required: decisions recorded before v1.1 are returned as they were recorded, without it.
    binding = fields.Boolean(metadata={
        "description": "this cap is what keeps the proposal from allow: without its bound the agent's limit would cover it"})


class EventSchema(Schema):
    event_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["approval", "outcome"]})
    decision_id = fields.String(required=True)
    created_at = fields.String(required=True)
    verdict = fields.String(metadata={"enum": ["approve", "reject"]})
    approver = fields.Nested(AgentOutSchema)
    declined = fields.Boolean()
    action = fields.String(allow_none=True)
    amount = _quantity()
    note = fields.String(allow_none=True)


class DecisionSchema(Schema):
    decision_id = fields.String(required=True)
    created_at = fields.String(required=True)
    outcome = fields.String(required=True, metadata={"enum": ["allow", "escalate", "deny", "handoff"]})
    proposal = fields.Nested(ProposalOutSchema, required=True)
    agent = fields.Nested(AgentOutSchema, required=True)
    limit = _quantity(description="the agent's effective limit for the proposed action")
    options = fields.List(fields.Nested(OptionSchema), required=True)
    escalation = _nullable_nested(EscalationSchema, "who can approve what the agent cannot")
    approval = _nullable_nested(ApprovalRefSchema, "the pending approval an escalation opened")
    handoff = _nullable_nested(HandoffSchema, "another team handles this")
    say = fields.List(fields.String(), required=True, metadata={"description": "words for the customer"})
    conditions = fields.List(fields.String(), required=True)
    rules = fields.List(fields.String(), required=True)
    caps = fields.List(fields.Nested(CapSchema), required=True)
    locale = fields.String(required=True)
    policy_revision = fields.String(required=True)


# A simulation answers with the decision's own fields, less what only a recorded decision has: an id,
# a time, and the approval an escalation opened (docs/contract.md §9).
SimulationSchema: type[Schema] = Schema.from_dict(
    {name: field for name, field in DecisionSchema._declared_fields.items()
     if name not in {"decision_id", "created_at", "approval"}}, name="SimulationSchema")


class GrantedSchema(Schema):
    action = fields.String(required=True)
    amount = fields.Raw(required=True, metadata=QUANTITY)


class DecisionStateSchema(Schema):
    """Where a decision stands now, from its events: the answer's own `approval.status` is as it was
    when the decision was made and never changes (the log is evidence)."""
    approval = fields.String(required=True, allow_none=True,
                             metadata={"enum": ["pending", "approved", "rejected", None],
                                       "description": "null when the decision opened no approval, or when an outcome "
                                                      "was recorded before any verdict (nothing awaits approval)"})
    approved_amount = fields.Raw(required=True, allow_none=True, metadata={
        **QUANTITY, "description": "what the approver approved (null unless approved)"})
    approver_id = fields.String(required=True, allow_none=True)
    outcome = fields.String(required=True, allow_none=True, metadata={
        "enum": ["granted", "declined", None], "description": "null until an outcome is reported"})
    granted = _nullable_nested(GrantedSchema, "what was actually granted (null unless granted)")


class DecisionWithEventsSchema(DecisionSchema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    state = fields.Nested(DecisionStateSchema, required=True)


class LogInfoSchema(Schema):
    seq = fields.Integer(required=True)
    caller = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    masked = fields.List(fields.String(), required=True)
    hash = fields.String(required=True)


class LoggedDecisionSchema(DecisionSchema):
    state = fields.Nested(DecisionStateSchema, required=True)
    log = fields.Nested(LogInfoSchema, required=True)


class DecisionPageSchema(Schema):
    items = fields.List(fields.Nested(LoggedDecisionSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class QueueItemSchema(Schema):
    approval_id = fields.String(required=True)
    decision_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "approved", "rejected"],
                                                    "description": "pending, or the approver's verdict"})
    to_tier = fields.String(required=True)
    team = fields.String(allow_none=True)
    agent_id = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    action = fields.String(required=True)
    amount = _quantity()
    created_at = fields.String(required=True)
    waited_seconds = fields.Integer(required=True, metadata={
        "description": "how long it has waited, or waited until it was decided"})
    approver_id = fields.String(required=True, allow_none=True, metadata={"description": "null while pending"})
    approved_amount = fields.Raw(required=True, allow_none=True, metadata={
        **QUANTITY, "description": "what the approver approved (null unless approved)"})
    decided_at = fields.String(required=True, allow_none=True, metadata={"description": "null while pending"})


class QueueSchema(Schema):
    items = fields.List(fields.Nested(QueueItemSchema), required=True)


class ChainHeadSchema(Schema):
    seq = fields.Integer(required=True)
    hash = fields.String(required=True)


class ChainProblemSchema(Schema):
    seq = fields.Integer(allow_none=True)
    id = fields.String(allow_none=True)
    kind = fields.String(required=True)
    detail = fields.String(required=True)


class VerifySchema(Schema):
    ok = fields.Boolean(required=True)
    entries = fields.Integer(required=True)
    head = fields.Nested(ChainHeadSchema, required=True)
    problem = _nullable_nested(ChainProblemSchema, "the first altered, missing or inserted entry")


class StoredRevisionSchema(Schema):
    revision = fields.String(required=True)
    stored_at = fields.String(required=True)
    files = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)


class DatabaseStatusSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unreachable"]})
    dialect = fields.String(required=True)
    latency_ms = fields.Float(required=True)


class KeysStatusSchema(Schema):
    mode = fields.String(required=True)
    count = fields.Integer()


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    policies = fields.Dict(required=True)
    database = fields.Nested(DatabaseStatusSchema, required=True)
    keys = fields.Nested(KeysStatusSchema, required=True)


class DiagnosticSchema(Schema):
    file = fields.String(required=True)
    line = fields.Integer(required=True)
    column = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    severity = fields.String(required=True, metadata={"enum": ["error", "warning"]})
    hint = fields.String(allow_none=True)


class ReloadErrorSchema(Schema):
    at = fields.String(required=True)
    source = fields.String(required=True)
    caller = fields.String(allow_none=True)
    diagnostics = fields.List(fields.Nested(DiagnosticSchema), required=True)


class PolicySummarySchema(Schema):
    id = fields.String(required=True)
    file = fields.String(required=True)
    owner = fields.String(required=True)
    actions = fields.List(fields.String(), required=True)
    rules = fields.Integer(required=True)
    caps = fields.Integer(required=True)


class ShadowStatusSchema(Schema):
    directory = fields.String(required=True)
    revision = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class PoliciesSchema(Schema):
    revision = fields.String(required=True)
    loaded_at = fields.String(required=True)
    source = fields.String(required=True)
    directory = fields.String(required=True)
    policies = fields.List(fields.Nested(PolicySummarySchema), required=True)
    last_reload_error = _nullable_nested(ReloadErrorSchema, "the newest reload attempt's errors, until one succeeds")
    shadow = _nullable_nested(ShadowStatusSchema, "the shadow candidate, when one is configured")


class MatrixTierSchema(Schema):
    id = fields.String(required=True)
    rank = fields.Integer(required=True)
    label = fields.String(required=True)


class MatrixChangerSchema(Schema):
    key = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["rule", "cap"]})
    where = fields.String(required=True)
    effect = fields.String(required=True)
    label = fields.String(required=True, allow_none=True, metadata={
        "description": "a cap's label in the chosen locale (its id when it has none); null for a rule"})


class MatrixRowSchema(Schema):
    action = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True)
    policy = fields.String(allow_none=True)
    limits = fields.Dict(keys=fields.String(), values=_quantity(), required=True)
    shown = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    changed_by = fields.List(fields.Nested(MatrixChangerSchema), required=True)


class MatrixSchema(Schema):
    revision = fields.String(required=True)
    currency = fields.String(required=True)
    locale = fields.String(required=True)
    tiers = fields.List(fields.Nested(MatrixTierSchema), required=True)
    actions = fields.List(fields.Nested(MatrixRowSchema), required=True)


class ReloadResultSchema(Schema):
    revision = fields.String(required=True)
    previous = fields.String(required=True)
    changed = fields.Boolean(required=True)
    warnings = fields.List(fields.String(), required=True)


Dumper = Callable[[Mapping[str, Any]], dict[str, Any]]


def dump(schema: type[Schema], data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` as `schema` declares it: its fields, in its order, nested shapes included."""
    return _dumper(schema)(data)


@cache
def _dumper(schema: type[Schema]) -> Dumper:
    plan: list[tuple[str, bool, Dumper | None, bool]] = []  # name, required, nested dumper, many
    for name, field in schema._declared_fields.items():
        nested: Dumper | None = None
        many = False
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            target = inner.nested
            nested_schema = target if isinstance(target, type) else type(target)
            if not (isinstance(nested_schema, type) and issubclass(nested_schema, Schema)):
                raise TypeError(f"{schema.__name__}.{name}: nest a Schema class")
            nested, many = _dumper(nested_schema), isinstance(field, fields.List)
        plan.append((name, bool(field.required), nested, many))
    known = frozenset(name for name, *_ in plan)

    def dump_one(data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, required, nested, many in plan:
            if name in data:
                value = data[name]
                if nested is not None and value is not None:
                    value = [nested(item) for item in value] if many else nested(value)
                out[name] = value
            elif required:
                raise ShapeError(f"{schema.__name__}: {name} is required")
        if len(out) != len(data):
            raise ShapeError(f"{schema.__name__} declares no {sorted(set(data) - known)}")
        return out

    return dump_one
