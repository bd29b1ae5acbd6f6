"""What auditors ask of the log (docs/contract.md §5, §6): filters, cursor pages, exports and verification
(the walk itself in verifying.py).

Shared by the HTTP API and the CLI; the store does the reading, this module the meaning.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timezone
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from policy_service.authoring.loader import revision_units
from policy_service.deciding.request import Identifier
from policy_service.decisionlog import DecisionStore, LogFilter
from policy_service.decisionlog.chain import timestamp_text
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.decisionlog.statements import ENTRY_KINDS, as_utc
from policy_service.decisionlog.verifying import verify as verify  # the API's and CLI's audit.verify

OUTCOMES = ("allow", "escalate", "handoff", "deny")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Instant(fields.Field[datetime]):
    """An ISO date (midnight UTC) or date-time; a time without an offset is UTC."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("expected an ISO date or date-time, e.g. 2026-11-01 or 2026-11-01T09:00:00Z")
        try:
            moment = (datetime.combine(date.fromisoformat(value), time(), timezone.utc) if len(value) == 10
                      else datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise ValidationError(f'"{value}" is not an ISO date or date-time (2026-11-01, 2026-11-01T09:00:00Z)') from None
        # In UTC, as the log stores times: SQLite compares them as text, so +05:00 must not reach it.
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class FilterSchema(Schema):
    class Meta:
        unknown = RAISE

    # Identifiers, as a decision's are: a NUL or a zero-width space is a 422 naming the filter, not a
    # database error (PostgreSQL refuses NUL in text) counted as a failed write.
    agent_id = Identifier()
    customer_id = Identifier()
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    action = Identifier()
    policy = Identifier()
    rule = Identifier()
    since = _Instant(data_key="from")
    until = _Instant(data_key="to")

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if "since" in data and "until" in data and data["since"] >= data["until"]:
            raise ValidationError("must be later than from", "to")


class PageSchema(FilterSchema):
    cursor = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class ExportSchema(FilterSchema):
    format = fields.String(required=True, validate=validate.OneOf(["csv", "jsonl"]))
    excel_es = fields.Boolean(load_default=False)
    kind = fields.String(validate=validate.OneOf(ENTRY_KINDS), metadata={
        "description": "only entries of this kind (default: every entry of each selected decision)"})


def log_filter(args: dict[str, Any], privacy: PrivacySettings) -> LogFilter:
    """Validated query arguments as a store filter; a customer id is looked up as it was stored."""
    keys = ("agent_id", "customer_id", "outcome", "action", "policy", "rule", "since", "until")
    values = {k: args.get(k) for k in keys}
    values["customer_id"] = privacy.customer_ref(values["customer_id"])
    return LogFilter(**values)


# -- cursor pages ---------------------------------------------------------------------------------

def _filter_digest(where: LogFilter) -> str:
    return hashlib.sha256(repr(where).encode()).hexdigest()[:12]


def encode_cursor(seq: int, where: LogFilter) -> str:
    raw = json.dumps([seq, _filter_digest(where)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, where: LogFilter) -> int:
    """The seq a page continues below; a cursor from other filters (or edited) is refused."""
    try:
        seq, digest = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        valid = isinstance(seq, int) and seq > 0 and digest == _filter_digest(where)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise ValidationError({"cursor": ["not a cursor from a previous page with these same filters"]})
    return int(seq)


def page(store: DecisionStore, args: dict[str, Any], privacy: PrivacySettings) -> dict[str, Any]:
    """One page, newest first. Continuing below the last seq seen never skips or repeats an entry,
    because seq only grows and entries never change."""
    where = log_filter(args, privacy)
    before = decode_cursor(args["cursor"], where) if args.get("cursor") else None
    rows = store.page(where, before, args["limit"] + 1)
    more, rows = len(rows) > args["limit"], rows[: args["limit"]]
    items = [{**json.loads(r["response"]), "log": {"seq": r["seq"], "caller": r["caller"], "customer_id": r["customer_id"],
                                                   "masked": json.loads(r["masked"]), "hash": r["hash"]}} for r in rows]
    return {"items": items, "next_cursor": encode_cursor(rows[-1]["seq"], where) if more else None}


# -- exports ---------------------------------------------------------------------------------------

# The auditors' columns (docs/decision-log.md#exports): one row per entry; `action`, `amount`,
# `currency` and `unit` are the decision's proposal on each of its rows, so a spreadsheet can pivot by
# them; every amount says what it counts (`unit`, `granted_unit`), so days are never summed as money.
CSV_COLUMNS = ("seq", "decision_id", "kind", "entry_id", "created_at_utc", "caller", "agent_id", "customer_id",
               "outcome", "action", "amount", "currency", "unit", "approver_id", "verdict", "approved_amount",
               "granted_action", "granted_amount", "granted_currency", "granted_unit", "policy", "rules",
               "policy_revision", "masked", "hash")


class ActionUnits:
    """What each action's amounts count (money, days, count, flag) and the currency, as the policy
    revision that recorded an entry defined them: read from the log's own stored revisions, once per
    revision, so an export needs no live policies and a unit changed since does not rewrite the past."""

    def __init__(self, store: DecisionStore) -> None:
        self._store = store
        self._known: dict[str, tuple[str | None, dict[str, str]]] = {}

    def of(self, revision: str | None) -> tuple[str | None, dict[str, str]]:
        """(currency, {action: unit}) of `revision`; (None, {}) when the log does not hold it."""
        if not revision:
            return None, {}
        if revision not in self._known:
            stored = self._store.revision(revision)
            self._known[revision] = revision_units(stored["files"]) if stored is not None else (None, {})
        return self._known[revision]


def _unit(action: str | None, amount: Any, revision: str | None, answer: dict[str, Any],
          units: ActionUnits | None) -> tuple[str, str]:
    """(unit, currency) of an amount of `action`: currency only for money. From the revision that
    recorded it; without it, from the decision's answer (an option names its unit, money is a decimal
    string with the proposal's currency, a flag true or absent); an integer it cannot tell (days or a
    count) is an empty unit rather than a guess."""
    currency, known = units.of(revision) if units is not None else (None, {})
    unit = known.get(action or "") or next(
        (o.get("unit") for o in answer.get("options") or [] if o.get("action") == action), None)
    if unit is None:
        unit = "flag" if amount is None or isinstance(amount, bool) else "money" if isinstance(amount, str) else ""
    if unit != "money":
        return unit, ""
    return unit, currency or (answer.get("proposal") or {}).get("currency", "")


_FORMULA = re.compile(r"(^|[;,])([=+\-@\t\r])")


def neutralise(cell: str) -> str:
    """A spreadsheet would run `=HYPERLINK(...)` from an agent-typed id; a ' before it makes it text.

    Also after either separator: a comma CSV opened by a spreadsheet that splits on `;` (or the
    other way round) would start a new cell at `cu;=1+1`'s `=`."""
    return _FORMULA.sub(r"\1'\2", cell)


def spreadsheet_time(moment: datetime | str) -> str:
    """`2026-12-02 05:49:19`, in UTC: the form spreadsheets read as a date and time (ISO 8601's `T`,
    fraction and `Z` make them keep it as text); the column's name says the zone."""
    return as_utc(moment).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _quantity(value: Any, excel_es: bool) -> Any:
    """Money stays a decimal string (with a decimal comma for Spanish spreadsheets), a count an integer."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and excel_es:
        return value.replace(".", ",")
    return value


def csv_cells(row: dict[str, Any], excel_es: bool = False, units: ActionUnits | None = None) -> list[Any]:
    """One entry as CSV_COLUMNS: what it is, whose, what was proposed, and for an approval who decided
    what, for an outcome what was actually granted."""
    own = json.loads(row["response"])
    decision = own if row["kind"] == "decision" else json.loads(row["decision_response"] or "{}")
    proposal = decision.get("proposal") or {}
    action = proposal.get("action", row["action"] or "")
    unit, currency = _unit(action, proposal.get("amount"), decision.get("policy_revision"), decision, units)
    approver = verdict = approved = granted_action = granted_amount = None
    granted_unit = granted_currency = ""
    if row["kind"] == "approval":
        approver, verdict = (own.get("approver") or {}).get("id", row["agent_id"]), own.get("verdict")
        approved = own.get("amount") if verdict == "approve" else None
    elif row["kind"] == "outcome" and not own.get("declined"):
        granted_action, granted_amount = own.get("action"), own.get("amount")
        granted_unit, granted_currency = _unit(granted_action, granted_amount, row["policy_revision"], decision, units)
    return [row["seq"], row["decision_id"], row["kind"], row["id"], spreadsheet_time(row["created_at"]),
            row["caller"] or "", row["agent_id"] or "", row["customer_id"] or "", row["outcome"] or "",
            action, _quantity(proposal.get("amount"), excel_es), currency, unit,
            approver or "", verdict or "", _quantity(approved, excel_es),
            granted_action or "", _quantity(granted_amount, excel_es), granted_currency, granted_unit, row["policy"] or "",
            " ".join(json.loads(row["rules"])), row["policy_revision"], " ".join(json.loads(row["masked"])), row["hash"]]


def csv_export(rows: Iterable[dict[str, Any]], excel_es: bool = False, units: ActionUnits | None = None) -> Iterator[str]:
    """CSV text in chunks of one row. `excel_es`: `;` separators, decimal commas and a UTF-8 BOM, as a
    Spanish Excel opens it (with `,` and `.` it reads 120.00 as twelve thousand). `units` (the log's
    stored revisions) names days and counts, which the answers alone spell alike."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if excel_es else ",", lineterminator="\r\n")

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow(CSV_COLUMNS)
    yield ("\ufeff" if excel_es else "") + flush()
    for row in rows:
        writer.writerow([neutralise(c) if isinstance(c, str) else c for c in csv_cells(row, excel_es, units)])
        yield flush()


def jsonl_export(rows: Iterable[dict[str, Any]], units: ActionUnits | None = None) -> Iterator[str]:
    """One JSON object per line: the entry (its `kind` and `decision_id` included) with its request and
    response as documents, and `unit` and `currency` (null unless money) of the entry's `action` (an
    outcome's is the granted one); times stay ISO 8601 with microseconds, as the chain hashes them."""
    for row in rows:
        response = json.loads(row["response"])
        decision = response if row["kind"] == "decision" else json.loads(row["decision_response"] or "{}")
        amount = (response.get("proposal") or {}).get("amount") if row["kind"] == "decision" else response.get("amount")
        unit, currency = _unit(row["action"], amount, row["policy_revision"], decision, units)
        entry = {**row, "created_at": timestamp_text(row["created_at"]), "rules": json.loads(row["rules"]),
                 "masked": json.loads(row["masked"]), "request": json.loads(row["request"]), "response": response,
                 "unit": unit or None, "currency": currency or None}
        entry.pop("decision_response", None)
        yield json.dumps(entry, ensure_ascii=False) + "\n"


def export(store: DecisionStore, args: dict[str, Any], privacy: PrivacySettings) -> tuple[Iterator[str], str, str]:
    """An export for validated ExportSchema arguments (`rule` already resolved): its text in chunks of
    about 64 KiB, its media type and its file name. The API and the console stream the same one."""
    rows = store.stream(log_filter(args, privacy), args.get("kind"))
    units = ActionUnits(store)
    if args["format"] == "jsonl":
        return batched(jsonl_export(rows, units)), "application/x-ndjson", "decisions.jsonl"
    return batched(csv_export(rows, args["excel_es"], units)), "text/csv", "decisions.csv"


def batched(chunks: Iterator[str], size: int = 65536) -> Iterator[str]:
    """Rows joined into chunks of about `size` characters: one write (and one HTTP chunk) per 64 KiB
    rather than per row, and one progress beat each (serving/worker.py)."""
    pending: list[str] = []
    length = 0
    for chunk in chunks:
        pending.append(chunk)
        length += len(chunk)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)
