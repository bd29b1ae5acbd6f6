"""Words for the agent: standard sentences, placeholders filled, numbers and money formatted per locale.

Formatting follows CLDR through Babel for the request's full locale (`1.234,50 €` in es, `€1,234.50` in
en, `$1,234.50` for pesos in es-MX, `15 días`), while texts fall back along `text_locales`. A sentence
whose placeholder has no value is left out rather than shown half-filled (docs/contract.md §3.3). Formatting is
memoised because Babel costs ~25 µs a call and the same few amounts recur all day.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal, get_currency_symbol, get_decimal_symbol, get_group_symbol
from babel.units import format_unit

from policy_service.model import Action, Organization

# Sentences the service ships. `su` keeps Spanish free of gendered articles ("su reembolso",
# "su condonación de cargo"), whatever the organisation calls its actions.
STANDARD_MESSAGES: dict[str, dict[str, str]] = {
    "allow": {
        "es": "Puedo aplicar ahora mismo su {action} de {amount}.",
        "en": "I can apply your {action} of {amount} right now.",
    },
    "allow_flag": {
        "es": "Puedo aplicar ahora mismo su {action}.",
        "en": "I can apply your {action} right now.",
    },
    "escalate": {
        "es": "Su {action} de {amount} necesita la aprobación del nivel {to_tier}; la solicito ahora mismo.",
        "en": "Your {action} of {amount} needs {to_tier} approval; I am requesting it now.",
    },
    "escalate_flag": {
        "es": "Su {action} necesita la aprobación del nivel {to_tier}; la solicito ahora mismo.",
        "en": "Your {action} needs {to_tier} approval; I am requesting it now.",
    },
    "handoff": {
        "es": "Su caso lo gestiona el equipo de {team}; le paso con ellos ahora mismo.",
        "en": "Your case is handled by our {team} team; I am transferring you now.",
    },
    "deny_with_options": {
        "es": "Su {action} de {amount} no es posible en este caso, pero sí puedo ofrecerle otra opción.",
        "en": "Your {action} of {amount} is not possible in this case, but I can offer you an alternative.",
    },
    "deny_with_options_flag": {
        "es": "Su {action} no es posible en este caso, pero sí puedo ofrecerle otra opción.",
        "en": "Your {action} is not possible in this case, but I can offer you an alternative.",
    },
    "deny": {
        "es": "Su {action} de {amount} no es posible en este caso; dejo registrada su solicitud con los motivos para que pueda consultarla.",
        "en": "Your {action} of {amount} is not possible in this case; I am recording your request and the reasons so you can refer to it.",
    },
    "deny_flag": {
        "es": "Su {action} no es posible en este caso; dejo registrada su solicitud con los motivos para que pueda consultarla.",
        "en": "Your {action} is not possible in this case; I am recording your request and the reasons so you can refer to it.",
    },
    "option": {
        "es": "Puedo ofrecerle ahora mismo hasta {limit} de {action}.",
        "en": "I can offer you up to {limit} in {action} right now.",
    },
    "option_flag": {
        "es": "Puedo ofrecerle ahora mismo {action_a}.",
        "en": "I can offer you {action_a} right now.",
    },
    # Why a cap keeps the proposal from `allow`: {cap} is the cap's label, {remaining} what is left of
    # it. A customer's budget, then the agent's own; `_count` when its number of uses is what ran out.
    "cap_reached": {
        "es": "Este cliente ya ha usado su {cap}: quedan {remaining}.",
        "en": "This customer has already used their {cap}: {remaining} left.",
    },
    "cap_reached_count": {
        "es": "Este cliente ya ha usado su {cap} todas las veces que permite.",
        "en": "This customer has already used their {cap} as many times as it allows.",
    },
    "cap_reached_agent": {
        "es": "Ya he usado mi {cap}: me quedan {remaining}.",
        "en": "I have already used my {cap}: {remaining} left.",
    },
    # `_whole`: nothing of the cap is used yet, the proposal alone is more than it allows ("ya ha
    # usado su …: quedan 300 €" told a customer who had used nothing, owner trial). Optional: an
    # organisation's own locale may leave these out; its `cap_reached` sentence is used then.
    "cap_reached_whole": {
        "es": "Su {cap} permite como máximo {remaining}.",
        "en": "Your {cap} allows at most {remaining}.",
    },
    "cap_reached_agent_whole": {
        "es": "Mi {cap} me permite como máximo {remaining}.",
        "en": "My {cap} allows me at most {remaining}.",
    },
    "cap_reached_agent_count": {
        "es": "Ya he usado mi {cap} todas las veces que permite.",
        "en": "I have already used my {cap} as many times as it allows.",
    },
    # A count reads as a number of things ("10 gigas de regalo"), not "su gigas de regalo de 10": the
    # label of a count action is the plural noun. An organisation's own locale may leave these out;
    # its sentence without `_count` is used then.
    "allow_count": {
        "es": "Puedo darle ahora mismo {amount} {action}.",
        "en": "I can give you {amount} {action} right now.",
    },
    "escalate_count": {
        "es": "Para darle {amount} {action} necesito la aprobación del nivel {to_tier}; la solicito ahora mismo.",
        "en": "For {amount} {action} I need {to_tier} approval; I am requesting it now.",
    },
    "deny_with_options_count": {
        "es": "No puedo darle {amount} {action} en este caso, pero sí puedo ofrecerle otra opción.",
        "en": "I cannot give you {amount} {action} in this case, but I can offer you an alternative.",
    },
    "deny_count": {
        "es": "No puedo darle {amount} {action} en este caso; dejo registrada su solicitud con los motivos para que pueda consultarla.",
        "en": "I cannot give you {amount} {action} in this case; I am recording your request and the reasons so you can refer to it.",
    },
    "option_count": {
        "es": "Puedo ofrecerle ahora mismo hasta {limit} {action}.",
        "en": "I can offer you up to {limit} {action} right now.",
    },
}
COUNT_VARIANT = "_count"
# Sentences a locale may leave out: each falls back to the sentence without its suffix (message()).
VARIANTS = (COUNT_VARIANT, "_whole")
REQUIRED_MESSAGES = tuple(key for key in STANDARD_MESSAGES if not key.endswith(VARIANTS))


def resolve_locale(requested: str | None, org: Organization) -> str:
    """The locale an answer is written for (docs/contract.md §4 step 5): the request's own, full locale
    when its language is one the organisation declares and CLDR knows it (`es-MX` to an organisation
    declaring `es` or `es-CO`), so money, numbers and days are formatted as that market writes them;
    else a declared locale of its language; else the organisation's default. Texts then fall back
    along `text_locales`."""
    if requested:
        normalised = _known(requested)
        language = (normalised or requested.replace("_", "-")).split("-")[0].lower()
        declared = [locale for locale in org.locales if locale.split("-")[0] == language]
        if normalised == language and normalised not in declared:
            normalised = None  # a bare `es` to an organisation that declares `es-MX` is written as Mexico writes
        if declared:
            return normalised or declared[0]
    return org.default_locale


def text_locales(locale: str, org: Organization) -> tuple[str, ...]:
    """Where a text for `locale` is looked for, in order: the locale, its parents (`es-MX` -> `es`), the
    organisation's declared locales of the same language, then the organisation's default."""
    chain = [*_parents(locale), *(declared for declared in org.locales if declared.split("-")[0] == locale.split("-")[0]),
             *_parents(org.default_locale)]
    return tuple(dict.fromkeys(chain))


def _parents(locale: str) -> list[str]:
    """`es-MX` and then `es`; `zh-Hant-TW`, `zh-Hant`, `zh`."""
    parts = locale.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


@lru_cache(maxsize=256)
def _known(requested: str) -> str | None:
    """A request's locale as CLDR spells it (`es_mx` -> `es-MX`), or None when CLDR does not know it."""
    try:
        return str(Locale.parse(requested.replace("-", "_"))).replace("_", "-")
    except (UnknownLocaleError, ValueError):
        return None


