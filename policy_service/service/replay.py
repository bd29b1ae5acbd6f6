"""What-if replay: the logged decisions re-decided under a candidate policy directory, each
with the cap usage it saw, without writing anything.

The usage a decision saw is rebuilt from the budget ledger: the rows with a lower seq (committed
before it, since seq is assigned under the chain lock) inside each cap's window back from the
decision's time. That is the same question `budgets.usage_for` asked the database under the lock;
here it is asked of the ledger in memory, so a replay is a read of two tables and then pure CPU.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from babel import Locale
from babel.numbers import format_percent
from marshmallow import ValidationError

from policy_service.authoring.translations import translate
from policy_service.deciding.budgets import Budgets
from policy_service.deciding.request import parse_quantity
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.deciding.words import action_label, format_amount, format_money
from policy_service.decisionlog import DecisionStore, UsageQuestion
from policy_service.model import Organization, PolicySet
from policy_service.service.spelling import json_time, quantity_json


class HistoricalLedger:
    """Answers `usage()` as the ledger stood just before one decision (see `at`)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._by_subject: dict[tuple[str, str, str], list[tuple[int, datetime, int, int]]] = defaultdict(list)
        for seq, scope, subject, action, reserved_at, amount, count in rows:  # in seq order
            self._by_subject[(scope, subject, action)].append((seq, reserved_at, amount, count))
        self._before_seq = 0

    def at(self, seq: int) -> HistoricalLedger:
        self._before_seq = seq
        return self

    def usage(self, questions: Sequence[UsageQuestion]) -> list[tuple[int, int]]:
        return [self._used(*question) for question in questions]

    def _used(self, scope: str, subject: str, action: str, since: datetime) -> tuple[int, int]:
        rows = self._by_subject.get((scope, subject, action), ())
        end = bisect_left(rows, self._before_seq, key=lambda row: row[0])
        amount = count = 0
        for _, reserved_at, row_amount, row_count in rows[:end]:
            if reserved_at >= since:
                amount, count = amount + row_amount, count + row_count
        return amount, count


@dataclass(frozen=True)
class ChangedDecision:
    """One decision the candidate would decide differently: who proposed what, when, and what the
    outcome and the money the agent could grant without approval were and would be."""
    decision_id: str
    created_at: datetime
    agent_id: str | None
    action: str
    unit: str
    amount: int  # the proposal, in the action's unit (minor units for money; 1 for a flag)
    outcome_before: str
    outcome_after: str
    grantable_before: int | None  # money only (minor units); None for other units
    grantable_after: int | None

    def as_dict(self, org: Organization) -> dict[str, Any]:
        def money(minor: int | None) -> str | None:
            return None if minor is None else quantity_json("money", minor, org)
        return {"decision_id": self.decision_id, "created_at": json_time(self.created_at), "agent_id": self.agent_id,
                "action": self.action, "amount": quantity_json(self.unit, self.amount, org),
                "outcome": {"before": self.outcome_before, "after": self.outcome_after},
                "grantable_without_approval": {"before": money(self.grantable_before), "after": money(self.grantable_after)}}


