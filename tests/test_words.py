"""Words: CLDR formatting (checked against Babel itself), placeholders, locale fallback."""

from __future__ import annotations

import dataclasses
import random
import re
import unicodedata
from decimal import Decimal
from typing import Any

import pytest
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

from policy_service.deciding.words import (
    REQUIRED_MESSAGES,
    STANDARD_MESSAGES,
    fill,
    format_money,
    format_quantity,
    message,
)

LOCALES = ["es", "en", "pt", "fr", "de", "de_CH", "hi", "ja", "ar", "nl", "it", "es_MX"]
CURRENCIES = ["EUR", "USD", "JPY", "CLP", "KWD", "MXN", "INR"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_money_is_formatted_exactly_as_babel_does(locale: str, currency: str) -> None:
    """The fast formatter and Babel's format_currency agree on 300 random amounts per locale/currency."""
    digits = get_currency_precision(currency)
    rng = random.Random(f"{locale}{currency}")
    amounts = [0, 1, 10**digits, 123456789] + [rng.randint(0, 10 ** rng.randint(1, 13)) for _ in range(300)]
    for minor in amounts:
        expected = _cldr_spaced(format_currency(Decimal(minor).scaleb(-digits), currency, locale=locale), currency, locale)
        assert format_money(minor, currency, digits, locale.replace("_", "-")) == expected, (minor, locale, currency)


def _cldr_spaced(text: str, currency: str, locale: str) -> str:
    """Babel's text with CLDR's currency spacing, which Babel leaves out: a symbol that ends or starts with
    a letter (`COP`, `US$` does not) touching a digit gets a no-break space between them."""
    symbol = get_currency_symbol(currency, locale)
    if unicodedata.category(symbol[-1])[0] not in "SZ":
        text = re.sub(re.escape(symbol) + r"(?=\d)", symbol + "\u00a0", text)
    if unicodedata.category(symbol[0])[0] not in "SZ":
        text = re.sub(r"(?<=\d)" + re.escape(symbol), "\u00a0" + symbol, text)
    return text


def test_money_follows_the_full_locale_as_cldr_writes_it() -> None:
    """Mexico, Colombia and Spain write their money differently (SPEC §4 step 5, Babel's CLDR data); a
    currency code as symbol is kept apart from the digits (CLDR currency spacing)."""
    assert format_money(123450, "MXN", 2, "es-MX") == "$1,234.50"
    assert format_money(1234, "COP", 0, "es-CO") == "$1.234"
    assert format_money(123450, "EUR", 2, "es") == "1.234,50\u00a0€"
    assert format_money(240000, "COP", 0, "en") == "COP\u00a0240,000"
    assert format_money(123450, "EUR", 2, "es-MX") == "EUR\u00a01,234.50"
    assert format_quantity(15, "days", "es-MX") == "15 días"


def test_spanish_and_english_money_as_the_spec_shows() -> None:
    assert format_money(123450, "EUR", 2, "es") == "1.234,50\u00a0€"
    assert format_money(123450, "EUR", 2, "en") == "€1,234.50"


def test_days_are_written_out_per_locale() -> None:
    assert format_quantity(15, "days", "es") == "15 días"
    assert format_quantity(1, "days", "en") == "1 day"


def test_a_sentence_with_a_missing_placeholder_is_left_out() -> None:
    assert fill("hasta {limit} ahora", {"limit": "5,00 €"}) == "hasta 5,00 € ahora"
    assert fill("lo aprueba {to_tier}", {"to_tier": None}) is None


def test_a_count_sentence_an_organisation_left_out_is_its_own_sentence_without_count(runtime: Any) -> None:
    """An organisation that speaks Portuguese supplies the required sentences only: a count decision
    then reads its Portuguese `allow`, never the Spanish default's `allow_count`."""
    org = dataclasses.replace(runtime.policy_set.organization, locales=("es", "pt"),
                              messages={key: {"pt": f"[pt {key}]"} for key in REQUIRED_MESSAGES})
    assert message(org, "allow_count", "pt") == "[pt allow]"
    assert message(org, "allow_count", "es") == STANDARD_MESSAGES["allow_count"]["es"]
    assert "allow_count" not in REQUIRED_MESSAGES and "allow" in REQUIRED_MESSAGES
