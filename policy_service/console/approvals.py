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
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from babel.dates import format_timedelta
from babel.numbers import get_decimal_symbol
from flask import current_app, flash, get_flashed_messages, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from policy_service.console.pages import blueprint, console_page, locale, money, nav_entry, organization, t
from policy_service.console.session import current_user, requires_console_role
from policy_service.deciding.words import action_label, label
from policy_service.errors import ConflictError, DecisionNotFoundError, FieldError, NotPermittedError
from policy_service.service.approvals import decide_approval
from policy_service.service.events import decision_with_events
from policy_service.service.inbox import InboxEntry, approval_inbox
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


def amount_value(typed: str, unit: str) -> str | None:
    """What a person typed as the amount to approve, in the API's spelling ("40,50" or "40.50" -> "40.50");
    None when left empty (the full amount)."""
    typed = typed.strip().replace(" ", "").replace("\u00a0", "")
    if not typed:
        return None
    if unit == "money" and "," in typed:
        typed = typed.replace(".", "").replace(",", ".")  # "1.234,50": the comma is the decimal mark
    return typed


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
        "rules": decision.get("rules") or [],
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
                        statuses=STATUSES, problem=problem, notices=notices, bound=user.agent,
                        refresh=REFRESH_SECONDS if status == "pending" else None)


@blueprint.get("/approvals")
@requires_console_role("approver")
def approvals() -> Response:
    status = request.args.get("status", "pending")
    return inbox_page(status if status in STATUSES else "pending")


@blueprint.post("/approvals/<decision_id>")
@requires_console_role("approver")
def decide(decision_id: str) -> Response:
    """One verdict from the inbox's forms, through decide_approval; back to the inbox with the result."""
    user = current_user()
    assert user is not None
    state = service_state()
    verdict = request.form.get("verdict")
    values = {name: request.form.get(name, "") for name in ("amount", "note", "approver")}  # shown again on a problem
    if verdict not in ("approve", "reject"):
        return inbox_page("pending", Problem(decision_id, 422, t("invalid_message", id=decision_id, reason=verdict or "—")))
    prefix = f"{verdict}-{decision_id}"
    missing = {}
    if verdict == "reject" and not values["note"].strip():
        missing[f"note-{decision_id}"] = t("reason_required")
    if user.agent is None and not values["approver"]:
        missing[f"approver-{prefix}"] = t("approver_required")
    if missing:
        return inbox_page("pending", Problem(decision_id, 422, next(iter(missing.values())), missing, values))
    body: dict[str, Any] = {"verdict": verdict}
    if user.agent is None:
        body["approver_id"] = values["approver"]
    if verdict == "reject":
        body["note"] = values["note"].strip()
    else:
        pending = next((e for e in approval_inbox(state.store, state.runtime.policy_set, user.scope, "pending",
                                                  datetime.now(timezone.utc)) if e.item["decision_id"] == decision_id), None)
        unit = organization().actions[pending.item["action"]].unit if pending and pending.item["action"] in organization().actions else "money"
        amount = amount_value(values["amount"], unit)
        if amount is not None and unit != "flag":
            body["amount"] = amount
    try:
        event = decide_approval(state.runtime, state.store, decision_id, body, caller=user.name, scope=user.scope)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        fields = {f"{_form_field(name)}-{decision_id}" if name != "approver_id" else f"approver-{prefix}": _first(text)
                  for name, text in messages.items()}
        return inbox_page("pending", Problem(decision_id, 422, t("invalid_message", id=decision_id,
                                                                 reason="; ".join(fields.values())), fields, values))
    except NotPermittedError as error:
        return inbox_page("pending", Problem(decision_id, 403, t("invalid_message", id=decision_id, reason=error.message),
                                             {f"{_form_field(error.field)}-{decision_id}": error.message}, values))
    except FieldError as error:
        return inbox_page("pending", Problem(decision_id, 422, t("invalid_message", id=decision_id, reason=error.message),
                                             {f"{_form_field(error.field)}-{decision_id}": error.message}, values))
    except DecisionNotFoundError as error:
        return inbox_page("pending", Problem(decision_id, 404, t("conflict_message", id=decision_id, reason=str(error))))
    except ConflictError as error:
        return inbox_page("pending", Problem(decision_id, 409, _conflict(decision_id, error)))
    decided = json.loads(event)
    if verdict == "approve":
        unit = organization().actions[decided["action"]].unit if decided["action"] in organization().actions else "money"
        message = (t("approved_flag_message", id=decision_id) if unit == "flag"
                   else t("approved_message", id=decision_id, amount=money(decided["amount"], unit)))
    else:
        message = t("rejected_message", id=decision_id)
    flash(message, "success")
    return redirect(url_for("console.approvals"), 303)


def _conflict(decision_id: str, error: ConflictError) -> str:
    """The API's 409 in the page's words: who decided it first, when that is why."""
    found = decision_with_events(service_state().store, decision_id)
    state = (found or {}).get("state") or {}
    if state.get("approval") in ("approved", "rejected"):
        return t("already_decided", id=decision_id, verdict=t(f"status_{state['approval']}"), approver=state.get("approver_id"))
    return t("conflict_message", id=decision_id, reason=str(error))


def _form_field(name: str) -> str:
    return {"amount": "amount", "note": "note", "approver_id": "approver"}.get(name, "amount")


def _first(messages: Any) -> str:
    if isinstance(messages, list):
        return "; ".join(str(m) for m in messages)
    if isinstance(messages, dict):
        return "; ".join(_first(v) for v in messages.values())
    return str(messages)