@dataclass
class ReplayReport:
    candidate_revision: str
    decisions: int = 0
    changed: list[str] = field(default_factory=list)
    changes: list[ChangedDecision] = field(default_factory=list)  # the changed decisions, in log order
    not_replayable: dict[str, str] = field(default_factory=dict)  # id -> why
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    rule_changes: Counter[str] = field(default_factory=Counter)  # decisions where the rule's firing differs
    grantable_live: int = 0  # money agents could grant without approval (minor units)
    grantable_candidate: int = 0
    live_revisions: Counter[str] = field(default_factory=Counter)
    shadow_disagreements: int = 0

    def as_dict(self, policy_set: PolicySet) -> dict[str, Any]:
        org = policy_set.organization
        money = {"live": quantity_json("money", self.grantable_live, org),
                 "candidate": quantity_json("money", self.grantable_candidate, org),
                 "change": quantity_json("money", self.grantable_candidate - self.grantable_live, org)
                 if self.grantable_candidate >= self.grantable_live
                 else "-" + quantity_json("money", self.grantable_live - self.grantable_candidate, org)}
        return {
            "candidate_revision": self.candidate_revision, "decisions": self.decisions, "changed": len(self.changed),
            "transitions": [{"from": a, "to": b, "decisions": n} for (a, b), n in sorted(self.transitions.items())],
            "grantable_without_approval": money,
            "rules_changed_most": [{"rule": r, "decisions": n} for r, n in self.rule_changes.most_common(10)],
            "changed_decisions": self.changed,
            "changes": [change.as_dict(org) for change in self.changes],
            "not_replayable": self.not_replayable,
            "decided_under": dict(self.live_revisions),
            "shadow_disagreements_recorded": self.shadow_disagreements,
        }


def parse_since(text: str, now: datetime | None = None) -> datetime | None:
    """How far back a report looks: `30d` / `12h` (back from now, also as people write them: "30 días",
    "12 horas", "7 days"), an ISO date or date-time (UTC unless it says otherwise), or `all` / `todo`
    (None). ValueError names the accepted forms. Shared by `replay --since`, `insights --since`,
    GET /v1/insights?since= and the console's Impact and Insights pages."""
    text = text.strip()
    if text.lower() in ("all", "todo"):
        return None
    match = re.fullmatch(r"(\d{1,6})\s*(d|h|d[ií]as?|days?|horas?|hours?)", text.lower())
    if match:
        amount = int(match.group(1))
        step = timedelta(days=amount) if match.group(2)[0] == "d" else timedelta(hours=amount)
        try:
            return (now or datetime.now(timezone.utc)) - step
        except OverflowError:  # before year 1: no log is that old
            raise ValueError(f"{text!r} reaches back before the year 1; use 'all'") from None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r}: use 30d, 12h, an ISO date or 'all'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def replay(store: DecisionStore, candidate: PolicyRuntime, since: datetime | None) -> ReplayReport:
    rows, ledger_rows = store.replay_source(since)
    ledger = HistoricalLedger(ledger_rows)
    policy_set = candidate.policy_set
    report = ReplayReport(candidate.revision)
    for row in rows:
        report.decisions += 1
        live = json.loads(row["response"])
        report.live_revisions[live["policy_revision"]] += 1
        try:
            request = candidate.read(json.loads(row["request"]), trusted_tier=True)
        except ValidationError as error:  # masked before storage, or the candidate refuses the body
            report.not_replayable[row["id"]] = json.dumps(error.messages, ensure_ascii=False)
            continue
        evaluation = candidate.decide(request, Budgets(ledger.at(row["seq"]), row["customer_id"], row["created_at"]))
        unit = policy_set.organization.actions[evaluation.action].unit
        before = _grantable(live["limit"], evaluation.amount, policy_set) if unit == "money" else None
        after = min(evaluation.limit or 0, evaluation.amount) if unit == "money" else None
        if evaluation.outcome != live["outcome"]:  # a changed limit alone shows in the money figures
            report.changed.append(row["id"])
            report.changes.append(ChangedDecision(
                row["id"], row["created_at"], row["agent_id"], evaluation.action, unit, evaluation.amount,
                live["outcome"], evaluation.outcome, before, after))
            report.transitions[(live["outcome"], evaluation.outcome)] += 1
        for rule in set(json.loads(row["rules"])) ^ set(evaluation.fired):  # the log keeps every fired rule
            report.rule_changes[rule] += 1
        if before is not None and after is not None:
            report.grantable_live += before
            report.grantable_candidate += after
    report.shadow_disagreements = len(store.shadow_results(candidate.revision, since))
    return report


def _grantable(limit: str | None, amount: int, policy_set: PolicySet) -> int:
    """What the agent could grant of the proposed amount without approval, under the live decision."""
    return 0 if limit is None else min(parse_quantity(limit, "money", policy_set.organization), amount)


