"""The simulator (docs/contract.md §9, `/console/simulator`): a proposal tried against the live policies,
answered as an agent would be, and recorded nowhere.

A face only: the form is built from the organisation (its agents, the built-in and declared fields of
customers and cases with their types and values, its actions with their units, its locales), turned
into the body POST /v1/decisions takes, and answered by service.simulation.simulate, the same call as
POST /v1/simulations; with a shadow candidate configured, the same call on it answers beside the live
one. A GET form: trying changes nothing, so a result survives a reload and needs no
token. `simulator_link` opens a logged decision's request in the form (a template global, so the
decision page can offer it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from policy_service.console.approvals import AmountError, amount_example, amount_input, amount_value
from policy_service.console.decision_log import action_words, amount_words, answer_words, in_words
from policy_service.console.pages import blueprint, console_page, locale, nav_entry, t
from policy_service.console.session import language, requires_console_role
from policy_service.deciding.words import label
from policy_service.model import PolicySet
from policy_service.model.conditions import All, Condition, Not, Test
from policy_service.model.conditions import Any as AnyOf
from policy_service.service.fields import list_fields
from policy_service.service.policy_overview import problem_list
from policy_service.service.simulation import simulate
from policy_service.web.state import service_state

nav_entry("console.simulator", "simulator", "policy_admin", "auditor")

FILLED_IN = {"agent.tier", "agent.team", "agent.kind"}  # the directory's, never the form's


@dataclass(frozen=True)
class FormField:
    path: str  # where it travels in a request body, and the input's name: case.attributes.days_late
    name: str  # as rules name it: case.days_late
    type: str  # string, integer, money, boolean, list
    values: tuple[str, ...] | None
    builtin: bool

    @property
    def control(self) -> str:
        return "f-" + self.path.replace(".", "-")


def form_fields(policy_set: PolicySet) -> list[FormField]:
    """The customer's and the case's fields a request may carry: their ids, then the organisation's own
    fields, built-in before declared (service.fields.list_fields' order)."""
    found = [FormField("customer.id", "customer.id", "string", None, True)]
    rows = [row for row in list_fields(policy_set) if row.request and row.name not in FILLED_IN
            and row.name.split(".")[0] in ("agent", "customer", "case")]
    found += [FormField(r.request or r.name, r.name, r.type, r.values, r.builtin) for r in rows if r.name.startswith("customer.")]
    found.append(FormField("case.id", "case.id", "string", None, True))
    found += [FormField(r.request or r.name, r.name, r.type, r.values, r.builtin) for r in rows if not r.name.startswith("customer.")]
    return found


def read_fields(policy_set: PolicySet) -> set[str]:
    """The fields an answer can depend on today: those the rules' conditions test, the order value when
    a rule caps at it, and the ids caps count by and cases are logged by."""
    found = {"customer.id", "case.id"}

    def walk(condition: Condition) -> None:
        if isinstance(condition, Test):
            found.add(condition.field)
        elif isinstance(condition, All | AnyOf):
            for item in condition.items:
                walk(item)
        elif isinstance(condition, Not):
            walk(condition.item)
    for rule in policy_set.rules:
        walk(rule.when)
        if rule.then.cap_at_order_value:
            found.add("case.order_value")
    return found


def customer_counted_actions(policy_set: PolicySet) -> list[str]:
    """Actions a per-customer cap counts: a proposal of one must name its customer (the API refuses it
    otherwise, deciding.request.require_countable_customer), so the form says so before it is sent."""
    counted = {action for cap in policy_set.caps if cap.per == "customer" for action in cap.actions}
    return [action for action in policy_set.organization.actions if action in counted]


def locale_name(code: str) -> str:
    """A locale as people name it in the page's language: "español (México)" for es-MX on a Spanish page."""
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name(locale().replace("-", "_")) or code
    except (ValueError, UnknownLocaleError):
        return code


@blueprint.app_template_global()
def field_words(name: str) -> str:
    """A field as people read it, "Nivel del cliente": the organisation's label (docs/authoring.md), else its id."""
    if name in ("customer.id", "case.id"):
        return t("sim_" + name.replace(".", "_"))
    org = service_state().runtime.policy_set.organization
    spec = org.fields.get(name)
    words = label(spec.label, locale(), org, "") if spec is not None else ""
    return words[:1].upper() + words[1:] if words else name


@blueprint.app_template_global()
def value_words(name: str, value: str) -> str:
    """One of a field's values as people read it ("oro" for gold), else as the requests write it."""
    org = service_state().runtime.policy_set.organization
    spec = org.fields.get(name)
    return label(spec.value_labels.get(value, {}), locale(), org, value) if spec is not None else value


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def _get(body: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(body, dict) or part not in body:
            return None
        body = body[part]
    return body


def typed_locale(args: Any) -> str:
    """The locale the form's amounts were typed in: the page's when it was sent (a hidden field), so
    switching the page's language or sharing the link never rereads "1.200" as 1.20 (owner trial)."""
    return str(args.get("typed_in", "")).strip() or locale()


def _typed(spec: FormField, args: Any, errors: dict[str, str]) -> Any:
    """One field as the API takes it, or None when left empty; a typed amount the page's locale does not
    read is an error here (the API's 422 would not name the locale)."""
    if spec.type == "list":
        chosen = [v.strip() for v in args.getlist(spec.path) for v in (v.split(",") if not spec.values else [v]) if v.strip()]
        return chosen or None
    typed = args.get(spec.path, "").strip()
    if not typed:
        return None
    if spec.type == "integer":
        return int(typed) if typed.isdigit() else typed
    if spec.type == "boolean":
        return {"true": True, "false": False}.get(typed, typed)
    if spec.type == "money":
        try:
            return amount_value(typed, "money", typed_locale(args))
        except AmountError:
            errors[spec.path] = t("amount_unreadable", typed=typed, example=amount_example())
    return typed


def request_body(args: Any, policy_set: PolicySet) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as a POST /v1/decisions body, and the problems found reading it (path -> words)."""
    org = policy_set.organization
    body: dict[str, Any] = {"agent": {"id": args.get("agent.id", "").strip()}}
    errors: dict[str, str] = {}
    for spec in form_fields(policy_set):
        value = _typed(spec, args, errors)
        if value is not None:
            _set(body, spec.path, value)
    action_id = args.get("proposal.action", "").strip()
    proposal: dict[str, Any] = {"action": action_id}
    action = org.actions.get(action_id)
    typed = args.get("proposal.amount", "").strip()
    if action is not None and typed:  # a flag action's amount goes too: the API refuses it, naming it
        if action.unit == "money":
            try:
                proposal["amount"] = amount_value(typed, "money", typed_locale(args))
                proposal["currency"] = org.currency
            except AmountError:
                errors["proposal.amount"] = t("amount_unreadable", typed=typed, example=amount_example())
        else:
            proposal["amount"] = int(typed) if typed.isdigit() else typed
    body["proposal"] = proposal
    if args.get("locale", "").strip():
        body["locale"] = args["locale"].strip()
    return body, errors


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, dict):
        found: dict[str, list[str]] = {}
        for key, inner in messages.items():
            found.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return found
    return {prefix or "_schema": [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]}


def _labels(policy_set: PolicySet) -> dict[str, str]:
    fixed = {"agent.id": t("agent"), "proposal.action": t("action"), "proposal.amount": t("amount"),
             "proposal.currency": t("amount"), "locale": t("sim_locale"), "_schema": t("proposal")}
    return {**{spec.path: field_words(spec.name) for spec in form_fields(policy_set)}, **fixed}


def _error_list(problems: dict[str, list[tuple[str, str]]], policy_set: PolicySet) -> list[dict[str, str]]:
    labels = _labels(policy_set)
    order = ["agent.id", "proposal.action", "proposal.amount", "locale", *[spec.path for spec in form_fields(policy_set)]]
    rank = {path: i for i, path in enumerate(order)}
    return [{"field": path, "id": "f-" + ("proposal.amount" if path == "proposal.currency" else path).replace(".", "-"),
             "label": labels.get(path, path), "message": words, "lang": lang}
            for path in sorted(problems, key=lambda p: rank.get(p, len(rank))) for words, lang in problems[path]]


def _answer_view(answer: dict[str, Any], policy_set: PolicySet) -> dict[str, Any]:
    """The simulation's answer in the page's words: labels and amounts as the decision page writes them."""
    org = policy_set.organization
    action = answer["proposal"]["action"]
    tier = answer["agent"]["tier"]
    return {
        "outcome": t(f"outcome_{answer['outcome']}"), "action": action_words(action),
        "amount": amount_words(action, answer["proposal"].get("amount")),
        "limit": amount_words(action, answer["limit"]) if answer.get("limit") is not None else t("limit_none"),
        "tier": label(org.tier(tier).label, locale(), org, tier) if tier in {x.id for x in org.tiers} else tier,
        **answer_words(answer),
    }


def _shadow_answer(body: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """The shadow candidate's answer to the same body, when one is configured and loaded; (None, True)
    when its schema refuses the body (the live answer stands, as in shadow mode)."""
    state = service_state()
    if state.shadow is None or state.shadow.runtime is None:
        return None, False
    try:
        return simulate(state.shadow.runtime, state.store, body, trusted_tier=False, privacy=state.privacy), False
    except ValidationError:
        return None, True


@blueprint.get("/simulator")
@requires_console_role("policy_admin", "auditor")
def simulator() -> Response:
    policy_set = service_state().runtime.policy_set
    org = policy_set.organization
    args = request.args
    answer, view = None, None
    problems: dict[str, list[tuple[str, str]]] = {}
    if args.get("run"):
        body, typed_errors = request_body(args, policy_set)
        state = service_state()
        try:  # an unreadable amount is left out, so every other field's problem is named at once too
            answer = simulate(state.runtime, state.store, body, trusted_tier=False, privacy=state.privacy)
        except ValidationError as exc:
            problems = {path: [(words, lang or "") for words, lang in map(in_words, messages)]
                        for path, messages in _flatten(exc.messages).items()}
        problems |= {path: [(words, "")] for path, words in typed_errors.items()}
        if problems:
            answer = None  # never an answer to a request other than the one typed
    # Amounts typed in another locale than the page's are shown again as the page writes them.
    shown: dict[str, str] = {}
    if typed_locale(args) != locale() and args.get("run"):  # `body` is the run's, read above
        money_paths = [spec.path for spec in form_fields(policy_set) if spec.type == "money"] + ["proposal.amount"]
        shown = {path: amount_input(_get(body, path), "money") for path in money_paths
                 if _get(body, path) is not None and (path != "proposal.amount" or "currency" in body["proposal"])}
    shadow, shadow_view, shadow_refused = None, None, False
    if answer is not None:
        view = _answer_view(answer, policy_set)
        shadow, shadow_refused = _shadow_answer(body)
        shadow_view = None if shadow is None else _answer_view(shadow, policy_set)
    errors = _error_list(problems, policy_set)
    field_errors: dict[str, list[dict[str, str]]] = {}
    for error in errors:
        field_errors.setdefault(error["id"], []).append(error)
    agents = sorted(policy_set.agents.values(), key=lambda a: (org.tier_rank(a.tier), a.id))
    candidate = service_state().shadow
    tiers = {tier.id: label(tier.label, locale(), org, tier.id) for tier in org.tiers}
    return console_page(
        "console/simulator.html", 400 if errors else 200,
        args=args, shown=shown, page_locale=locale(), fields=form_fields(policy_set), read_fields=read_fields(policy_set), errors=errors, field_errors=field_errors,
        agents=[(a.id, f"{a.name} ({a.id}) · {tiers.get(a.tier, a.tier)}") for a in agents],
        # A person first, unless the form names one: the lowest tier is often an AI assistant (owner trial).
        selected_agent=args.get("agent.id") or next((a.id for a in agents if a.kind != "ai"), agents[0].id if agents else ""),
        locale_names=[(code, f"{locale_name(code)} ({code})") for code in org.locales],
        actions=[(a.id, f"{action_words(a.id)} ({t('unit_' + a.unit)})") for a in org.actions.values()],
        currency=org.currency, amount_hint_example=amount_example("120"), answer=answer, view=view,
        customer_counted=", ".join(action_words(a) for a in customer_counted_actions(policy_set)),
        shadow=shadow, shadow_view=shadow_view, shadow_refused=shadow_refused,
        shadow_failing=problem_list(candidate.failing_tests, language()) if candidate is not None else (),
        from_decision=args.get("from", ""),
        masked_paths=[path for path in args.getlist("masked") if path],
        masked=[field_words(path.replace(".attributes.", ".")) for path in args.getlist("masked") if path])


@blueprint.app_template_global()
def simulator_link(logged: dict[str, Any], masked: tuple[str, ...] | list[str], decision_id: str) -> str:
    """The simulator with a logged decision's request filled in; masked fields stay blank and are named."""
    policy_set = service_state().runtime.policy_set
    org = policy_set.organization
    # `run`: the page answers at once, as the decision was answered (the owner trial had to press Simulate)
    query: list[tuple[str, str]] = [("from", decision_id), ("run", "1"), ("typed_in", locale())]
    query += [("masked", path) for path in masked]
    agent = _get(logged, "agent.id")
    if agent is not None and "agent.id" not in masked:
        query.append(("agent.id", str(agent)))
    for spec in form_fields(policy_set):
        value = _get(logged, spec.path)
        if value is None or spec.path in masked:  # the log keeps a mark, not the value
            continue
        if isinstance(value, list):
            query += [(spec.path, str(item)) for item in value]
        elif isinstance(value, bool):
            query.append((spec.path, "true" if value else "false"))
        else:
            query.append((spec.path, amount_input(value, "money") if spec.type == "money" else str(value)))
    action_id = _get(logged, "proposal.action")
    if action_id is not None:
        query.append(("proposal.action", str(action_id)))
        amount = _get(logged, "proposal.amount")
        action = org.actions.get(str(action_id))
        if amount is not None and action is not None:
            query.append(("proposal.amount", amount_input(amount, action.unit)))
    if _get(logged, "locale") is not None:
        query.append(("locale", str(logged["locale"])))
    values: dict[str, Any] = {}
    for name, value in query:
        values.setdefault(name, []).append(value)
    return url_for("console.simulator", **values)
