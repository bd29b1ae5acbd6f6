"""References checked while reading: rule conditions, effects and words, and agents' tiers, read from
validated file data into the model, with diagnostics.

Every reference (field, operator, tier, action, team, placeholder) is checked here against the
organisation; each problem is reported at its position and reading goes on, so one run shows them all.
"""

from __future__ import annotations

import string
from decimal import Decimal
from typing import Any

from policy_service.authoring.diagnostics import Diagnostic, did_you_mean
from policy_service.authoring.source import PathKey, SourceFile
from policy_service.deciding.words import PLACEHOLDERS, resolve_locale, text_locales
from policy_service.model import Effects, FieldSpec, Organization
from policy_service.model.conditions import COMPARISONS, OPERATORS, All, Condition, Not, Test
from policy_service.model.conditions import Any as AnyOf

_OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "string": ("eq", "ne", "in", "not_in", "exists"),
    "integer": ("eq", "ne", *COMPARISONS, "in", "not_in", "exists"),
    "money": ("eq", "ne", *COMPARISONS, "in", "not_in", "exists"),
    "boolean": ("eq", "ne", "exists"),
    "list": ("contains", "exists"),
}


class ReferenceReader:
    """Reads one file's rules and agents against the organisation; collects diagnostics in `self.diagnostics`."""

    def __init__(self, source: SourceFile, org: Organization) -> None:
        self.source = source
        self.org = org
        self.diagnostics: list[Diagnostic] = []

    def error(self, path: PathKey, code: str, message: str, hint: str | None = None, key: bool = False) -> None:
        self.diagnostics.append(self.source.diagnostic(path, code, message, hint=hint, key=key))

    # -- references -------------------------------------------------------------------------------
    def tier(self, value: Any, path: PathKey, key: bool = False) -> bool:
        known = [t.id for t in self.org.tiers]
        if value in known:
            return True
        self.error(path, "PS013", f'unknown tier "{value}"', did_you_mean(str(value), known) or "tiers: " + ", ".join(known), key)
        return False

    def action(self, value: Any, path: PathKey, key: bool = False) -> bool:
        if value in self.org.actions:
            return True
        self.error(path, "PS014", f'unknown action "{value}"', did_you_mean(str(value), self.org.actions), key)
        return False

    def team(self, value: Any, path: PathKey) -> bool:
        if value in self.org.teams:
            return True
        hint = did_you_mean(str(value), self.org.teams) or ("teams: " + ", ".join(self.org.teams) if self.org.teams else "declare it under teams: in the Organization file")
        self.error(path, "PS015", f'unknown team "{value}"', hint)
        return False

    def amount(self, action_id: str, value: Any, path: PathKey) -> int | None:
        """A limit or amount in the action's unit, as an integer (money in minor units)."""
        unit = self.org.actions[action_id].unit
        return self.quantity(unit, value, path)

    def quantity(self, unit: str, value: Any, path: PathKey) -> int | None:
        if unit == "flag":
            if value is True:
                return 1
            self.error(path, "PS022", "a flag limit is written as true", "leave the tier out to mean it may not grant it")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value < 0:
            self.error(path, "PS022", f"expected a non-negative number for a {unit} amount, got {value!r}")
            return None
        if unit == "money":
            minor = Decimal(value).scaleb(self.org.minor_digits)
            if minor != minor.to_integral_value():
                self.error(path, "PS022", f"{value} has more decimals than {self.org.currency} allows ({self.org.minor_digits})")
                return None
            return int(minor)
        if isinstance(value, Decimal) and value != value.to_integral_value():
            self.error(path, "PS022", f"{unit} are whole numbers, got {value}")
            return None
        return int(value)

    # -- conditions -------------------------------------------------------------------------------
    def condition(self, data: Any, path: PathKey) -> Condition:
        if not isinstance(data, dict):
            self.error(path, "PS005", "a condition is a mapping of field to test")
            return All(())
        items: list[Condition] = []
        for key, value in data.items():
            here = path + (key,)
            if key in ("any", "all"):
                if not isinstance(value, list):
                    self.error(here, "PS005", f'"{key}" takes a list of conditions')
                    continue
                parts = tuple(self.condition(item, here + (i,)) for i, item in enumerate(value))
                items.append(AnyOf(parts) if key == "any" else All(parts))
            elif key == "not":
                items.append(Not(self.condition(value, here)))
            else:
                items.extend(self.field_tests(key, value, here))
        return items[0] if len(items) == 1 else All(tuple(items))

    def field_tests(self, name: str, test: Any, path: PathKey) -> list[Test]:
        spec = self.org.fields.get(name)
        if spec is None:
            hint = did_you_mean(name, list(self.org.fields) + ["any", "all", "not"])
            self.error(path, "PS020", f'unknown field "{name}"', hint, key=True)
            return []
        operations = test.items() if isinstance(test, dict) else [("eq", test)]
        tests = []
        for op, value in operations:
            here = path + (op,) if isinstance(test, dict) else path
            if op not in OPERATORS:
                self.error(here, "PS021", f'unknown operator "{op}"', did_you_mean(str(op), OPERATORS), key=True)
                continue
            if op not in _OPS_BY_TYPE[spec.type]:
                allowed = ", ".join(_OPS_BY_TYPE[spec.type])
                self.error(here, "PS023", f'"{op}" does not apply to {name} ({spec.type})', f"use one of: {allowed}", key=isinstance(test, dict))
                continue
            typed = self.test_value(spec, op, value, here)
            if typed is not None:
                tests.append(Test(name, op, typed))
        return tests

    def test_value(self, spec: FieldSpec, op: str, value: Any, path: PathKey) -> Any:
        if op == "exists":
            if isinstance(value, bool):
                return value
            self.error(path, "PS022", "exists takes true or false")
            return None
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                self.error(path, "PS022", f"{op} takes a list of values")
                return None
            items = [self.scalar(spec, item, path + (i,)) for i, item in enumerate(value)]
            return None if any(item is None for item in items) else tuple(items)
        return self.scalar(spec, value, path)

    def scalar(self, spec: FieldSpec, value: Any, path: PathKey) -> Any:
        kind = {"list": "string"}.get(spec.type, spec.type)
        if kind == "string":
            if not isinstance(value, str):
                self.error(path, "PS022", f"{spec.name} is a string; got {value!r}", 'quote it: "..."')
                return None
            if spec.values is not None and value not in spec.values:
                self.error(path, "PS024", f'"{value}" is not a value of {spec.name}', did_you_mean(value, spec.values) or "values: " + ", ".join(spec.values))
                return None
            return value
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            self.error(path, "PS022", f"{spec.name} is true or false; got {value!r}", "YAML 1.2: only true and false are booleans")
            return None
        if kind == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            self.error(path, "PS022", f"{spec.name} is a whole number; got {value!r}")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            self.error(path, "PS022", f"{spec.name} is an amount of money; got {value!r}")
            return None
        return self.quantity("money", value, path)

    # -- effects ----------------------------------------------------------------------------------
    def effects(self, data: dict[str, Any], path: PathKey, policy_actions: tuple[str, ...]) -> Effects:
        scale: dict[str, Decimal] = {}
        raw_scale = data.get("scale")
        if raw_scale is not None:
            pairs = raw_scale.items() if isinstance(raw_scale, dict) else [(a, raw_scale) for a in policy_actions]
            for action_id, factor in pairs:
                here = path + ("scale", action_id) if isinstance(raw_scale, dict) else path + ("scale",)
                if isinstance(raw_scale, dict) and not self.action(action_id, here, key=True):
                    continue
                if isinstance(factor, bool) or not isinstance(factor, (int, Decimal)) or factor <= 0:
                    self.error(here, "PS022", f"a scale is a positive number; got {factor!r}")
                    continue
                scale[action_id] = Decimal(factor)
        set_limits: dict[str, dict[str, int]] = {}
        for action_id, cells in data.get("set_limits", {}).items():
            here = path + ("set_limits", action_id)
            if self.action(action_id, here, key=True):
                set_limits[action_id] = self.limit_row(action_id, cells, here)
        require_tier = {
            a: t for a, t in data.get("require_tier", {}).items()
            if self.action(a, path + ("require_tier", a), key=True) and self.tier(t, path + ("require_tier", a))
        }
        cap_at = tuple(self.actions_list(data, "cap_at_order_value", path))
        for i, action_id in enumerate(cap_at):
            if self.org.actions[action_id].unit != "money":
                self.error(path + ("cap_at_order_value", i), "PS022", f"cap_at_order_value applies to money actions; {action_id} is in {self.org.actions[action_id].unit}")
        handoff = data.get("handoff")
        if handoff is not None and not self.team(handoff, path + ("handoff",)):
            handoff = None
        return Effects(
            scale=scale, set_limits=set_limits, cap_at_order_value=cap_at, require_tier=require_tier,
            forbid=tuple(self.actions_list(data, "forbid", path)), offer=tuple(self.actions_list(data, "offer", path)),
            handoff=handoff, say=self.words(data.get("say", {}), path + ("say",), placeholders=True),
            conditions=self.words(data.get("conditions", {}), path + ("conditions",), placeholders=False),
        )

    def actions_list(self, data: dict[str, Any], key: str, path: PathKey) -> list[str]:
        return [a for i, a in enumerate(data.get(key, [])) if self.action(a, path + (key, i))]

    def limit_row(self, action_id: str, cells: Any, path: PathKey) -> dict[str, int]:
        row: dict[str, int] = {}
        if not isinstance(cells, dict):
            self.error(path, "PS005", "limits are a mapping of tier to limit")
            return row
        for tier_id, value in cells.items():
            if self.tier(tier_id, path + (tier_id,), key=True):
                amount = self.amount(action_id, value, path + (tier_id,))
                if amount is not None:
                    row[tier_id] = amount
        return row

    def words(self, texts: dict[str, str], path: PathKey, placeholders: bool) -> dict[str, str]:
        result: dict[str, str] = {}
        rejected = False
        for locale, text in texts.items():
            here = path + (locale,)
            if not self.writes_for(locale):
                self.error(here, "PS031", f'locale "{locale}" is not one of the organisation\'s ({", ".join(self.org.locales)})', key=True,
                           hint="texts may also be written under a declared locale's language (es for es-MX) or a region of it (es-MX for es)")
                rejected = True
            elif placeholders and not self.placeholders_ok(text, here):
                rejected = True
            else:
                result[locale] = text
        if result and not rejected and not any(c in result for c in text_locales(self.org.default_locale, self.org)):
            self.diagnostics.append(self.source.diagnostic(
                path, "PS031", f"no text for the default locale {self.org.default_locale}",
                hint="requests in other locales fall back to it", severity="warning"))
        return result

    def writes_for(self, locale: str) -> bool:
        """Texts may be written under a declared locale, or under another locale of a declared language
        that CLDR knows (`es` or `es-MX` when `es-MX` or `es` is declared): requests fall back to them."""
        if locale in self.org.locales:
            return True
        known = resolve_locale(locale, self.org)
        return known == locale or (known.split("-")[0] == locale and locale in text_locales(known, self.org))

    def placeholders_ok(self, text: str, path: PathKey) -> bool:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            self.error(path, "PS030", f"malformed placeholder: {exc}", "write a literal brace as {{ or }}")
            return False
        ok = True
        for name in names:
            base, _, rest = name.partition("[")
            if base not in PLACEHOLDERS or (rest and base != "limit"):
                self.error(path, "PS030", f'unknown placeholder "{{{name}}}"', did_you_mean(base, PLACEHOLDERS) or "placeholders: " + ", ".join(PLACEHOLDERS))
                ok = False
            elif rest and rest.rstrip("]") not in self.org.actions:
                action_id = rest.rstrip("]")
                self.error(path, "PS030", f'unknown action "{action_id}" in placeholder "{{{name}}}"', did_you_mean(action_id, self.org.actions))
                ok = False
        return ok

