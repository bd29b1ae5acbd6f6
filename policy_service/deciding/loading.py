"""A marshmallow schema's load, compiled once into plain functions for the bodies it accepts.

`Schema.load` runs its generic machinery around every field of every request: an error store, a getter
closure, partial-loading checks, a validator chain rebuilt on each call. For a decision body (five
nested schemas, ~27 fields) that was ~100 µs of a decision's ~1,200 µs of CPU in process
(docs/performance.md). The compiled loader calls the same fields' own `_deserialize` and validators,
in the schema's field order, and gives up at the first problem it meets: `Schema.load` then runs on
the same body, so every refusal, with all of its messages, still comes from marshmallow. The schema
stays the one source of the body's shape; this only skips the walk around it.

A schema using anything the compiler does not reproduce (load hooks, data keys or attributes,
dotted names, defaults, partial or many, unknown fields other than refused, field-level pre/post-load
functions, a field class that overrides how marshmallow calls `_deserialize` — Pluck, a List or
Nested subclass, its own `deserialize` or `_validate`) is not compiled: `Schema.load` does all of the
work, as before. At run time any exception in the compiled path, not only a refusal, hands the body to
`Schema.load`, so a field that reads the `attr` or `data` marshmallow passes it answers as in
marshmallow. A refused body is walked twice, so validators must not have side effects (the decision
body's have none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, fields, missing
from marshmallow.exceptions import RegistryError

Load = Callable[[Any], Any]
# Field methods around `_deserialize` whose base behaviour the compiled path reproduces; a field class
# overriding any of them is left to marshmallow.
_CALLED_AS_IS = ("deserialize", "_validate", "_validate_missing")


class _GiveUp(Exception):
    """The body is not one the compiled loader can vouch for; Schema.load will say why."""


class _Unsupported(Exception):
    """The schema uses something the compiler does not reproduce; it is not compiled."""


def fast_load(schema: Schema) -> Load:
    """`schema.load`, compiled where it can be (raises marshmallow's ValidationError exactly as `schema.load` does)."""
    try:
        compiled: Load | None = _schema(schema, schema.unknown)
    except (_Unsupported, RecursionError, RegistryError):  # a schema nesting itself, or one not yet defined
        compiled = None

    def load(data: Any) -> Any:
        if compiled is not None:
            try:
                return compiled(data)
            except Exception:  # noqa: BLE001 - a refusal or anything else: marshmallow answers, as it would have
                pass
        return schema.load(data)
    return load


def _schema(schema: Schema, unknown: str | None) -> Load:
    if any(schema._hooks.values()) or schema.many or schema.partial or schema.dict_class is not dict:
        raise _Unsupported
    if (unknown or schema.unknown) != RAISE:
        raise _Unsupported
    loaders: list[tuple[str, bool, Load]] = []
    for name, field in schema.load_fields.items():
        if field.data_key is not None or field.attribute is not None or "." in name:  # marshmallow nests a.b
            raise _Unsupported
        if field.load_default is not missing:
            raise _Unsupported
        loaders.append((name, field.required, _field(field)))
    known = frozenset(name for name, _, _ in loaders)

    def load(data: Any) -> dict[str, Any]:
        if type(data) is not dict or not known.issuperset(data):
            raise _GiveUp  # not an object, or an unknown field
        loaded = {}
        for name, required, load_field in loaders:
            if name in data:
                loaded[name] = load_field(data[name])
            elif required:
                raise _GiveUp
        return loaded
    return load


def _field(field: fields.Field[Any]) -> Load:
    if field.pre_load or field.post_load or any(
            getattr(type(field), method) is not getattr(fields.Field, method) for method in _CALLED_AS_IS):
        raise _Unsupported
    if type(field) is fields.Nested:
        if field.many or not isinstance(field.schema, Schema):
            raise _Unsupported
        convert: Load = _schema(field.schema, field.unknown)
    elif type(field) is fields.List:
        inner = _field(field.inner)

        def convert(value: Any) -> Any:
            if not isinstance(value, (list, tuple)):  # marshmallow's is_collection also takes sets; JSON has none
                raise _GiveUp
            return [inner(each) for each in value]
    elif isinstance(field, (fields.Nested, fields.List)):  # Pluck and other subclasses deserialize their own way
        raise _Unsupported
    else:
        deserialize = field._deserialize

        def convert(value: Any) -> Any:
            return deserialize(value, None, None)
    allow_none = field.allow_none
    checks = tuple(field.validators)  # marshmallow 4 ignores what a validator returns: it raises to refuse

    def load(value: Any) -> Any:
        if value is None:
            if allow_none:
                return None
            raise _GiveUp
        output = convert(value)
        for check in checks:
            check(output)
        return output
    return load
