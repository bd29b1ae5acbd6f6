"""The chain's hashes are the documented canonical JSON (docs/decision-log.md), whichever encoder writes
it: an auditor's own script uses Python's json module, so the faster encoder the service uses must give
the same bytes for every value an entry can hold, and the same refusals."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_service.decisionlog.chain import HASHED_FIELDS, canonical_json, entry_hash
from policy_service.decisionlog.records import Rendered
from policy_service.telemetry.logs import JsonLines


def _auditors_hash(fields: dict[str, Any], key: bytes | None = None) -> str:
    """What docs/decision-log.md tells an auditor to compute, with nothing but the standard library."""
    data = json.dumps({name: fields[name] for name in HASHED_FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key else hashlib.sha256(data).hexdigest()


def _entry(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {name: f"{name}-value" for name in HASHED_FIELDS}
    return {**fields, "seq": 7, "caller": None, **changes}


def _characters(start: int, stop: int) -> str:
    return "".join(chr(c) for c in range(start, stop) if not 0xD800 <= c <= 0xDFFF)


@pytest.mark.parametrize("key", [None, b"log-key"])
def test_every_character_hashes_as_the_auditors_script_hashes_it(key: bytes | None) -> None:
    # Control characters, quotes, backslashes, DEL, U+2028, non-BMP: each has its own escaping rule.
    for start in range(0, 0x110000, 0x1000):
        text = _characters(start, start + 0x1000)
        row = _entry(request=text, response='{"a": "' + text[:50] + '"}', agent_id=text[::-1])
        assert entry_hash(row, key) == _auditors_hash(row, key), f"characters from U+{start:04X}"


@pytest.mark.parametrize("seq", [0, 1, 2**53 + 1, 2**63 - 1, 2**64 - 1, 2**64, -(2**63), -(2**64) - 1, 10**40])
def test_integers_of_any_size_hash_as_the_auditors_script_hashes_them(seq: int) -> None:
    assert entry_hash(_entry(seq=seq)) == _auditors_hash(_entry(seq=seq))


def test_a_lone_surrogate_is_refused_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        entry_hash(_entry(request="a\ud800b"))


def test_a_response_is_json_that_reads_back_as_its_document() -> None:
    document = {"decision_id": "dec_1", "words": "¿Puedo ofrecerle un reembolso de 120,00 €?\n\t\"ok\"",
                "options": [{"amount": 12000, "big": 2**70}], "limit": None, "allowed": True}
    rendered = Rendered.of(document)
    assert json.loads(rendered.text) == document and rendered.document is document
    assert "€" in rendered.text  # UTF-8, not \\u escapes
    with pytest.raises(TypeError):  # a Decimal was never JSON here: the renderer spells amounts itself
        Rendered.of({"amount": Decimal("1.5")})


def test_a_log_line_is_one_json_object_whatever_its_fields_hold() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("policy_service.test_chain_encoding")
    logger.addHandler(handler)
    try:
        logger.warning("odd", extra={"fields": {"count": 2**70, "where": Decimal("1.5"), "who": "Núñez\n"}})
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue()
    assert line.count("\n") == 1, line
    parsed = json.loads(line)
    assert (parsed["msg"], parsed["count"], parsed["where"], parsed["who"], parsed["level"]) == ("odd", 2**70, "1.5", "Núñez\n", "warning")


_BODY_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.decimals(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(_BODY_VALUES)
def test_a_request_body_is_stored_as_the_standard_encoders_canonical_text(value: Any) -> None:
    # What read_json_body hands over: text, integers of any size, Decimals (every number with a
    # fraction, NaN and Infinity included), booleans, nulls, lists and objects.
    standard = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=lambda d: str(d) if isinstance(d, Decimal) else None)
    assert canonical_json(value) == standard


@pytest.mark.parametrize("value", [{1: "a"}, {"when": datetime(2026, 12, 3)}, {"what": object()}, {"x": Rendered("a", {})}])
def test_what_has_no_canonical_form_is_refused_or_spelled_as_before(value: Any) -> None:
    try:
        expected: Any = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                   default=lambda d: str(d) if isinstance(d, Decimal) else (_ for _ in ()).throw(TypeError()))
    except TypeError:
        expected = TypeError
    if expected is TypeError:
        with pytest.raises(TypeError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@given(st.one_of(st.datetimes(timezones=st.none()), st.datetimes(timezones=st.just(timezone.utc)), st.dates()))
def test_a_time_is_stored_in_sqlite_as_the_dialects_own_converter_writes_it(moment: Any) -> None:
    """Times bound by the raw writer (statements.Compiled) take datetime.isoformat instead of SQLite's
    DATETIME converter: the same text for every datetime (range filters compare it as text), and a date
    still goes to the dialect's."""
    from sqlalchemy.dialects import sqlite

    from policy_service.decisionlog.statements import _quicker

    dialects_own = sqlite.DATETIME().bind_processor(sqlite.dialect())
    quicker = _quicker(dialects_own)
    assert quicker is not dialects_own and quicker(moment) == dialects_own(moment)
