"""The approvals inbox (docs/contract.md §9), `/console/approvals` for approvers: the pending escalations
this key may decide, oldest first, each with its age, an overdue mark and the request in context, with
"Aprobar" (in full or a smaller amount) and "Rechazar" (a reason required); the approved and rejected
history one tab away.

A face only: the list comes from service.inbox and a verdict goes through
service.approvals.decide_approval, the same pipeline as POST /v1/decisions/{id}/approval, so the
agent's tool then reads `state.approval` through the API. The service's refusals become messages on
the page (409: decided elsewhere), never a failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from babel.dates import format_timedelta
from babel.numbers import NumberFormatError, format_decimal, get_decimal_symbol, parse_decimal
from flask import current_app, flash, get_flashed_messages, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from policy_service.console.pages import blueprint, console_page, locale, money, nav_entry, organization, person, t
from policy_service.console.session import current_user, requires_console_role
from policy_service.console.texts import TEXTS
from policy_service.deciding.words import action_label, label
from policy_service.errors import ConflictError, DecisionNotFoundError, FieldError, NotPermittedError
from policy_service.service.approvals import decide_approval
from policy_service.service.events import decision_with_events
from policy_service.service.evidence import held_back_rules
from policy_service.service.inbox import InboxEntry, approval_inbox
from policy_service.service.rule_words import rule_sentence
from policy_service.web.state import service_state

STATUSES = ("pending", "approved", "rejected")
REFRESH_SECONDS = 30

nav_entry("console.approvals", "approvals", "approver")


@dataclass
class Problem:
    """What went wrong with one item's form: a message for the page and the fields to mark."""
    decision_id: str
    status: int
    message: str
    fields: dict[str, str] = field(default_factory=dict)  # form field id -> message
    values: dict[str, str] = field(default_factory=dict)  # what was typed, shown again


def age(seconds: int) -> str:
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=locale().replace("-", "_"))


def amount_input(amount_text: Any, unit: str) -> str:
    """An amount as the approve form shows it: "40,00" in Spanish, "40.00" in English, no grouping."""
    if unit != "money":
        return str(amount_text)
    return str(amount_text).replace(".", get_decimal_symbol(locale().replace("-", "_")))


class AmountError(ValueError):
    """A typed amount the page's locale does not read one way only ("80.25" on a Spanish page)."""


def amount_value(typed: str, unit: str, locale_id: str = "es") -> str | None:
    """What a person typed as the amount to approve, read as the page's locale writes numbers, in the API's
    spelling ("2.000" in es -> "2000", "40,50" -> "40.50"); None when left empty (the full amount).

    Strict: a grouping mark in the wrong place ("80.25" in es) is refused, never reread as something else,
    since a misread amount is money approved that nobody meant."""
    typed = typed.strip().replace("\u00a0", " ").replace("\u202f", " ")
    if not typed:
        return None
    if unit != "money":
        return typed
    try:
        value = parse_decimal(typed, locale=locale_id.replace("-", "_"), strict=True)
    except NumberFormatError:
        raise AmountError(typed) from None
    if not value.is_finite():
        raise AmountError(typed)
    return format(value, "f")


def amount_example(value: str = "1234.50") -> str:
    """An amount as the page's locale writes it in the organisation's currency, grouped: "1.234,50" in
    es for euros, "1.234" for Colombian pesos, which have no cents (a second trial)."""
    digits = organization().minor_digits
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(value).quantize(Decimal(1).scaleb(-digits)), format=pattern, locale=locale().replace("-", "_"))


