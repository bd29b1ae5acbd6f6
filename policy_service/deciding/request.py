"""Decision requests: validated by a marshmallow schema built for the organisation, then made typed.

The schema knows the organisation's vocabulary (actions, tiers, declared `attributes`, allowed values)
so every refusal names its field. Money is exact: JSON numbers arrive as Decimals (the web layer parses
with `parse_float=Decimal`) and become integer minor units here; nothing is ever a float.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from policy_service.deciding.loading import Load, fast_load
from policy_service.model import FieldSpec, Organization, PolicySet

# Matched with fullmatch: with match, $ also stops before a final newline, and "120.00\n" was an amount.
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class DecisionRequest:
    """A proposal as the evaluator sees it. `values` holds only the fields the request carried."""

    tier: str
    action: str
    amount: int  # money in minor units, days or count as given; 1 for a flag
    values: Mapping[str, object]
    locale: str | None = None
    agent_id: str | None = None
    customer_id: str | None = None
    case_id: str | None = None
    usage: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # cap key -> (amount, count); set by PolicyRuntime.decide from its Budgets


MAX_DIGITS = 12  # integer digits of any quantity: a trillion, far past any exception, well inside every format


def parse_money(value: Any, org: Organization) -> int:
    """A non-negative amount in the organisation's currency, as integer minor units."""
    if type(value) is int:  # what the rest below makes of a whole number, without a Decimal's round trip
        if value < 0:
            raise ValidationError("must not be negative")
        if value >= 10**MAX_DIGITS:
            raise ValidationError(f"must have at most {MAX_DIGITS} integer digits")
        return int(value * 10**org.minor_digits)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise ValidationError("must be an amount: a decimal string such as \"120.00\" or a number")
    if isinstance(value, str) and value.strip().startswith("-") and _DECIMAL.fullmatch(value.strip()[1:]):
        raise ValidationError("must not be negative")  # not "such as 120.00": the format was right
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValidationError("must be a decimal string such as \"120.00\"")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValidationError("must be a decimal amount") from None
    if not amount.is_finite():
        raise ValidationError("must be a finite amount")
    if amount < 0:
        raise ValidationError("must not be negative")
    if amount.adjusted() >= MAX_DIGITS:  # before any arithmetic: 1e999999 would overflow the context
        raise ValidationError(f"must have at most {MAX_DIGITS} integer digits")
    minor = amount.scaleb(org.minor_digits)
    if minor != minor.to_integral_value():
        raise ValidationError(f"has more decimals than {org.currency} allows ({org.minor_digits})")
    return int(minor)


def parse_quantity(value: Any, unit: str, org: Organization) -> int:
    """A quantity of an action's unit as an integer: money in minor units, days and counts whole, a flag 1.

    The one place a unit's text becomes a number (proposals, approvals, outcomes, policy tests, replay)."""
    if unit == "flag":
        return 1
    return parse_money(value, org) if unit == "money" else parse_whole(value)


def parse_whole(value: Any) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and _DIGITS.fullmatch(value))):
        raise ValidationError("must be a whole number")
    if len(str(value).lstrip("-")) > MAX_DIGITS:
        raise ValidationError(f"must have at most {MAX_DIGITS} digits")
    number = int(value)
    if number < 0:
        raise ValidationError("must not be negative")
    return number


class WholeMatch(validate.Regexp):
    """validate.Regexp held against the whole value: Regexp uses `re.match`, whose $ also stops before
    a final newline, so "es\n" passed as a locale. The pattern stays as the OpenAPI document shows it."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


LOCALE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"


class _Money(fields.Field[int]):
    def __init__(self, org: Organization, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.org = org

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        return parse_money(value, self.org)


class _Whole(fields.Field[int]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        return parse_whole(value)


class _StrictBoolean(fields.Field[bool]):
    """JSON true or false only: "yes", 1 or "si" are refused rather than guessed."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


# JSON Schema of the custom fields, for the OpenAPI document (web/openapi.py).
WHOLE_JSON = {"type": "integer", "minimum": 0}
MONEY_JSON = {"oneOf": [{"type": "string", "pattern": r"^\d{1,12}(\.\d{1,4})?$"}, {"type": "integer", "minimum": 0}],
              "description": 'an amount, as a decimal string ("120.00") or a whole number'}


