"""The decision body's compiled load (deciding/loading.py) against marshmallow's own `Schema.load`: for
any body, the same data or the same refusal, with every message; and a valid body never pays for both."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, EXAMPLE_POLICIES, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from policy_service.authoring.loader import load_policy_set
from policy_service.deciding.loading import fast_load
from policy_service.deciding.request import request_schema
from policy_service.model import PolicySet

ORGANISATIONS = {"example": EXAMPLE_POLICIES, "banco": ROOT / "tests/organisations/banco",
                 "telco": ROOT / "tests/organisations/telco"}
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**13), st.text(max_size=6),
                 st.decimals(allow_nan=False, allow_infinity=False, places=3), st.just([]), st.just({}),
                 st.sampled_from([" cu-1", "cu\u200b1", "e\u0301", "120.00", "-3", "1e3", "EUR", "es-ES"]))


def _policy_set(name: str) -> PolicySet:
    result = load_policy_set(Path(ORGANISATIONS[name]))
    assert result.policy_set is not None, result.diagnostics
    return result.policy_set


def _value(field: fields.Field[Any]) -> st.SearchStrategy[Any]:
    """Values a client might send for this field: mostly plausible for its type, now and then junk."""
    if isinstance(field, fields.Nested):
        return _object(field.schema)
    if isinstance(field, fields.List):
        return _mostly(st.lists(_value(field.inner), max_size=3))
    choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
    choices += [[v.comparable] for v in field.validators if isinstance(v, validate.Equal)]
    plausible: st.SearchStrategy[Any] = (
        st.sampled_from(list(choices[0])) if choices
        else st.sampled_from(list(field.metadata["enum"])) if field.metadata.get("enum")
        else st.booleans() if field.metadata.get("type") == "boolean"
        else st.integers(0, 10**6) if field.metadata.get("type") == "integer"
        else st.decimals(0, 10**6, places=2).map(str) | st.integers(1, 10**6) if "oneOf" in field.metadata
        else st.sampled_from(["es", "es-MX", "en"]) if any(isinstance(v, validate.Regexp) for v in field.validators)
        else st.from_regex(r"[a-z]{2}-[0-9]{1,4}", fullmatch=True))
    return _mostly(plausible)


def _mostly(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return _weighted((15, plausible), (1, JUNK))


def _weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, as often as its weight says (st.one_of would merge repeated ones)."""
    ordered = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(ordered) - 1).flatmap(lambda i: ordered[i])


def _object(schema: Schema) -> st.SearchStrategy[Any]:
    """Objects of this schema: its required fields mostly there, others now and then; at times an
    unknown field, a missing required one, or not an object at all."""
    required = {name: _value(field) for name, field in schema.load_fields.items() if field.required}
    optional = {name: _value(field) for name, field in schema.load_fields.items() if not field.required}
    objects = st.fixed_dictionaries(required, optional=optional)
    with_unknown = st.tuples(objects, st.sampled_from(["colour", "outage_hours", "Tier"]), JUNK).map(
        lambda t: {**t[0], t[1]: t[2]})
    incomplete = st.fixed_dictionaries({}, optional={**required, **optional})
    return _weighted((15, objects), (1, with_unknown), (1, incomplete), (1, JUNK))


def _outcome(load: Any, body: Any) -> tuple[str, Any]:
    try:
        return "loaded", load(body)
    except ValidationError as error:
        return "refused", error.messages


@pytest.mark.parametrize("organisation", sorted(ORGANISATIONS))
def test_any_body_loads_or_is_refused_exactly_as_marshmallow_says(organisation: str) -> None:
    """Hundreds of bodies per organisation, valid and not: the same data, in the same order, or the same
    messages keyed by the same fields."""
    schema = request_schema(_policy_set(organisation))
    compiled = fast_load(schema)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_object(schema))
    def check(body: Any) -> None:
        expected = _outcome(schema.load, body)
        got = _outcome(compiled, body)
        assert got == expected
        if got[0] == "loaded":
            assert list(got[1]) == list(expected[1])  # the same field order, which the typed request keeps

    check()


