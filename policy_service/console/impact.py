"""The Impact page (docs/contract.md §9, `/console/impact`, policy_admin and auditor): the shadow
candidate's replay report against the log, with the disagreements shadow mode has recorded so far.

A face only: the report is service.replay.replay's, the same call `policy-service replay --candidate`
makes, so the page and the command agree; the disagreements are service.shadow's. Without a candidate
the page says how to configure one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from werkzeug.wrappers import Response

from policy_service.console.decision_log import action_words
from policy_service.console.pages import blueprint, console_page, locale, nav_entry, t
from policy_service.console.session import current_user, language, requires_console_role
from policy_service.deciding.words import format_amount
from policy_service.model import Organization
from policy_service.service.policy_overview import problem_list
from policy_service.service.replay import ChangedDecision, ReplayReport, parse_since, replay, share_text
from policy_service.web.state import service_state

nav_entry("console.impact", "impact", "policy_admin", "auditor")

DEFAULT_SINCE = "all"  # the whole log, as docs/contract.md §9 has it (replay's own default is 30d)


@dataclass(frozen=True)
class ChangeView:
    change: ChangedDecision
    action: str
    amount: str
    outcome_before: str
    outcome_after: str
    money_before: str
    money_after: str


def outcome_words(outcome: str) -> str:
    return t("outcome_" + outcome) if outcome in ("allow", "escalate", "handoff", "deny") else outcome


def _money(org: Organization, minor: int | None, unit: str = "money") -> str:
    return "—" if minor is None else (format_amount(org, unit, minor, locale()) or "—")


def change_view(change: ChangedDecision, org: Organization) -> ChangeView:
    return ChangeView(change, action_words(change.action), _money(org, change.amount, change.unit),
                      outcome_words(change.outcome_before), outcome_words(change.outcome_after),
                      _money(org, change.grantable_before), _money(org, change.grantable_after))


def summary(report: ReplayReport, org: Organization) -> dict[str, Any]:
    """The report's totals as the page writes them: counts, transitions in words, the money line."""
    delta = report.grantable_candidate - report.grantable_live
    return {"decisions": report.decisions, "changed": len(report.changed),
            "share": share_text(len(report.changed), report.decisions, locale()) if report.decisions else None,
            "not_replayable": len(report.not_replayable),
            "transitions": [(outcome_words(a), outcome_words(b), n) for (a, b), n in sorted(report.transitions.items())],
            "money_before": _money(org, report.grantable_live), "money_after": _money(org, report.grantable_candidate),
            "money_change": ("+" if delta >= 0 else "-") + _money(org, abs(delta))}


@blueprint.get("/impact")
@requires_console_role("policy_admin", "auditor")
def impact() -> Response:
    state = service_state()
    shadow = state.shadow
    # How far back, as `policy-service replay --since` takes it, so the page and the command agree.
    since_text = request.args.get("since", "").strip() or DEFAULT_SINCE
    if shadow is None or shadow.runtime is None:
        return console_page("console/impact.html", shadow=shadow, report=None, since=since_text)
    try:
        since = parse_since(since_text)
    except ValueError:
        errors = [{"id": "f-since", "label": t("impact_since"), "message": t("impact_since_wrong", typed=since_text)}]
        return console_page("console/impact.html", 400, shadow=shadow, report=None, since=since_text, errors=errors,
                            failing_tests=problem_list(shadow.failing_tests, language()))
    report = replay(state.store, shadow.runtime, since)
    user = current_user()
    can_open = user is not None and user.has_any(("auditor",))  # a decision's page is the auditor's
    org = shadow.runtime.policy_set.organization
    disagreements = [{**row, "live_words": outcome_words(row["live_outcome"]),
                      "candidate_words": outcome_words(row["candidate_outcome"])} for row in shadow.disagreements(since)]
    return console_page("console/impact.html", shadow=shadow, report=report, summary=summary(report, org),
                        changes=[change_view(change, org) for change in report.changes], disagreements=disagreements,
                        can_open=can_open, since=since_text, failing_tests=problem_list(shadow.failing_tests, language()))