def _view(entry: InboxEntry, now: datetime) -> dict[str, Any]:
    """One escalation in the page's words: labels, formatted amounts, why it escalated."""
    org, policy_set = organization(), service_state().runtime.policy_set
    loc = locale()
    item, decision = entry.item, entry.decision or {}
    action = org.actions.get(item["action"])
    unit = action.unit if action else "money"
    agent = policy_set.agents.get(item["agent_id"] or "")
    tier = decision.get("escalation") or {}
    caps = {cap.key: cap for policy in policy_set.policies for cap in policy.caps}
    rules = {rule.key: rule for rule in policy_set.rules}
    overdue_after = int(current_app.config.get("APPROVAL_OVERDUE_MINUTES", 15)) * 60
    user = current_user()
    opens = user is not None and user.has_any(("auditor",)) and "console.decision" in current_app.view_functions
    return {
        "id": item["decision_id"],
        "link": url_for("console.decision", decision_id=item["decision_id"]) if opens else None,  # the auditors' page
        "item": item,
        "decision": decision,
        "unit": unit,
        "action": action_label(action, loc, org) if action else item["action"],
        "agent": f"{agent.name} ({agent.id})" if agent else item["agent_id"],
        "agent_tier": label(org.tier(agent.tier).label, loc, org, agent.tier) if agent else None,
        "to_tier": tier.get("label") or item["to_tier"],
        "amount": money(item["amount"], unit),
        "amount_input": amount_input(item["amount"], unit),
        "limit": money(decision.get("limit"), unit) if decision.get("limit") is not None else None,
        "over_limit": _over_limit(item["amount"], decision.get("limit"), unit),
        "age": age(item["waited_seconds"]),
        "overdue": item["status"] == "pending" and item["waited_seconds"] >= overdue_after,
        # the rules that held it back, in words (not those that only raised a limit: owner trial)
        "rules": [rule_sentence(rules[key], policy_set, loc) if key in rules else key
                  for key in (held_back_rules(service_state().store, decision) if decision else [])],
        "binding_caps": [label(caps[c["id"]].label, loc, org, c["id"]) if c["id"] in caps else c["id"]
                         for c in decision.get("caps") or [] if c.get("binding")],
        "caps": [{"name": label(caps[c["id"]].label, loc, org, c["id"]) if c["id"] in caps else c["id"],
                  "remaining": money(c["remaining"], unit) if c.get("remaining") is not None else None,
                  "remaining_count": c.get("remaining_count"), "binding": c.get("binding")}
                 for c in decision.get("caps") or []],
        "options": [{"action": action_label(org.actions[o["action"]], loc, org) if o["action"] in org.actions else o["action"],
                     "max": None if o.get("unit") == "flag" else money(o["max"], o.get("unit", "money"))}
                    for o in decision.get("options") or []],
        "say": decision.get("say") or [],
        "approvers": [{"id": a, "name": policy_set.agents[a].name,
                       "tier": label(org.tier(policy_set.agents[a].tier).label, loc, org, policy_set.agents[a].tier)}
                      for a in entry.approvers],
        "approved_amount": money(item["approved_amount"], unit) if item.get("approved_amount") is not None else None,
        "approver": person(item.get("approver_id")),
        "note": next((e.get("note") for e in decision.get("events", []) if e.get("kind") == "approval"), None),
    }


def _over_limit(amount: Any, limit: Any, unit: str) -> bool:
    if limit is None or unit == "flag":
        return False
    try:
        return float(amount) > float(limit)
    except (TypeError, ValueError):
        return False


def inbox_page(status: str, problem: Problem | None = None) -> Response:
    user = current_user()
    assert user is not None  # requires_console_role
    now = datetime.now(timezone.utc)
    state = service_state()
    entries = approval_inbox(state.store, state.runtime.policy_set, user.scope, status, now)
    items = [_view(entry, now) for entry in entries]
    notices = get_flashed_messages(with_categories=True)
    return console_page("console/approvals.html", problem.status if problem else 200, items=items, status=status,
                        statuses=STATUSES, problem=problem, notices=notices,
                        bound=person(user.agent) if user.agent else None,
                        # A page answering a form must not reload itself: a reload would send the form again.
                        refresh=REFRESH_SECONDS if status == "pending" and request.method == "GET" else None)


@blueprint.get("/approvals")
@requires_console_role("approver")
def approvals() -> Response:
    status = request.args.get("status", "pending")
    return inbox_page(status if status in STATUSES else "pending")


