"""The auditors' pages (docs/contract.md §9): the decision log with the API's filters, cursor pages and
exports (`/console/decisions`), one decision as evidence (`/console/decisions/<id>`), a stored policy
revision with every rule anchored (`/console/revisions/<revision>`), and verifying the chain
(`/console/audit`).

A face only: every question goes through service.auditing, service.evidence and service.passages, the
same schemas, rule resolution, pages, exports and verify as the JSON API; this module turns a form
into their arguments and their answers into words for the page.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import request, stream_with_context, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from policy_service.console.pages import blueprint, console_page, locale, money, nav_entry, organization, t
from policy_service.console.session import requires_console_role
from policy_service.deciding.words import action_label, label
from policy_service.service.auditing import log_export, log_page, verify_log
from policy_service.service.evidence import decision_evidence
from policy_service.service.passages import stored_revision
from policy_service.service.rule_words import rule_sentence
from policy_service.web.state import service_state

FILTERS = ("agent_id", "customer_id", "outcome", "action", "policy", "rule", "from", "to")
OUTCOMES = ("allow", "escalate", "handoff", "deny")
LOG_ARGS = (*FILTERS, "agent_other", "cursor", "limit", "back")  # a page of the log, as its URL gives it
FIRST_PAGE = "~"  # in `back`, the first page (it has no cursor); never a character of a cursor
EXPORTS = (("log_export_csv", {"format": "csv"}), ("log_export_excel", {"format": "csv", "excel_es": "true"}),
           ("log_export_jsonl", {"format": "jsonl"}))
# In the form's order, which the error summary follows.
FIELD_LABELS = {"agent_id": "log_agent", "customer_id": "log_customer_id", "outcome": "log_outcome", "action": "action",
                "policy": "log_policy", "rule": "log_rule", "from": "log_from", "to": "log_to", "cursor": "log_cursor",
                "limit": "log_limit", "anchor": "audit_anchors"}

# What the API's schemas and rule resolution say (in English, for programs), as words for the page: each
# known message's parts fill a console text; one not listed here is shown as it is, marked English.
MESSAGES = (
    (re.compile(r'no live policy has a rule "(?P<rule>[^"]*)"(?:; did you mean "(?P<hint>[^"]*)"\?)?$'), "error_rule_unknown"),
    (re.compile(r'no live policy has the rule "(?P<rule>[^"]*)" and no logged decision fired it'
                r'(?:; did you mean "(?P<hint>[^"]*)"\?)?$'), "error_rule_unlogged"),
    (re.compile(r'"(?P<rule>[^"]*)" is a rule of \d+ policies \((?P<policies>[^)]*)\): give it as policy/rule$'),
     "error_rule_ambiguous"),
    (re.compile(r"Must be one of: (?P<values>.*)\.$"), "error_one_of"),
    (re.compile(r'"(?P<value>.*)" is not an ISO date or date-time .*$'), "error_date"),
    (re.compile(r"must be later than from$"), "error_to_after_from"),
    (re.compile(r"must not contain control or invisible characters \(found (?P<char>U\+[0-9A-F]+)\)$"), "error_invisible"),
    (re.compile(r'an anchor is "SEQ:HASH" as `audit verify` prints it, not "(?P<value>.*)"$'), "error_anchor"),
    (re.compile(r"not a cursor from a previous page with these same filters$"), "log_bad_cursor"),
    (re.compile(r"Must be greater than or equal to (?P<low>\d+) and less than or equal to (?P<high>\d+)\.$"), "error_range"),
    (re.compile(r"Not a valid integer\.$"), "error_integer"),
    (re.compile(r"required for (?P<action>\S+): the per-customer cap (?P<caps>.+) counts it against the customer$"),
     "error_customer_counted"),
    # A decision request's own checks (deciding/request.py), as the simulator shows them.
    (re.compile(r"must be a whole number$"), "error_integer"),
    (re.compile(r'must be (?:an amount: )?a decimal string such as "120\.00".*$'), "error_amount"),
    (re.compile(r"must not be negative$"), "error_negative"),
    (re.compile(r"required for a \w+ action$"), "error_amount_required"),
    (re.compile(r"zero is not a proposal$"), "error_zero"),
    (re.compile(r"a flag proposal carries no amount$"), "error_flag_amount"),
    (re.compile(r"has more decimals than (?P<currency>[A-Z]{3}) allows \((?P<digits>\d+)\)$"), "error_decimals"),
    (re.compile(r"must be (?P<currency>[A-Z]{3}), the organisation's currency$"), "error_currency"),
    (re.compile(r'unknown agent "(?P<agent>[^"]*)": not in the agent directory$'), "error_unknown_agent"),
    (re.compile(r"must be true or false$"), "error_boolean"),
)


# What verify_log says about the first problem (`detail`, English for programs), as words for the page.
DETAILS = (
    (re.compile(r"entry (?P<first>\d+) missing: the log jumps from seq (?P<before>\d+) to (?P<after>\d+)$"), "detail_missing_one"),
    (re.compile(r"entries (?P<first>\d+) to (?P<last>\d+) missing: the log jumps from seq (?P<before>\d+) to (?P<after>\d+)$"),
     "detail_missing_many"),
    (re.compile(r"entry (?P<seq>\d+) \((?P<id>[^)]*)\) was not written with the log key: forged by someone without it$"),
     "detail_forged"),
    (re.compile(r"entry (?P<seq>\d+) \((?P<id>[^)]*)\) was edited: its content no longer gives its hash$"), "detail_edited"),
    (re.compile(r"entry (?P<seq>\d+) \((?P<id>[^)]*)\) does not follow entry (?P<previous>\d+): one of them was inserted, "
                r"replaced or re-hashed$"), "detail_not_following"),
    (re.compile(r"entry (?P<seq>\d+) \((?P<id>[^)]*)\) differs from the anchor noted for it$"), "detail_anchor"),
    (re.compile(r"entry (?P<first>\d+) is anchored but the log ends at seq (?P<last>\d+): entries were deleted from its end$"),
     "detail_truncated"),
    (re.compile(r"the rule index of entry (?P<seq>\d+) does not match its chained rules (?P<rules>.*)$"), "detail_rule_index"),
    (re.compile(r"budget rows at entry (?P<seq>\d+) name decisions (?P<names>.*), not (?P<id>\S+)$"), "detail_budget_names"),
    (re.compile(r"entry (?P<seq>\d+) granted (?P<action>\S+) but its budget rows are missing$"), "detail_budget_missing"),
    (re.compile(r"the approval request of escalated decision (?P<id>\S+) is missing or moved$"), "detail_approval_missing"),
    (re.compile(r"rule rows at seq (?P<seq>\d+) belong to no chained entry$"), "detail_rule_rows"),
    (re.compile(r"budget rows at seq (?P<seq>\d+) belong to no chained entry$"), "detail_budget_rows"),
    (re.compile(r"an approval request for (?P<id>\S+) belongs to no escalated decision$"), "detail_orphan_approval"),
    (re.compile(r"policy revision (?P<revision>\S+) was edited: its files no longer give its hash$"), "detail_revision_edited"),
)


def in_words(message: str, known: tuple[tuple[re.Pattern[str], str], ...] = MESSAGES) -> tuple[str, str | None]:
    """(the message in the page's language, None) when it is a known one; else (it as given, "en")."""
    for pattern, key in known:
        found = pattern.match(message)
        if found:
            parts = {name: value or "" for name, value in found.groupdict().items()}
            if "action" in parts:  # ids the message names, in the organisation's words
                parts["action"] = action_words(parts["action"])
            if "caps" in parts:
                parts["caps"] = ", ".join(cap_label(key) or key for key in parts["caps"].split(", "))
            if "hint" in parts:
                return t(key + ("_hint" if parts["hint"] else ""), **parts), None
            return t(key, **parts), None
    return message, "en"


nav_entry("console.decisions", "log_decisions", "auditor")
nav_entry("console.audit", "audit", "auditor")


# -- the log --------------------------------------------------------------------------------------

def _filters() -> dict[str, str]:
    """The filters as the form sent them; an agent id typed in `agent_other` stands before the list's."""
    values = {name: request.args.get(name, "").strip() for name in FILTERS}
    other = request.args.get("agent_other", "").strip()
    if other:
        values["agent_id"] = other
    return values


def _errors(error: ValidationError, agent_typed: bool) -> list[dict[str, str]]:
    """Each wrong field with the form control its message stands beside (the error summary links there)."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    found = []
    for name, texts in sorted(messages.items(), key=lambda item: list(FIELD_LABELS).index(item[0])
                              if item[0] in FIELD_LABELS else len(FIELD_LABELS)):
        target = "agent_other" if name == "agent_id" and agent_typed else name
        for message in texts if isinstance(texts, list) else [str(texts)]:
            words, lang = in_words(message)
            found.append({"field": name, "id": f"f-{target}", "message": words, "lang": lang or "",
                          "label": t(FIELD_LABELS[name]) if name in FIELD_LABELS else name})
    return found


def _by_control(errors: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for error in errors:
        found.setdefault(error["id"], []).append(error)
    return found


def action_words(action_id: str | None) -> str:
    """An action by its label in the page's locale (its id when the live organisation lacks it)."""
    org = organization()
    if action_id is None:
        return "—"
    return action_label(org.actions[action_id], locale(), org) if action_id in org.actions else action_id


def amount_words(action_id: str | None, amount: Any) -> str:
    """An amount of `action_id`'s unit as the page's locale writes it."""
    action = organization().actions.get(action_id or "")
    return money(amount, action.unit if action is not None else "money")


def state_words(state: dict[str, Any], action_id: str | None) -> list[str]:
    """Where a decision stands now (its `state`), in words: approval first, then what was granted."""
    words = []
    if state.get("approval") == "approved":
        words.append(t("state_approved", amount=amount_words(action_id, state.get("approved_amount"))))
    elif state.get("approval") in ("pending", "rejected"):
        words.append(t(f"state_{state['approval']}"))
    if state.get("outcome") == "granted" and state.get("granted"):
        granted = state["granted"]
        words.append(t("state_granted", action=action_words(granted["action"]), amount=amount_words(granted["action"], granted["amount"])))
    elif state.get("outcome") == "declined":
        words.append(t("state_declined"))
    return words


def _row(item: dict[str, Any]) -> dict[str, Any]:
    action = item["proposal"]["action"]
    return {"id": item["decision_id"], "created_at": item["created_at"], "agent": item["agent"]["id"],
            "customer": item["log"]["customer_id"], "action": action_words(action),
            "amount": amount_words(action, item["proposal"].get("amount")), "outcome": t(f"outcome_{item['outcome']}"),
            "state": state_words(item["state"], action)}


def _pages(filters: dict[str, str], next_cursor: str | None) -> dict[str, str | None]:
    """Links to the next and previous pages: `back` carries the cursors of the pages before this one,
    since a cursor only continues downwards (the log's pages are positions in seq)."""
    kept = _given(filters)
    if request.args.get("limit"):
        kept["limit"] = request.args["limit"]
    cursor = request.args.get("cursor") or FIRST_PAGE
    back = [c for c in request.args.get("back", "").split(".") if c]
    links: dict[str, str | None] = {"next": None, "previous": None, "first": None}
    if next_cursor:
        links["next"] = _link("console.decisions", {**kept, "cursor": next_cursor, "back": ".".join([*back, cursor])})
    if back:
        previous, rest = back[-1], back[:-1]
        links["previous"] = _link("console.decisions", {**kept, **({} if previous == FIRST_PAGE else {"cursor": previous}),
                                                         **({"back": ".".join(rest)} if rest else {})})
    if cursor != FIRST_PAGE:
        links["first"] = _link("console.decisions", kept)
    return links


def _log_query() -> str:
    """This page of the log (its filters and place) as a query, carried to a decision so "Back to the log"
    returns to it."""
    return urlencode([(name, request.args[name]) for name in LOG_ARGS if request.args.get(name)])


def _back_to_log(query: str) -> str:
    """The log with the filters a decision was opened from: only the log's own arguments, on the log's own
    path, so the link can go nowhere else."""
    kept = [(name, value) for name, value in parse_qsl(query) if name in LOG_ARGS and value]
    return url_for("console.decisions") + (f"?{urlencode(kept)}" if kept else "")


def _given(filters: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in filters.items() if value}


def _link(endpoint: str, args: dict[str, str]) -> str:
    """A console URL with these query arguments (`from` and `to` are no Python names, hence a dict)."""
    values: dict[str, Any] = dict(args)
    return url_for(endpoint, **values)


@blueprint.get("/decisions")
@requires_console_role("auditor")
def decisions() -> Response:
    filters = _filters()
    paging = {name: request.args[name] for name in ("cursor", "limit") if request.args.get(name)}
    state = service_state()
    policy_set = state.runtime.policy_set
    errors: list[dict[str, str]] = []
    try:
        listed = log_page(state.store, {**filters, **paging}, policy_set, state.privacy)
    except ValidationError as exc:
        listed, errors = {"items": [], "next_cursor": None}, _errors(exc, bool(request.args.get("agent_other", "").strip()))
    org = policy_set.organization
    agents = sorted(policy_set.agents.values(), key=lambda a: a.id)
    in_directory = filters["agent_id"] in policy_set.agents
    exports = [] if errors else [
        {"label": key, "url": _link("console.decisions_export", {**_given(filters), **extra})}
        for key, extra in EXPORTS]
    return console_page(
        "console/decisions.html", 400 if errors else 200,
        filters=filters, errors=errors, field_errors=_by_control(errors),
        agent_choice=filters["agent_id"] if in_directory else "", agent_other="" if in_directory else filters["agent_id"],
        agents=agents, outcomes=[(o, t(f"outcome_{o}")) for o in OUTCOMES],
        actions=[(a, action_words(a)) for a in org.actions], policies=[p.id for p in policy_set.policies],
        rows=[_row(item) for item in listed["items"]], pages=_pages(filters, listed["next_cursor"]), exports=exports,
        log_query=_log_query())


@blueprint.get("/decisions/export")
@requires_console_role("auditor")
def decisions_export() -> Response:
    """The API's export (GET /v1/decisions/export) under the console's session, streamed the same way."""
    query = {**_filters(), **{name: request.args[name] for name in ("format", "excel_es", "kind") if request.args.get(name)}}
    query.setdefault("format", "csv")
    state = service_state()
    try:
        chunks, mimetype, name = log_export(state.store, query, state.runtime.policy_set, state.privacy)
    except ValidationError:
        return decisions()  # the list shows what is wrong with the filters, beside each field
    if query.get("excel_es") in ("true", "1") and name.endswith(".csv"):
        name = name.removesuffix(".csv") + "-excel-es.csv"  # two downloads, two names: neither replaces the other
    return Response(stream_with_context(chunks), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- one decision ---------------------------------------------------------------------------------

def _event(event: dict[str, Any], action_id: str | None) -> dict[str, Any]:
    if event["kind"] == "approval":
        approve = event.get("verdict") == "approve"
        what = t("verdict_approve", amount=amount_words(action_id, event.get("amount"))) if approve else t("verdict_reject")
        who = (event.get("approver") or {}).get("id")
    elif event.get("declined"):
        what, who = t("outcome_declined"), None
    else:
        what = t("state_granted", action=action_words(event.get("action")), amount=amount_words(event.get("action"), event.get("amount")))
        who = None
    return {"kind": t(f"event_{event['kind']}"), "created_at": event["created_at"], "who": who, "what": what,
            "note": event.get("note")}


@blueprint.get("/decisions/<decision_id>")
@requires_console_role("auditor")
def decision(decision_id: str) -> Response:
    evidence = decision_evidence(service_state().store, decision_id)
    if evidence is None:
        return console_page("console/error.html", 404, title=t("not_found_title"), body=t("decision_not_found", id=decision_id))
    policy_set = service_state().runtime.policy_set
    org = policy_set.organization
    answer = evidence.decision
    action = answer["proposal"]["action"]
    tier = answer["agent"].get("tier")
    agent = policy_set.agents.get(answer["agent"]["id"] or "")
    escalation = answer.get("escalation")
    to_tier = escalation["to_tier"] if escalation else None
    binding = [c["id"] for c in answer.get("caps", []) if c.get("binding")]
    # Escalated with no rule requiring a tier and no cap in the way: the amount is over the agent's limit.
    over_limit = (answer["outcome"] == "escalate" and answer.get("limit") is not None and not binding
                  and not any("require_tier" in (r.passage.effects if r.passage else ()) for r in evidence.rules))
    return console_page(
        "console/decision.html", evidence=evidence, answer=answer, action=action_words(action),
        amount=amount_words(action, answer["proposal"].get("amount")),
        limit=amount_words(action, answer["limit"]) if answer.get("limit") is not None else t("limit_none"),
        outcome=t(f"outcome_{answer['outcome']}"), state=state_words(answer["state"], action),
        agent_name=agent.name if agent else None,
        tier=label(org.tier(tier).label, locale(), org, tier) if tier and tier in {x.id for x in org.tiers} else tier,
        to_tier=to_tier, **answer_words(answer), back_to_log=_back_to_log(request.args.get("log", "")),
        over_limit=over_limit, binding=binding,
        rules=[{"key": r.key, "passage": r.passage, "held_back": r.held_back,
                "sentence": rule_sentence(r.rule, evidence.policy_set, locale()) if r.rule and evidence.policy_set else None}
               for r in evidence.rules],
        events=[_event(e, action) for e in answer.get("events", [])],
        request_json=_pretty(evidence.request), caller=evidence.entries[0].caller)


@blueprint.app_template_global()
def rule_example() -> str:
    """A rule id of the live policies, for the filter's hint (an example from another organisation confused a trial)."""
    rules = service_state().runtime.policy_set.rules
    return rules[0].id if rules else "—"


def answer_words(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer's options and caps in the page's words (labels, amounts for the locale), as
    templates/console/_answer.html shows them on the decision page and in the simulator."""
    action = answer["proposal"]["action"]
    org = organization()
    escalation = answer.get("escalation") or {}
    to_tier = escalation.get("to_tier")
    # The tier in the page's language (the answer's label is in the customer's locale: "Gerente" on an
    # English page, owner trial).
    tier_words = (label(org.tier(to_tier).label, locale(), org, to_tier) if to_tier in {t.id for t in org.tiers}
                  else escalation.get("label") or to_tier)
    return {"escalation_tier": tier_words,
            "options": [{**o, "label": action_words(o["action"]), "max": amount_words(o["action"], o.get("max"))}
                        for o in answer.get("options", [])],
            "caps": [{**c, "name": cap_label(c["id"]), "remaining": amount_words(action, c.get("remaining"))}
                     for c in answer.get("caps", [])]}


def cap_label(cap_id: str) -> str | None:
    """The cap's label when the live policies give it one ("Compensación diaria del cliente")."""
    policy_set = service_state().runtime.policy_set
    for policy in policy_set.policies:
        for cap in policy.caps:
            if cap.key == cap_id and cap.label:
                return label(cap.label, locale(), policy_set.organization, cap_id)
    return None


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


# -- a stored revision ----------------------------------------------------------------------------

@blueprint.get("/revisions/<revision>")
@requires_console_role()
def revision(revision: str) -> Response:
    """Any signed-in role, as GET /v1/policies/revisions/{revision}: the files, each rule anchored."""
    stored = stored_revision(service_state().store, revision)
    if stored is None:
        return console_page("console/error.html", 404, title=t("not_found_title"),
                            body=t("revision_not_found", revision=revision))
    return console_page("console/revision.html", stored=stored)


# -- verify the chain -----------------------------------------------------------------------------

@blueprint.get("/audit")
@requires_console_role("auditor")
def audit() -> Response:
    """A GET form: verifying reads and changes nothing, so the result survives a reload and needs no token."""
    anchors_text = request.args.get("anchors", "")
    if not request.args.get("run"):
        return console_page("console/audit.html", report=None, anchors=anchors_text, errors=[])
    try:
        # A long log keeps its serving worker told it advances, as GET /v1/audit/verify does (serving/worker.py
        # puts the beat in the environ; web.operations.still_alive reads it there for the API).
        beat = request.environ.get("policy_service.alive") or (lambda: None)
        report = verify_log(service_state().store, [line for line in anchors_text.splitlines() if line.strip()], beat)
    except ValidationError as exc:
        return console_page("console/audit.html", 400, report=None, anchors=anchors_text, errors=_errors(exc, False))
    problem = report["problem"]
    words = None
    detail: tuple[str, str | None] = ("", None)
    if problem is not None:
        words = t(f"problem_{problem['kind'].replace('-', '_')}", seq=problem["seq"])
        detail = in_words(problem["detail"], DETAILS)
    return console_page("console/audit.html", report=report, problem_words=words, detail=detail[0],
                        detail_lang=detail[1] or "", anchors=anchors_text, errors=[])
