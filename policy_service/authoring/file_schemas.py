"""marshmallow schemas for the shape of each policy file kind (docs/contract.md §3), and their errors as diagnostics.

These check structure and scalar types only. Meaning that needs the whole set (does this tier exist?
is this value right for this field?) is checked by `checks` once every file has been read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from policy_service.authoring.diagnostics import Diagnostic, did_you_mean
from policy_service.authoring.source import PathKey, SourceFile
from policy_service.deciding.request import WholeMatch  # a pattern held against the whole value

API_VERSION = "policy-service/v1"
KINDS = ("Organization", "AgentDirectory", "Policy", "PolicyTest")
ID = WholeMatch(r"^[a-z][a-z0-9_]*$", error="must be lower-case letters, digits and _, starting with a letter")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class HeaderSchema(Schema):
    class Meta:
        unknown = "exclude"

    apiVersion = fields.String(required=True, validate=validate.Equal(API_VERSION, error=f'must be "{API_VERSION}"'))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS, error="must be one of: " + ", ".join(KINDS)))


Label = fields.Dict(keys=fields.String(), values=fields.String())


class TierSchema(_Strict):
    id = fields.String(required=True, validate=ID)
    label = Label


class LabelFormsSchema(_Strict):
    """An action's label with the forms sentences need: `{name: pase a Sala Sol, a: un pase a Sala Sol}`."""
    name = fields.String(required=True)
    a = fields.String()  # with the indefinite article, for "Puedo ofrecerle ahora mismo un pase a Sala Sol"


class _LabelOrForms(fields.Field[Any]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return LabelFormsSchema().load(value)
        raise ValidationError("a label is a text, or its forms: {name: ..., a: ...}")


class ActionSchema(_Strict):
    unit = fields.String(required=True, validate=validate.OneOf(["money", "days", "count", "flag"]))
    label = fields.Dict(keys=fields.String(), values=_LabelOrForms())


class TeamSchema(_Strict):
    label = Label
    contact = fields.String()


class FieldDeclSchema(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(["string", "integer", "money", "boolean", "list"]))
    values = fields.List(fields.String(), validate=validate.Length(min=1))
    label = Label  # {es: nivel del cliente, en: customer tier}: the words people read for the field
    value_labels = fields.Dict(keys=fields.String(), values=Label)  # {gold: {es: oro, en: gold}}


class OrganizationSchema(_Strict):
    apiVersion = fields.String()
    kind = fields.String()
    name = fields.String(required=True)
    currency = fields.String(required=True, validate=WholeMatch(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as EUR"))
    locales = fields.List(fields.String(validate=WholeMatch(r"^[a-z]{2,3}(-[A-Z]{2})?$")), required=True, validate=validate.Length(min=1))
    tiers = fields.List(fields.Nested(TierSchema), required=True, validate=validate.Length(min=1))
    actions = fields.Dict(keys=fields.String(validate=ID), values=fields.Nested(ActionSchema), required=True)
    teams = fields.Dict(keys=fields.String(validate=ID), values=fields.Nested(TeamSchema))
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.Nested(FieldDeclSchema))
    messages = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()))


class AgentSchema(_Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    tier = fields.String(required=True)
    team = fields.String(required=True)
    kind = fields.String(validate=validate.OneOf(["human", "ai"]))


class AgentDirectorySchema(_Strict):
    apiVersion = fields.String()
    kind = fields.String()
    agents = fields.List(fields.Nested(AgentSchema), required=True)


class EffectsSchema(_Strict):
    scale = fields.Raw()  # a number or {action: number}: checked with the units in `checks`
    set_limits = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Raw()))
    cap_at_order_value = fields.List(fields.String())
    require_tier = fields.Dict(keys=fields.String(), values=fields.String())
    forbid = fields.List(fields.String())
    offer = fields.List(fields.String())
    handoff = fields.String()
    say = fields.Dict(keys=fields.String(), values=fields.String())
    conditions = fields.Dict(keys=fields.String(), values=fields.String())


class RuleSchema(_Strict):
    id = fields.String(required=True, validate=ID)
    description = fields.String()
    when = fields.Dict(required=True)
    then = fields.Nested(EffectsSchema, required=True)


class CapSchema(_Strict):
    id = fields.String(required=True, validate=ID)
    per = fields.String(required=True, validate=validate.OneOf(["customer", "agent"]))
    actions = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    window = fields.String(required=True, validate=WholeMatch(r"^[1-9][0-9]*[dh]$", error='must be a number of days or hours, such as "90d" or "24h"'))
    max_amount = fields.Raw()
    max_count = fields.Integer(strict=True, validate=validate.Range(min=1))
    override_tier = fields.String()
    label = Label


class PolicySchema(_Strict):
    apiVersion = fields.String()
    kind = fields.String()
    id = fields.String(required=True, validate=ID)
    description = fields.String(load_default="")  # documentation: the contract's example has one, nothing needs it
    owner = fields.String(required=True)
    actions = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    limits = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Raw()))
    alternatives = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    # Caps and rules are shape-checked one by one in `checks`, so one broken rule does not hide the
    # problems of its siblings.
    caps = fields.List(fields.Dict())
    rules = fields.List(fields.Dict())


