"""The Insights page (docs/contract.md §9, §10; `/console/insights`, policy_admin and auditor): the
report of service.insights as a page, with server-rendered SVG charts (escalation and approval rates
per action and tier, waits for a verdict), the recommendations with their evidence and candidate
line, each linked to its escalations in the decision log, and the dead ends.

A face only: the figures are service.insights.insights', the call GET /v1/insights and `policy-service
insights` make, so the three agree on a window. Charts are plain SVG built from those figures (no
script), each with a title and description, and the same numbers are in a table beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel.numbers import format_decimal, format_percent
from flask import request
from werkzeug.wrappers import Response

from policy_service.console.decision_log import action_words
from policy_service.console.impact import change_view, summary
from policy_service.console.pages import blueprint, console_page, locale, money, nav_entry, organization, t
from policy_service.console.session import current_user, requires_console_role
from policy_service.deciding.words import label
from policy_service.service.insights import insights
from policy_service.service.insights_advice import InsightSettings
from policy_service.service.insights_replay import replay_recommendation
from policy_service.service.replay import parse_since
from policy_service.web.state import service_state

nav_entry("console.insights_page", "insights", "policy_admin", "auditor")

BAR_WIDTH = 360  # px for 100 %
ROW = 22  # px per bar


@dataclass(frozen=True)
class Bar:
    y: int
    width: int
    value: str
    kind: str  # css class: escalated, approved, median, p90


@dataclass(frozen=True)
class BandChart:
    label: str
    y: int
    bars: tuple[Bar, ...]


def _share(value: float | None) -> str:
    return "—" if value is None else format_percent(value, locale=locale().replace("-", "_"), decimal_quantization=False)


def _tier_label(tier: str | None) -> str:
    org = organization()
    found = next((x for x in org.tiers if x.id == tier), None)
    return label(found.label, locale(), org, found.id) if found else (tier or "—")


def _band(row: dict[str, Any]) -> str:
    return f"{action_words(row['action'])} · {_tier_label(row['tier'])}"


def rate_chart(rows: list[dict[str, Any]]) -> tuple[list[BandChart], int]:
    """Two bars per band: decisions escalated, escalations approved (shares of 100 %)."""
    charts, y = [], 0
    for row in rows:
        escalated = row["outcomes"]["escalate"] / row["decisions"] if row["decisions"] else 0.0
        approved = row["approval_rate"]
        bars = (Bar(y + 18, round(BAR_WIDTH * escalated), _share(escalated), "escalated"),
                Bar(y + 18 + ROW, round(BAR_WIDTH * (approved or 0)), _share(approved), "approved"))
        charts.append(BandChart(_band(row), y + 12, bars))
        y += 18 + 2 * ROW + 10
    return charts, y


def wait_chart(rows: list[dict[str, Any]]) -> tuple[list[BandChart], int]:
    """Two bars per band with verdicts: median and p90 wait, scaled to the longest p90."""
    timed = [row for row in rows if row["wait_seconds"]["p90"] is not None]
    longest = max((row["wait_seconds"]["p90"] for row in timed), default=0) or 1
    charts, y = [], 0
    for row in timed:
        waits = row["wait_seconds"]
        bars = tuple(Bar(y + 18 + i * ROW, round(BAR_WIDTH * waits[key] / longest),
                         t("insights_minutes", n=format_decimal(round(waits[key] / 60, 1), locale=locale().replace("-", "_"))), key)
                     for i, key in enumerate(("median", "p90")))
        charts.append(BandChart(_band(row), y + 12, bars))
        y += 18 + 2 * ROW + 10
    return charts, y


@blueprint.get("/insights")
@requires_console_role("policy_admin", "auditor")
def insights_page() -> Response:
    asked = request.args.get("since", "").strip() or "90d"
    error = None
    try:
        since = parse_since(asked)
    except ValueError as exc:
        error, asked, since = str(exc), asked, parse_since("90d")
    state = service_state()
    report = insights(state.store, state.runtime.policy_set, InsightSettings(since))
    user = current_user()
    rates, rates_height = rate_chart(report["by_tier"])
    waits, waits_height = wait_chart(report["by_tier"])
    org = organization()
    recommendations = [{
        **rec, "action_words": action_words(rec["action"]), "tier_words": _tier_label(rec["tier"]),
        "current": money(rec["current_limit"], org.actions[rec["action"]].unit),
        "suggested": money(rec["suggested_limit"], org.actions[rec["action"]].unit),
        "released": money(rec["money_released"], org.actions[rec["action"]].unit),
        "rate": _share(rec["approval_rate"]),
        "log_query": {"action": rec["action"], "outcome": "escalate",
                      **({"from": report["since"][:10]} if report["since"] else {})},
        "replay_query": {"action": rec["action"], "tier": rec["tier"], "since": asked},
    } for rec in report["recommendations"]]
    rows = [{**row, "band": _band(row), "rate": _share(row["approval_rate"]),
             "lower": _share(row["approval_rate_lower_bound"]),
             "proposed": money(row["money"]["proposed"]), "granted": money(row["money"]["granted"])}
            for row in report["by_tier"]]
    dead_ends = [{**end, "action_words": action_words(end["action"])} for end in report["dead_ends"]]
    return console_page("console/insights.html", report=report, asked=asked, error=error, rows=rows,
                        rates=rates, rates_height=rates_height, waits=waits, waits_height=waits_height,
                        bar_width=BAR_WIDTH, recommendations=recommendations, dead_ends=dead_ends,
                        can_open=user is not None and user.has_any(("auditor",)))


@blueprint.get("/insights/replay")
@requires_console_role("policy_admin", "auditor")
def recommendation_replay() -> Response:
    """A recommendation's candidate replayed over the same window: the proof beside the advice. The
    recommendation is found again in the report (never built from the URL), so only the report's own
    candidate lines are ever written, into a temporary copy of the live files."""
    asked = request.args.get("since", "").strip() or "90d"
    try:
        since = parse_since(asked)
    except ValueError:
        return console_page("console/error.html", 400, title=t("insights"), body=t("impact_since_wrong", typed=asked))
    state = service_state()
    report = insights(state.store, state.runtime.policy_set, InsightSettings(since))
    rec = next((r for r in report["recommendations"]
                if r["action"] == request.args.get("action") and r["tier"] == request.args.get("tier")), None)
    if rec is None:
        return console_page("console/error.html", 404, title=t("insights"), body=t("insights_no_such_recommendation"))
    replayed = replay_recommendation(state.store, state.live.directory, rec, since)
    org = organization()
    user = current_user()
    unit = org.actions[rec["action"]].unit
    expected = rec["escalations_avoided"] + rec["pending_now_allowed"]
    became_allowed = replayed.transitions.get(("escalate", "allow"), 0)
    return console_page("console/insights_replay.html", rec=rec, asked=asked,
                        title_words=t("insights_raise", action=action_words(rec["action"]), tier=_tier_label(rec["tier"]),
                                      current=money(rec["current_limit"], unit), suggested=money(rec["suggested_limit"], unit)),
                        expected=expected, became_allowed=became_allowed,
                        summary=summary(replayed, org), changes=[change_view(c, org) for c in replayed.changes],
                        can_open=user is not None and user.has_any(("auditor",)))
