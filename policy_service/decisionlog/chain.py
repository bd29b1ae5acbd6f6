"""The decision log's hash chain: canonical JSON, entry hashes, and the verification walk (docs/contract.md §6).

Pure functions over plain values, so the store, the CLI, the HTTP API and an auditor's own script all
compute the same hashes. An entry's hash is SHA-256 over the canonical JSON of its fields and
`prev_hash`: sorted keys, no insignificant whitespace, UTF-8, exact decimals as strings. The request
and the response are JSON documents held as text; the chain hashes those texts, so verifying never
re-parses (or re-formats) them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import orjson

GENESIS = "0" * 64  # the prev_hash of entry 1

# Every field an entry's hash covers; the store keeps exactly these (plus `hash`).
HASHED_FIELDS = ("seq", "id", "kind", "decision_id", "created_at", "caller", "agent_id", "customer_id",
                 "outcome", "action", "policy", "rules", "policy_revision", "request", "response", "masked",
                 "prev_hash")


def _decimal_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8; Decimals as strings, so no reader rounds them. Requests
    arrive with every JSON number that has a fraction parsed as a Decimal (web.operations; the MCP
    tools read their arguments the same way), so they hold text, integers, Decimals, booleans and
    nulls: for those orjson writes the standard encoder's bytes (tests/test_chain_encoding.py) at a
    tenth of its time, and what it refuses (an integer past 64 bits, a key that is not text, a value
    with no JSON form) goes to the standard encoder. A float, which no caller passes, would get
    orjson's shortest spelling (1e-7 where the standard encoder writes 1e-07)."""
    try:
        return orjson.dumps(value, default=_decimal_text, option=_CANONICAL).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_decimal_text)


def timestamp_text(moment: datetime) -> str:
    """One spelling of an instant, whatever the backend hands back: naive values are UTC (SQLite)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(fields: dict[str, Any], key: bytes | None = None) -> str:
    """SHA-256 (hex) of the canonical JSON of HASHED_FIELDS, or HMAC-SHA256 under `key` (the log key,
    kept outside the database: then whoever can only write the database cannot append an entry that
    verifies). `created_at` must already be text."""
    material = {name: fields[name] for name in HASHED_FIELDS}
    # Every hashed value is text, an integer or null (documents are held as text): the bytes an
    # auditor's script gets from json.dumps for every code point and integer size (a test holds them).
    if not all(value is None or type(value) in (str, int) for value in material.values()):
        raise TypeError("hashed entry fields are text, integers or null")
    data = canonical_json(material).encode("utf-8")  # a lone surrogate cannot be encoded: refused
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    entry_id: str | None
    kind: str  # "edited" | "missing" | "inserted" | "anchor" | "truncated" | "side-table" (verifying.SideTables)
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.entry_id, "kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head_seq: int
    head_hash: str
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": {"seq": self.head_seq, "hash": self.head_hash},
                "problem": self.problem.as_dict() if self.problem else None}


def verify_chain(rows: Iterable[dict[str, Any]], anchors: dict[int, str] | None = None,
                 key: bytes | None = None) -> VerifyReport:
    """Walk entries in seq order, holding only the previous one: constant memory on any log size.

    Names the first entry that breaks the chain. Each `rows` item has HASHED_FIELDS plus `hash`, with
    `created_at` as text. `anchors` ({seq: hash}, e.g. a head an auditor noted last month) catch what
    a chain alone cannot: the newest entries deleted from the end.

    With the log `key`, entries must be keyed from the first keyed one on: a log that gained its key
    later verifies its older, plain entries, but nothing plain may follow a keyed entry (a forged
    append by someone without the key).
    """
    anchors = dict(anchors or {})
    expected_seq, previous_hash, count, keyed = 1, GENESIS, 0, False
    for row in _ordered(rows):
        seq = row["seq"]
        if seq != expected_seq:
            gap = f"entry {expected_seq}" if seq == expected_seq + 1 else f"entries {expected_seq} to {seq - 1}"
            return VerifyReport(count, expected_seq - 1, previous_hash, ChainProblem(
                expected_seq, None, "missing", f"{gap} missing: the log jumps from seq {expected_seq - 1} to {seq}"))
        if key is not None and entry_hash(row, key) == row["hash"]:
            keyed = True
        elif entry_hash(row) != row["hash"] or keyed:
            detail = (f"entry {seq} ({row['id']}) was not written with the log key: forged by someone without it"
                      if keyed and entry_hash(row) == row["hash"]
                      else f"entry {seq} ({row['id']}) was edited: its content no longer gives its hash")
            return VerifyReport(count, seq - 1, previous_hash, ChainProblem(seq, row["id"], "edited", detail))
        if row["prev_hash"] != previous_hash:
            return VerifyReport(count, seq - 1, previous_hash, ChainProblem(
                seq, row["id"], "inserted" if seq > 1 else "edited",
                f"entry {seq} ({row['id']}) does not follow entry {seq - 1}: one of them was inserted, "
                f"replaced or re-hashed"))
        if seq in anchors and anchors.pop(seq) != row["hash"]:
            return VerifyReport(count, seq - 1, previous_hash, ChainProblem(
                seq, row["id"], "anchor", f"entry {seq} ({row['id']}) differs from the anchor noted for it"))
        previous_hash, expected_seq, count = row["hash"], seq + 1, count + 1
    if anchors:
        first = min(anchors)
        return VerifyReport(count, expected_seq - 1, previous_hash, ChainProblem(
            first, None, "truncated", f"entry {first} is anchored but the log ends at seq {expected_seq - 1}: "
                                      f"entries were deleted from its end"))
    return VerifyReport(count, expected_seq - 1, previous_hash, None)


def _ordered(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    last = 0
    for row in rows:
        if row["seq"] <= last:
            raise ValueError("verify_chain needs rows in increasing seq order")
        last = row["seq"]
        yield row


def parse_anchor(text: str) -> tuple[int, str]:
    """"1234:9f86d0…" -> (1234, "9f86d0…"), as printed by `audit verify`."""
    seq_text, _, digest = text.partition(":")
    if not seq_text.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f'an anchor is "SEQ:HASH" as `audit verify` prints it, not "{text}"')
    return int(seq_text), digest