def test_a_valid_body_is_loaded_once_and_a_bad_one_gets_marshmallows_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled path answers a valid body alone (it is there to spare marshmallow's walk); a refusal
    is marshmallow's own, with every field's message, not only the first problem met."""
    schema = request_schema(_policy_set("example"))
    compiled = fast_load(schema)
    walked: list[Any] = []
    original = schema.load
    monkeypatch.setattr(schema, "load", lambda data: walked.append(data) or original(data))
    body = json.loads(json.dumps(BODY), parse_float=Decimal)
    loaded = compiled(body)
    assert walked == []
    assert loaded["proposal"]["amount"] == "120.00" and loaded["customer"]["tenure_months"] == 26
    bad = {**body, "case": {**body["case"], "channel": "fax", "contact_count": -1}, "locale": "!!"}
    with pytest.raises(ValidationError) as refused:
        compiled(bad)
    assert len(walked) == 1
    assert set(refused.value.messages) == {"case", "locale"}
    assert set(refused.value.messages["case"]) == {"channel", "contact_count"}  # type: ignore[call-overload]


def test_a_schema_the_compiler_does_not_reproduce_is_loaded_by_marshmallow() -> None:
    """A load hook, a data key or a default is marshmallow's to apply: such a schema is not compiled,
    and its results are marshmallow's own."""
    class Hooked(Schema):
        name = fields.String(data_key="Name", load_default="nobody")

        @pre_load
        def strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}

    load = fast_load(Hooked())
    assert load({"Name": "  ana "}) == {"name": "ana"}
    assert load({}) == {"name": "nobody"}


class _Artist(Schema):
    name = fields.String()


class _Upper(fields.List):  # type: ignore[type-arg]
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        return [text.upper() for text in super()._deserialize(value, attr, data, **kwargs)]


class _Stripped(fields.String):
    def deserialize(self, value: Any, attr: Any = None, data: Any = None, **kwargs: Any) -> Any:
        return super().deserialize(value.strip() if isinstance(value, str) else value, attr, data, **kwargs)


class _Confirm(fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if data.get("password") != value:
            raise ValidationError("does not match")
        return value


class _Node(Schema):
    label = fields.String()
    child = fields.Nested(lambda: _Node())


@pytest.mark.parametrize(("schema", "body"), [
    (Schema.from_dict({"artist": fields.Pluck(_Artist, "name")})(), {"artist": {"name": "x"}}),
    (Schema.from_dict({"tags": _Upper(fields.String())})(), {"tags": ["a"]}),
    (Schema.from_dict({"name": _Stripped()})(), {"name": " a "}),
    (Schema.from_dict({"password": fields.String(), "confirm": _Confirm()})(), {"password": "a", "confirm": "a"}),
    (Schema.from_dict({"a.b": fields.String()})(), {"a.b": "x"}),
    (_Node(), {"label": "root", "child": {"label": "leaf"}}),
], ids=["pluck", "list-subclass", "own-deserialize", "reads-data", "dotted-name", "nests-itself"])
def test_a_field_marshmallow_calls_its_own_way_is_loaded_as_marshmallow_does(schema: Schema, body: dict[str, Any]) -> None:
    """Subclasses that change how a value is deserialized, fields that read the whole body, dotted
    names and self-nesting schemas (found by a review): the results are marshmallow's own."""
    assert _outcome(fast_load(schema), body) == _outcome(schema.load, body)


def test_a_plain_validator_refuses_by_raising_and_what_it_returns_is_ignored_as_in_marshmallow() -> None:
    def digits(value: str) -> bool:
        if not value.isdigit():
            raise ValidationError("digits only")
        return False  # marshmallow 4 ignores the return value

    schema = Schema.from_dict({"code": fields.String(validate=digits)})()
    load = fast_load(schema)
    assert load({"code": "123"}) == schema.load({"code": "123"}) == {"code": "123"}
    assert _outcome(load, {"code": "12a"}) == _outcome(schema.load, {"code": "12a"}) == ("refused", {"code": ["digits only"]})