class ExpectSchema(_Strict):
    outcome = fields.String(validate=validate.OneOf(["allow", "escalate", "handoff", "deny"]))
    to_tier = fields.String(allow_none=True)
    handoff = fields.String(allow_none=True)
    options = fields.List(fields.Dict())
    rules = fields.List(fields.String())
    say_contains = fields.Raw()


class TestCaseSchema(_Strict):
    name = fields.String(required=True)
    request = fields.Dict(required=True)
    expect = fields.Nested(ExpectSchema, required=True)


class PolicyTestSchema(_Strict):
    apiVersion = fields.String()
    kind = fields.String()
    policy = fields.String(required=True)
    cases = fields.List(fields.Nested(TestCaseSchema), required=True, validate=validate.Length(min=1))


SCHEMAS: dict[str, type[Schema]] = {
    "Organization": OrganizationSchema,
    "AgentDirectory": AgentDirectorySchema,
    "Policy": PolicySchema,
    "PolicyTest": PolicyTestSchema,
}


def validate_shape(source: SourceFile, schema: Schema, data: Any, base: PathKey = ()) -> tuple[Any, list[Diagnostic]]:
    """Load `data` with `schema`; every marshmallow error becomes a positioned diagnostic."""
    try:
        return schema.load(data), []
    except ValidationError as error:
        return None, [
            _diagnostic(source, schema, base, path, message)
            for path, message in _flatten(error.messages, data, ())
        ]


def _flatten(errors: Any, data: Any, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    if isinstance(errors, list):
        for message in errors:
            if isinstance(message, (dict, list)):
                yield from _flatten(message, data, path)
            else:
                yield path, str(message)
        return
    for key, nested in errors.items():
        # marshmallow's Dict field reports {key: {"key": [...], "value": {...}}}: skip that wrapper.
        if key in ("key", "value") and not (isinstance(data, dict) and key in data):
            yield from _flatten(nested, data, path)
            continue
        child = data.get(key) if isinstance(data, dict) else (
            data[key] if isinstance(data, list) and isinstance(key, int) and key < len(data) else None)
        if key == "_schema":
            yield from _flatten(nested, data, path)
        else:
            yield from _flatten(nested, child, path + (key,))


def _diagnostic(source: SourceFile, schema: Schema, base: PathKey, path: PathKey, message: str) -> Diagnostic:
    full = base + path
    name = str(path[-1]) if path else ""
    if message == "Missing data for required field.":
        return source.diagnostic(full[:-1], "PS003", f'missing required key "{name}"')
    if message == "Unknown field.":
        hint = _belongs_elsewhere(schema, path[:-1], name) or did_you_mean(name, _known_keys(schema, path[:-1]))
        return source.diagnostic(full, "PS004", f'unknown key "{name}"', hint=hint, key=True)
    where = f'"{name}": ' if name and not isinstance(path[-1], int) else ""
    return source.diagnostic(full, "PS005", f"{where}{message[:1].lower()}{message[1:].rstrip('.')}")


def _belongs_elsewhere(schema: Schema, path: PathKey, name: str) -> str | None:
    """Where a key of the format that was written at the wrong level goes: most often a line indented
    one step too little (`say:` beside `then:`) or too much (`when:` inside `then:`)."""
    where = _schema_at(schema, path)
    if isinstance(where, RuleSchema) and name in EffectsSchema().fields:
        return f'"{name}" belongs under then:, indented below it'
    if isinstance(where, EffectsSchema) and name in RuleSchema().fields:
        return f'"{name}" belongs to the rule, beside then: (not under it)'
    if isinstance(where, PolicySchema) and name in RuleSchema().fields:
        return f'"{name}" belongs to a rule, under rules: (- id: ..., when: ..., then: ...)'
    if isinstance(where, PolicySchema) and name in EffectsSchema().fields:
        return f'"{name}" belongs under a rule\'s then:'
    return None


def _schema_at(schema: Schema, path: PathKey) -> Any:
    """The schema that checks the mapping at `path` (None past a plain field)."""
    node: Any = schema
    for key in path:
        if isinstance(node, Schema):
            node = next((f for f in node.fields.values() if (f.data_key or f.name) == key), None)
        elif isinstance(node, fields.List):
            node = node.inner
        elif isinstance(node, fields.Dict):
            node = node.value_field
        else:
            return None
        if isinstance(node, fields.Nested):
            node = node.schema
    return node


def _known_keys(schema: Schema, path: PathKey) -> list[str]:
    """The keys the format allows at `path` (for did-you-mean hints on unknown keys)."""
    node = _schema_at(schema, path)
    return [name for f in node.fields.values() if (name := f.data_key or f.name)] if isinstance(node, Schema) else []
