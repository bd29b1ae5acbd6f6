"""JSON Schemas (2020-12, MCP's dialect) for the tools: inputs built from the live organisation, so a
model sees exactly the actions, fields, types and allowed values this deployment accepts, and every
object is closed (`additionalProperties: false`); outputs generated from the service's own marshmallow
response schemas, so a tool's promise and the API's answer have one source.

The customer and case objects are walked out of the request schema POST /v1/decisions validates with
(deciding.request.request_schema), as `policy-service fields` does, so they cannot drift from it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from policy_service.deciding.request import request_schema
from policy_service.model import PolicySet

_UNIT_WORDS = {"money": "an amount of money", "days": "a whole number of days", "count": "a whole number",
               "flag": "yes/no: send no amount"}


def _string_constraints(field: fields.Field[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            out["enum"] = list(validator.choices)
        elif isinstance(validator, validate.Length):
            if validator.min is not None:
                out["minLength"] = validator.min
            if validator.max is not None:
                out["maxLength"] = validator.max
    return out


def _input_field(field: fields.Field[Any]) -> dict[str, Any]:
    """One request field as JSON Schema: its declared type (the custom fields say theirs in metadata)."""
    if isinstance(field, fields.Nested):
        nested = field.schema
        return _closed_object({name: _input_field(inner) for name, inner in nested.fields.items()})
    if isinstance(field, fields.List):
        return {"type": "array", "items": _input_field(field.inner)}
    declared = {key: value for key, value in field.metadata.items() if key in ("type", "oneOf", "minimum", "description")}
    if declared:
        return declared
    if isinstance(field, fields.String):
        return {"type": "string", **_string_constraints(field)}
    if isinstance(field, fields.Boolean):
        return {"type": "boolean"}
    if isinstance(field, fields.Integer):
        return {"type": "integer"}
    return {}


def _closed_object(properties: dict[str, Any], required: list[str] | None = None, description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    if description:
        out["description"] = description
    return out


def proposal_input(policy_set: PolicySet) -> dict[str, Any]:
    """The proposal: one of the organisation's actions, an amount in its unit, the organisation's currency."""
    org = policy_set.organization
    units = "; ".join(f"{action.id}: {_UNIT_WORDS[action.unit]}" for action in org.actions.values())
    decimals = f"(\\.[0-9]{{1,{org.minor_digits}}})?" if org.minor_digits else ""
    return _closed_object({
        "action": {"type": "string", "enum": list(org.actions), "description": "what the agent would give the customer"},
        "amount": {"oneOf": [{"type": "string", "pattern": f"^[0-9]{{1,12}}{decimals}$"}, {"type": "integer", "minimum": 1}],
                   "description": f'how much, in the action\'s unit ({units}); money as a decimal string such as "120.00" '
                                  f"in {org.currency}"},
        "currency": {"type": "string", "enum": [org.currency], "description": "may be left out: always the organisation's"},
    }, ["action"], "what the agent proposes to grant")


def evaluate_input(policy_set: PolicySet) -> dict[str, Any]:
    body = request_schema(policy_set)
    org = policy_set.organization
    customer = _input_field(body.fields["customer"])
    case = _input_field(body.fields["case"])
    customer["description"] = "the customer's facts as the case record holds them; declared extras go in attributes"
    case["description"] = "the case's facts (reason, channel, order value, days since purchase...); declared extras go in attributes"
    return _closed_object({
        "customer": customer,
        "case": case,
        "proposal": proposal_input(policy_set),
        "locale": {"type": "string", "enum": list(org.locales),
                   "description": f"language of the words for the customer (default {org.default_locale})"},
        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200,
                            "description": "send the same key when retrying the same request: you get the first "
                                           "answer back and nothing is recorded twice"},
    }, ["proposal"])


def authority_input(policy_set: PolicySet) -> dict[str, Any]:
    return _closed_object({
        "action": {"type": "string", "enum": list(policy_set.organization.actions),
                   "description": "only this action (default: every action)"},
        "customer_id": {"type": "string", "minLength": 1, "maxLength": 200,
                        "description": "also show what this customer's caps have left"},
    })


DECISION_ID = {"type": "string", "minLength": 1, "maxLength": 200, "description": "the decision_id evaluate_exception returned"}


def decision_input() -> dict[str, Any]:
    return _closed_object({"decision_id": DECISION_ID}, ["decision_id"])


def outcome_input(policy_set: PolicySet) -> dict[str, Any]:
    return _closed_object({
        "decision_id": DECISION_ID,
        "action": {"type": "string", "enum": list(policy_set.organization.actions),
                   "description": "what was actually granted: the proposed action, or an option the decision offered"},
        "amount": {"oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}],
                   "description": "how much was granted (no more than allowed, approved or offered); none for a yes/no action"},
        "declined": {"type": "boolean", "const": True, "description": "true when the customer took nothing (then no action or amount)"},
    }, ["decision_id"])


# -- outputs: from the service's response schemas -------------------------------------------------------

def output_schema(schema: type[Schema]) -> dict[str, Any]:
    """A marshmallow response schema as JSON Schema: required fields, types, enums, nullability."""
    properties: dict[str, Any] = {}
    required = []
    for name, field in schema._declared_fields.items():
        properties[name] = _output_field(field)
        if field.required:
            required.append(name)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


_TYPES: tuple[tuple[type[fields.Field[Any]], str], ...] = (
    (fields.Boolean, "boolean"), (fields.Integer, "integer"), (fields.String, "string"), (fields.Dict, "object"))


def _output_field(field: fields.Field[Any]) -> dict[str, Any]:
    meta = field.metadata
    nullable = bool(field.allow_none or meta.get("nullable"))
    description = {"description": meta["description"]} if "description" in meta else {}
    if isinstance(field, fields.Nested):
        nested = field.nested
        inner = output_schema(nested if isinstance(nested, type) else type(nested))
        return {"anyOf": [inner, {"type": "null"}], **description} if nullable else {**inner, **description}
    if isinstance(field, fields.List):
        return {"type": "array", "items": _output_field(field.inner), **description}
    if "oneOf" in meta:  # a quantity: the unit decides (decimal string, integer, boolean)
        types = [option["type"] for option in meta["oneOf"]]
    else:
        types = [next((name for kind, name in _TYPES if isinstance(field, kind)), "")]
        types = [t for t in types if t]
    enum = meta.get("enum")
    out: dict[str, Any] = {}
    if types:
        out["type"] = (types + ["null"] if nullable else types) if len(types) > 1 or nullable else types[0]
    if enum is not None:
        out["enum"] = list(enum) + ([None] if nullable and None not in enum else [])
    return {**out, **description}
