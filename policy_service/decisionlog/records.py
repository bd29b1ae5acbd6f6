"""What goes into the log and what comes back from an append: plain values, no database."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson


class Rendered(NamedTuple):
    """A response as a renderer builds it under the chain lock: the JSON text the caller receives, and
    the document it spells, so the rows derived from it need not parse the text back (~30 µs a decision)."""
    text: str
    document: Mapping[str, Any]

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Rendered:
        # Compact JSON by orjson: an eighth of json.dumps's time for a decision (~1 µs against ~9).
        # Renderers build text, integers, booleans, nulls, lists and objects (quantities are spelled as
        # text); what orjson refuses of those (an integer past 64 bits, a key that is not text) the
        # standard encoder writes. A time or a dataclass is refused, as the standard encoder did.
        try:
            text = orjson.dumps(document, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS).decode("utf-8")
        except TypeError:  # orjson.JSONEncodeError
            text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        return cls(text, document)


@dataclass(frozen=True)
class NewEntry:
    """One entry as the caller knows it; the store adds seq, prev_hash and hash under the chain lock."""
    id: str
    kind: str  # decision | approval | outcome
    decision_id: str
    created_at: datetime  # proposed; the log keeps it no earlier than the entry before (see append)
    caller: str | None
    agent_id: str | None
    customer_id: str | None
    outcome: str | None
    action: str | None
    policy: str | None
    rules: str  # canonical JSON list
    policy_revision: str
    request: str  # canonical JSON of the request body as received, masked fields replaced
    response: str | Callable[[datetime], Rendered]  # exactly the JSON the caller receives, or its renderer
    masked: str  # canonical JSON list of the request paths removed before storage
    fired_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApprovalRequest:
    decision_id: str
    to_tier: str
    team: str | None
    action: str
    amount: int
    created_at: datetime


@dataclass(frozen=True)
class Appended:
    seq: int
    hash: str
    created_at: datetime
    response: str


@dataclass(frozen=True)
class LogFilter:
    agent_id: str | None = None
    customer_id: str | None = None  # as stored (already keyed-hashed when that is on)
    outcome: str | None = None
    action: str | None = None
    policy: str | None = None
    rule: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