def message(org: Organization, key: str, locale: str) -> str:
    """The organisation's own sentence in the customer's language (along `text_locales`) if it has one,
    else the shipped one in that language, else the default locale's. A `_count` sentence missing in
    this language is the sentence without `_count` (or `_whole`), in this language."""
    own = org.messages.get(key, {})
    shipped = STANDARD_MESSAGES[key]
    language = locale.split("-")[0]
    same_language = [c for c in text_locales(locale, org) if c.split("-")[0] == language]
    for texts in (own, shipped):
        for candidate in same_language:
            if candidate in texts:
                return texts[candidate]
    for variant in VARIANTS:
        if key.endswith(variant):
            return message(org, key.removesuffix(variant), locale)
    default = org.default_locale
    return own.get(default) or shipped.get(default) or shipped.get(default.split("-")[0]) or shipped["en"]


# The placeholders a rule's `say` may use (docs/contract.md §3.3), besides `limit[<action>]`: authoring
# refuses any other, and evaluation must give each a value (LazyValues checks), so the two cannot drift.
PLACEHOLDERS = ("amount", "limit", "action", "action_a", "tier", "to_tier", "team", "remaining")


class LazyValues(dict[str, "str | None"]):
    """Placeholder values computed on first use: most templates read two or three of them, and
    each `limit[...]` costs an effective-limit computation and a formatting."""

    def __init__(self, factories: Mapping[str, Callable[[], str | None]]) -> None:
        super().__init__()
        missing = set(PLACEHOLDERS) - set(factories)
        if missing:
            raise ValueError(f"no value for placeholders {sorted(missing)}")
        self._factories = factories

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if name not in self:
            factory = self._factories.get(name)
            if factory is None:
                return default
            self[name] = factory()
        return dict.get(self, name)