@blueprint.get("/approvals/<decision_id>")
@requires_console_role("approver")
def decide_opened(decision_id: str) -> Response:
    """The action URL opened (a bookmark, a reload of an error page): the inbox, never the API's 405."""
    return redirect(url_for("console.approvals") + f"#decision-{decision_id}", 303)


@blueprint.post("/approvals/<decision_id>")
@requires_console_role("approver")
def decide(decision_id: str) -> Response:
    """One verdict from the inbox's forms, through decide_approval; back to the inbox with the result."""
    user = current_user()
    assert user is not None
    state = service_state()
    org = organization()
    verdict = request.form.get("verdict")
    values = {name: request.form.get(name, "") for name in ("amount", "note", "approver")}  # shown again on a problem
    if verdict not in ("approve", "reject"):
        return inbox_page("pending", Problem(decision_id, 422, t("invalid_message", id=decision_id, reason=verdict or "—")))
    prefix = f"{verdict}-{decision_id}"
    pending = next((e for e in approval_inbox(state.store, state.runtime.policy_set, user.scope, "pending",
                                              datetime.now(timezone.utc)) if e.item["decision_id"] == decision_id), None)
    unit = org.actions[pending.item["action"]].unit if pending and pending.item["action"] in org.actions else "money"
    where = Fields(decision_id, prefix, bound=user.agent is not None, unit=unit)
    missing = {}
    if verdict == "reject" and not values["note"].strip():
        missing[where.of("note")] = t("reason_required")
    if user.agent is None and not values["approver"]:
        missing[where.of("approver_id")] = t("approver_required")
    body: dict[str, Any] = {"verdict": verdict}
    if verdict == "approve" and unit != "flag":
        try:
            amount = amount_value(values["amount"], unit, locale())
        except AmountError:
            missing[where.of("amount")] = t("amount_unreadable", typed=values["amount"].strip(), example=amount_example())
        else:
            if amount is not None:
                body["amount"] = amount
    if missing:
        return inbox_page("pending", Problem(decision_id, 422, next(iter(missing.values())), missing, values))
    if user.agent is None:
        body["approver_id"] = values["approver"]
    if verdict == "reject":
        body["note"] = values["note"].strip()
    try:
        event = decide_approval(state.runtime, state.store, decision_id, body, caller=user.name, scope=user.scope)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        fields = {where.of(name): refusal_words(_first(text), pending) for name, text in messages.items()}
        return inbox_page("pending", Problem(decision_id, 422, t("invalid_message", id=decision_id,
                                                                 reason="; ".join(fields.values())), fields, values))
    except (NotPermittedError, FieldError) as error:
        words = refusal_words(error.message, pending)
        return inbox_page("pending", Problem(decision_id, 403 if isinstance(error, NotPermittedError) else 422,
                                             t("invalid_message", id=decision_id, reason=words),
                                             {where.of(error.field): words}, values))
    except DecisionNotFoundError:
        return inbox_page("pending", Problem(decision_id, 404, t("conflict_message", id=decision_id,
                                                                 reason=t("refusal_not_found"))))
    except ConflictError as error:
        return inbox_page("pending", Problem(decision_id, 409, _conflict(decision_id, error, pending)))
    decided = json.loads(event)
    customer = (pending.item.get("customer_id") if pending else None) or "—"
    action = org.actions.get(decided["action"])
    what = action_label(action, locale(), org) if action else decided["action"]
    if verdict == "approve":
        unit = action.unit if action else "money"
        message = (t("approved_flag_message", id=decision_id, action=what, customer=customer) if unit == "flag"
                   else t("approved_message", id=decision_id, action=what, customer=customer,
                          amount=money(decided["amount"], unit)))
    else:
        message = t("rejected_message", id=decision_id, action=what, customer=customer)
    flash(message, "success")
    return redirect(url_for("console.approvals"), 303)


