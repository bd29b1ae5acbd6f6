"""The decision's own spellings (policy_service/service/spelling.py): ids and money as callers read them."""

from __future__ import annotations

import re
import time
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from policy_service.model import Organization
from policy_service.service import spelling as decisions

ULID = re.compile(r"dec_[0-9A-HJKMNP-TV-Z]{26}")


def crockford_ulid(value: int) -> str:
    """The ULID spelling, one 5-bit digit at a time, most significant first: the definition."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(alphabet[(value >> shift) & 31] for shift in range(125, -1, -5))


def test_decision_ids_are_ulids_that_sort_by_creation_time() -> None:
    """Ids have the ULID shape, never repeat, and a later millisecond sorts after an earlier one."""
    first = [decisions.new_decision_id() for _ in range(1000)]
    time.sleep(0.002)
    later = decisions.new_decision_id()
    assert all(ULID.fullmatch(i) for i in first)
    assert len(set(first)) == len(first)
    assert later > max(first)


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_ulid_text_spells_the_value_in_crockford_base32(value: int) -> None:
    """The fast encoding spells exactly the 128-bit value, digit for digit."""
    assert decisions.ulid_text(value) == crockford_ulid(value)


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from([0, 2, 3]))
def test_money_text_has_exactly_the_currency_minor_digits(minor: int, digits: int) -> None:
    """11250 is "112.50" in EUR, "11250" in JPY, "11.250" in a three-digit currency: as Decimal spells it."""
    org = Organization(name="x", currency="XXX", minor_digits=digits, locales=("es",), tiers=(), actions={},
                       teams={}, fields={})  # type: ignore[arg-type]
    assert decisions.decimal_text(minor, org) == f"{Decimal(minor).scaleb(-digits):.{digits}f}"


@given(st.one_of(st.integers(min_value=-10**14, max_value=10**14), st.integers()), st.sampled_from([0, 2, 3]))
@example(10**12, 2)
@example(10**12 - 1, 2)
@example(0, 3)
@example(-1, 0)
def test_a_whole_number_amount_reads_as_its_decimal_does(value: int, digits: int) -> None:
    """Whole numbers take a shorter path through parse_money (no Decimal): the same minor units, and the
    same refusal (negative, past twelve integer digits) as the general path gives the same quantity."""
    from marshmallow import ValidationError

    from policy_service.deciding.request import parse_money

    org = Organization(name="x", currency="XXX", minor_digits=digits, locales=("es",), tiers=(), actions={},
                       teams={}, fields={})  # type: ignore[arg-type]

    def read(amount: object) -> object:
        try:
            return parse_money(amount, org)
        except ValidationError as refused:
            return refused.messages

    assert read(value) == read(Decimal(value))