def fill(template: str, values: Mapping[str, str | None]) -> str | None:
    """The template with its placeholders filled, or None when one of them has no value."""
    parts = []
    for literal, name in _parsed(template):
        parts.append(literal)
        if name is None:
            continue
        value = values.get(name)
        if value is None:
            return None
        parts.append(value)
    return "".join(parts)


@lru_cache(maxsize=4096)
def _parsed(template: str) -> tuple[tuple[str, str | None], ...]:
    return tuple((literal, name) for literal, name, _, _ in string.Formatter().parse(template))


@lru_cache(maxsize=8192)
def format_money(minor: int, currency: str, minor_digits: int, locale: str) -> str:
    return money_formatter(locale, currency, minor_digits)(minor)


@lru_cache(maxsize=256)
def money_formatter(locale: str, currency: str, minor_digits: int) -> Callable[[int], str]:
    """CLDR's currency pattern for the locale, applied without Babel's per-call lookups (~1 µs instead
    of ~20). It is built from Babel's own pattern and symbols and checked against Babel on probe
    amounts; for any locale where it would differ, Babel itself is used."""
    babel_locale = _locale(locale)
    pattern = babel_locale.currency_formats["standard"]

    def with_babel(minor: int) -> str:
        return str(pattern.apply(Decimal(minor).scaleb(-minor_digits), babel_locale, currency=currency, currency_digits=True))

    symbol = get_currency_symbol(currency, babel_locale)
    prefix: str = pattern.prefix[0].replace("¤", symbol)
    suffix: str = pattern.suffix[0].replace("¤", symbol)
    group, decimal = get_group_symbol(babel_locale), get_decimal_symbol(babel_locale)
    primary, secondary = pattern.grouping
    scale = 10 ** minor_digits

    def fast(minor: int) -> str:
        whole, fraction = divmod(minor, scale)
        digits = str(whole)
        groups = [digits[-primary:]]
        digits = digits[:-primary]
        while digits:
            groups.append(digits[-secondary:])
            digits = digits[:-secondary]
        number = group.join(reversed(groups))
        if minor_digits:
            number += decimal + str(fraction).zfill(minor_digits)
        return prefix + number + suffix

    probes = (0, 1, 5, 99, 100, 999, 1000, 12345, 123456, 1234567, 12345678, 123456789, 1234567890123)
    chosen = fast if all(fast(p) == with_babel(p) for p in probes) else with_babel
    # CLDR's currency spacing, which Babel does not apply: a symbol that ends (or starts) with a letter
    # is kept apart from the digits by a no-break space ("COP 240,000", "EUR 1,234.50"), never "CLP10".
    before = _NBSP if pattern.prefix[0].endswith("¤") and _spaced(symbol[-1:]) else ""
    after = _NBSP if pattern.suffix[0].startswith("¤") and _spaced(symbol[:1]) else ""
    if not (before or after):
        return chosen

    def spaced(minor: int) -> str:
        text = chosen(minor)
        if before and text.startswith(prefix):
            text = prefix + before + text[len(prefix):]
        if after and text.endswith(suffix):
            text = text[:len(text) - len(suffix)] + after + suffix
        return text

    return spaced


_NBSP = "\u00a0"


def _spaced(character: str) -> bool:
    """CLDR's currencyMatch `[[:^S:]&[:^Z:]]`: a symbol character that is neither a symbol nor a space."""
    return bool(character) and unicodedata.category(character)[0] not in "SZ"


@lru_cache(maxsize=64)
def _locale(locale: str) -> Locale:
    return Locale.parse(_babel(locale))


@lru_cache(maxsize=4096)
def format_quantity(amount: int, unit: str, locale: str) -> str:
    if unit == "days":
        return format_unit(amount, "duration-day", length="long", locale=_babel(locale))
    return format_decimal(amount, locale=_babel(locale))


def format_amount(org: Organization, unit: str, amount: int | None, locale: str) -> str | None:
    """An amount in a unit, as shown to a person; None for a flag (it has no amount to show)."""
    if amount is None or unit == "flag":
        return None
    if unit == "money":
        return format_money(amount, org.currency, org.minor_digits, locale)
    return format_quantity(amount, unit, locale)


def action_label(action: Action, locale: str, org: Organization, form: str | None = None) -> str:
    """An action's label in the locale, in the form a sentence needs (`a`: "un pase a Sala Sol") when
    the organisation wrote one for that language, else its name (docs/contract.md §3.1)."""
    for candidate in text_locales(locale, org):
        if candidate in action.label:
            return (action.forms.get(candidate, {}).get(form) if form else None) or action.label[candidate]
    return action.id


def label(texts: Mapping[str, str], locale: str, org: Organization, fallback: str) -> str:
    """A text in the locale, falling back along `text_locales` (`es-MX` -> `es` -> the default)."""
    return next((texts[c] for c in text_locales(locale, org) if texts.get(c)), None) or fallback


def _babel(locale: str) -> str:
    return locale.replace("-", "_")