@dataclass(frozen=True)
class Fields:
    """Where on the page a field's message goes: the id of a control that exists for this user and item
    (a bound approver has no approver list; a yes/no action has no amount), else the item's card."""
    decision_id: str
    prefix: str
    bound: bool
    unit: str

    def of(self, name: str | None) -> str:
        if name == "note":
            return f"note-{self.decision_id}"
        if name == "approver_id" and not self.bound:
            return f"approver-{self.prefix}"
        if name == "amount" and self.unit != "flag" and self.prefix.startswith("approve-"):
            return f"amount-{self.decision_id}"
        return f"decision-{self.decision_id}"


# What decide_approval says (in English, for programs), as words for the page: each known refusal's
# parts fill a console text; one not listed here is shown as it is.
REFUSALS = (
    (re.compile(r"an approval may lower the proposed amount, not raise it or make it zero$"), "refusal_amount_not_lower"),
    (re.compile(r'must be (?:an amount: )?a decimal string such as "120\.00".*$'), "refusal_amount_format"),
    (re.compile(r"(?P<approver>\S+) is (?P<tier>\S+); this escalation needs (?P<needed>\S+) or above$"), "refusal_tier"),
    (re.compile(r"(?P<approver>\S+)'s own limit and caps cover (?P<limit>\S+) of (?P<action>\S+) here, not (?P<amount>\S+)$"),
     "refusal_own_limit"),
    (re.compile(r'unknown agent "(?P<approver>[^"]*)"$'), "refusal_unknown_approver"),
    (re.compile(r"decision \S+ was (?P<outcome>\w+), not escalated: nothing awaits approval$"), "refusal_not_escalated"),
    (re.compile(r"an outcome is already recorded for decision \S+: nothing awaits approval$"), "refusal_outcome_recorded"),
    (re.compile(r"the stored request cannot be decided again.*$", re.S), "refusal_masked"),
    (re.compile(r"Missing data for required field\.$"), "refusal_required"),
)


def refusal_words(message: str, pending: InboxEntry | None = None) -> str:
    """A refusal of decide_approval in the page's language; one not known is shown as the service said it."""
    org = organization()
    unit = "money"
    if pending is not None and pending.item["action"] in org.actions:
        unit = org.actions[pending.item["action"]].unit
    for pattern, key in REFUSALS:
        found = pattern.match(message)
        if not found:
            continue
        parts = dict(found.groupdict())
        for tier in ("tier", "needed"):
            if tier in parts and parts[tier] in {x.id for x in org.tiers}:
                parts[tier] = label(org.tier(parts[tier]).label, locale(), org, parts[tier])
        if "approver" in parts:
            parts["approver"] = person(parts["approver"])
        if "action" in parts and parts["action"] in org.actions:
            unit = org.actions[parts["action"]].unit
            parts["action"] = action_label(org.actions[parts["action"]], locale(), org)
        for amount in ("limit", "amount"):
            if amount in parts:
                parts[amount] = money(parts[amount], unit) if parts[amount] != "nothing" else t("no_limit")
        if "outcome" in parts:
            parts["outcome"] = t(f"outcome_{parts['outcome']}") if f"outcome_{parts['outcome']}" in TEXTS else parts["outcome"]
        if pending is not None:
            parts.setdefault("proposed", money(pending.item["amount"], unit))
        return t(key, **{"proposed": "—", **parts})
    return message


def _conflict(decision_id: str, error: ConflictError, pending: InboxEntry | None) -> str:
    """The API's 409 in the page's words: who decided it first, when that is why."""
    found = decision_with_events(service_state().store, decision_id)
    state = (found or {}).get("state") or {}
    if state.get("approval") in ("approved", "rejected"):
        return t("already_decided", id=decision_id, verdict=t(f"status_{state['approval']}"),
                 approver=person(state.get("approver_id")))
    return t("conflict_message", id=decision_id, reason=refusal_words(str(error), pending))


def _first(messages: Any) -> str:
    if isinstance(messages, list):
        return "; ".join(str(m) for m in messages)
    if isinstance(messages, dict):
        return "; ".join(_first(v) for v in messages.values())
    return str(messages)