class Identifier(fields.String):
    """An id as budgets and the log count it (docs/contract.md §8): NFC-normalised, and refused with
    surrounding whitespace or control, format or surrogate characters, so "cu-88", "cu-88 " and
    "cu-88\u200b" can never be three customers with three budgets. Case stays significant."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = identifier_problem(text)
        if problem is not None:
            raise ValidationError(problem)
        return unicodedata.normalize("NFC", text)


def identifier_problem(text: str) -> str | None:
    """Why `text` is not an acceptable identifier, or None."""
    if text != text.strip():
        return "must not start or end with whitespace"
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            return f"must not contain control or invisible characters (found U+{ord(char):04X})"
    return None


def _field_for(spec: FieldSpec, org: Organization) -> fields.Field[Any]:
    choice = validate.OneOf(spec.values) if spec.values else None
    if spec.type == "string":
        return fields.String(validate=choice)
    if spec.type == "integer":
        return _Whole(metadata=WHOLE_JSON)
    if spec.type == "money":
        return _Money(org, metadata=MONEY_JSON)
    if spec.type == "boolean":
        return _StrictBoolean(metadata={"type": "boolean"})
    return fields.List(fields.String(validate=choice))


def _object_schema(org: Organization, prefix: str, extra: dict[str, fields.Field[Any]]) -> type[Schema]:
    builtin = {
        name.split(".", 1)[1]: _field_for(spec, org)
        for name, spec in org.fields.items() if spec.builtin and name.startswith(prefix + ".")
    }
    declared = {
        name.split(".", 1)[1]: _field_for(spec, org)
        for name, spec in org.fields.items() if not spec.builtin and name.startswith(prefix + ".")
    }
    attributes = Schema.from_dict(declared, name=f"{prefix.title()}AttributesSchema")
    return Schema.from_dict(
        {**builtin, **extra, "attributes": fields.Nested(attributes)},
        name=f"{prefix.title()}Schema",
    )


@lru_cache(maxsize=16)
def request_schema(policy_set: PolicySet) -> Schema:
    """The POST /v1/decisions body schema for this policy set (cached: building it is slow)."""
    org = policy_set.organization

    def known_agent(agent_id: str) -> None:
        if agent_id not in policy_set.agents:
            raise ValidationError(f'unknown agent "{agent_id}": not in the agent directory')

    agent = _object_schema(org, "agent", {"id": Identifier(validate=[validate.Length(min=1, max=200), known_agent],
                                                               metadata={"enum": sorted(policy_set.agents)})})
    customer = _object_schema(org, "customer", {"id": Identifier(validate=validate.Length(min=1, max=200))})
    case = _object_schema(org, "case", {"id": Identifier(validate=validate.Length(min=1, max=200))})
    proposal = Schema.from_dict({
        "action": fields.String(required=True, validate=validate.OneOf(list(org.actions))),
        "amount": fields.Raw(allow_none=True, metadata={
            "nullable": True, "oneOf": [*MONEY_JSON["oneOf"], {"type": "boolean"}],
            "description": "money as a decimal string or number, a count as a whole number; none for a flag"}),
        "currency": fields.String(validate=validate.Equal(org.currency, error=f"must be {org.currency}, the organisation's currency")),
    }, name="ProposalSchema")
    body = Schema.from_dict({
        "agent": fields.Nested(agent, required=True),
        "customer": fields.Nested(customer),
        "case": fields.Nested(case),
        "proposal": fields.Nested(proposal, required=True),
        "locale": fields.String(validate=WholeMatch(LOCALE_PATTERN)),
    }, name="DecisionRequestSchema")
    return body(unknown=RAISE)


@lru_cache(maxsize=16)
def request_loader(policy_set: PolicySet) -> Load:
    """`request_schema(policy_set).load`, compiled (deciding/loading.py): same results, same refusals."""
    return fast_load(request_schema(policy_set))


def build_request(body: Any, policy_set: PolicySet, *, trusted_tier: bool) -> DecisionRequest:
    """Validate a JSON body and return it as a typed request.

    Raises marshmallow's ValidationError with errors keyed by field, as the HTTP layer reports them.
    """
    org = policy_set.organization
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["the body must be a JSON object"]})
    try:
        data = request_loader(policy_set)(body)
    except ValidationError as error:
        raise ValidationError(_hint_attributes(error.messages, org)) from None
    agent_data = data["agent"]
    tier = _agent_tier(agent_data, policy_set, trusted_tier)
    action = org.actions[data["proposal"]["action"]]
    amount = _proposal_amount(data["proposal"], action.unit, org)

    values: dict[str, object] = {}
    for prefix in ("agent", "customer", "case"):
        for key, value in data.get(prefix, {}).items():
            if key == "attributes":
                values.update({f"{prefix}.{k}": v for k, v in value.items()})
            elif key != "id":
                values[f"{prefix}.{key}"] = tuple(value) if isinstance(value, list) else value
    directory_agent = policy_set.agents.get(agent_data.get("id", ""))
    if directory_agent is not None:  # the directory, not the caller, says who the agent is
        # Refused rather than ignored: the log keeps the request as sent, and "kind": "human" beside
        # an AI assistant's id would read as the truth to an auditor.
        sent = {key: ["the agent's " + key + " comes from the agent directory; leave it out"]
                for key in ("team", "kind") if key in agent_data}
        if sent:
            raise ValidationError({"agent": sent})
        values["agent.team"] = directory_agent.team
        values["agent.kind"] = directory_agent.kind
    values["agent.tier"] = tier
    values["proposal.action"] = action.id
    if action.unit == "money":
        values["proposal.amount"] = amount
    return DecisionRequest(
        tier=tier, action=action.id, amount=amount, values=values, locale=data.get("locale"),
        agent_id=agent_data.get("id"), customer_id=data.get("customer", {}).get("id"),
        case_id=data.get("case", {}).get("id"),
    )


def require_countable_customer(request: DecisionRequest, policy_set: PolicySet) -> None:
    """A proposal a per-customer cap counts must name its customer (docs/contract.md §4 step 3): without
    `customer.id` the cap's usage cannot be read or reserved, and a budget that cannot be counted is
    never skipped. Raises ValidationError keyed `customer.id`."""
    if request.customer_id is not None:
        return
    counted = [cap.key for cap in policy_set.caps_for(request.action) if cap.per == "customer"]
    if counted:
        raise ValidationError({"customer": {"id": [
            f"required for {request.action}: the per-customer cap {', '.join(counted)} counts it against the customer"]}})


def _hint_attributes(messages: Any, org: Organization) -> Any:
    """An organisation's own field sent beside the built-ins (`case.outage_hours`) is unknown there;
    say where it goes (`case.attributes.outage_hours`, docs/contract.md §3.1) instead of only "unknown field"."""
    if not isinstance(messages, dict):
        return messages
    for prefix in ("agent", "customer", "case"):
        section = messages.get(prefix)
        if not isinstance(section, dict):
            continue
        for key, problems in section.items():
            spec = org.fields.get(f"{prefix}.{key}")
            if spec is not None and not spec.builtin and problems == ["Unknown field."]:
                section[key] = [f"declared by the organisation as an attribute: send it as {prefix}.attributes.{key}"]
    return messages


def _agent_tier(agent: Mapping[str, Any], policy_set: PolicySet, trusted_tier: bool) -> str:
    tiers = [t.id for t in policy_set.organization.tiers]
    if "tier" in agent and not trusted_tier:
        raise ValidationError({"agent": {"tier": ["the agent's tier comes from the agent directory; this key may not set it"]}})
    if "tier" in agent:
        if agent["tier"] not in tiers:
            raise ValidationError({"agent": {"tier": [f"unknown tier; one of: {', '.join(tiers)}"]}})
        return str(agent["tier"])
    if "id" not in agent:
        raise ValidationError({"agent": {"id": ["Missing data for required field."]}})
    return policy_set.agents[agent["id"]].tier  # the schema has checked that the agent exists


def _proposal_amount(proposal: Mapping[str, Any], unit: str, org: Organization) -> int:
    raw = proposal.get("amount")
    try:
        if unit == "flag":
            if raw is not None:
                raise ValidationError("a flag proposal carries no amount")
            return 1
        if raw is None:
            raise ValidationError(f"required for a {unit} action")
        amount = parse_quantity(raw, unit, org)
        if amount == 0:
            raise ValidationError("zero is not a proposal")
        return amount
    except ValidationError as error:
        raise ValidationError({"proposal": {"amount": error.messages}}) from None