# Outcomes as the report's readers say them (the JSON keeps the contract's ids).
OUTCOME_WORDS = {"es": {"allow": "permitida", "escalate": "escalada", "handoff": "derivada", "deny": "denegada"},
                 "en": {"allow": "allowed", "escalate": "escalated", "handoff": "handed off", "deny": "denied"}}


def share_text(part: int, whole: int, locale: str) -> str:
    """A share with one decimal as the locale writes a percentage: "22,2 %" in es-ES, "22.2%" in en."""
    pattern = Locale.parse(locale.replace("-", "_")).percent_formats[None].pattern.replace("0%", "0.0%").replace("0\xa0%", "0.0\xa0%")
    return format_percent(part / whole, pattern, locale=locale.replace("-", "_"))


def render_text(report: ReplayReport, policy_set: PolicySet, locale: str, show_ids: int = 50, lang: str = "en") -> str:
    """The report for people: its words in `lang` (es, en), money as `locale` writes it."""
    org = policy_set.organization

    def money(minor: int) -> str:
        return format_money(minor, org.currency, org.minor_digits, locale)

    def say(text: str) -> str:
        return translate(text, lang)
    outcome = OUTCOME_WORDS.get(lang, OUTCOME_WORDS["en"])
    share = f" ({share_text(len(report.changed), report.decisions, locale)})" if report.decisions else ""
    replayed = "decision replayed" if report.decisions == 1 else "decisions replayed"
    lines = [say(f"candidate {report.candidate_revision}"),
             say(f"{report.decisions} {replayed}, {len(report.changed)} would change{share}")]
    if report.not_replayable:
        lines.append(say(f"{len(report.not_replayable)} could not be replayed (masked fields, or the candidate refuses "
                         f"the request): {', '.join(list(report.not_replayable)[:5])}"))
    if report.transitions:
        lines.append(say("outcome transitions:"))
        lines.extend(f"  {outcome.get(a, a):>10} → {outcome.get(b, b):<10} {n}" for (a, b), n in sorted(report.transitions.items()))
    delta = report.grantable_candidate - report.grantable_live
    sign = "+" if delta >= 0 else "-"
    lines.append(say(f"money agents could grant without approval: {money(report.grantable_live)} → "
                     f"{money(report.grantable_candidate)} ({sign}{money(abs(delta))})"))
    if report.rule_changes:
        lines.append(say("rules whose firing changed most:"))
        lines.extend(f"  {rule}: {n}" for rule, n in report.rule_changes.most_common(10))
    if report.shadow_disagreements:
        lines.append(say(f"shadow mode recorded {report.shadow_disagreements} live disagreements for this candidate"))
    if report.changes:
        lines.append(say("changed decisions (time UTC, agent, proposal, outcome, money grantable without approval):"))
        lines.extend(_change_line(change, org, locale, outcome) for change in report.changes[:show_ids])
        more = len(report.changes) - show_ids
        if more > 0:
            lines.append("  " + say(f"… and {more} more (--format json lists all)"))
    return "\n".join(lines)


def _change_line(change: ChangedDecision, org: Organization, locale: str, outcome: dict[str, str]) -> str:
    amount = format_amount(org, change.unit, change.amount, locale)
    action = action_label(org.actions[change.action], locale, org) if change.action in org.actions else change.action
    proposal = action if amount is None else f"{action} {amount}"
    money = "" if change.grantable_before is None or change.grantable_after is None else (
        f"  {format_amount(org, 'money', change.grantable_before, locale)} → "
        f"{format_amount(org, 'money', change.grantable_after, locale)}")
    return (f"  {change.decision_id}  {change.created_at.astimezone(timezone.utc):%Y-%m-%d %H:%M}  "
            f"{change.agent_id or '-'}  {proposal}  {outcome.get(change.outcome_before, change.outcome_before)} → "
            f"{outcome.get(change.outcome_after, change.outcome_after)}{money}")
