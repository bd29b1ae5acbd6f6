"""What the console's Policies page shows (docs/contract.md §9): the live revision and when it went live,
each policy with its rules in words beside their YAML from the live set's own files, and the reload
history with each refused attempt's positioned diagnostics in the page's language.

The matrix is service.matrix's and the passages are service.passages': this module only gathers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from policy_service.authoring.diagnostics import Diagnostic
from policy_service.authoring.translations import translate
from policy_service.deciding.words import action_label, label
from policy_service.decisionlog import DecisionStore
from policy_service.model import PolicySet
from policy_service.service.passages import Passage, rule_passages
from policy_service.service.rule_words import rule_sentence

__all__ = ["PolicyView", "ReloadAttempt", "RuleView", "Problem", "policy_views", "problem_list", "reload_history"]


@dataclass(frozen=True)
class RuleView:
    key: str  # policy/rule
    line: int
    words: str  # the rule as a sentence in the page's language
    say: str | None  # the rule's own words to the customer, in that language, when it has them
    yaml: Passage | None  # its lines in the live revision's file (None when the file is shown whole)


@dataclass(frozen=True)
class PolicyView:
    id: str
    description: str
    owner: str
    file: str
    actions: tuple[str, ...]  # labels in the page's language
    rules: tuple[RuleView, ...]
    text: str  # the whole file, for a file whose rules could not be cut apart


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    severity: str
    code: str
    message: str
    hint: str | None


@dataclass(frozen=True)
class ReloadAttempt:
    at: datetime
    source: str
    caller: str | None
    ok: bool
    revision: str | None  # the revision it made live; a refused one's is what stayed live
    problems: tuple[Problem, ...]


def policy_views(policy_set: PolicySet, locale: str) -> list[PolicyView]:
    """Every live policy, its rules in file order, each in words and as its own YAML lines."""
    org = policy_set.organization
    passages = rule_passages(policy_set.files)
    views = []
    for policy in policy_set.policies:
        rules = tuple(RuleView(rule.key, rule.line, rule_sentence(rule, policy_set, locale),
                               label(rule.then.say, locale, org, "") or None, passages.get(rule.key))
                      for rule in policy.rules)
        actions = tuple(action_label(org.actions[a], locale, org) if a in org.actions else a for a in policy.actions)
        views.append(PolicyView(policy.id, policy.description, policy.owner, policy.file, actions, rules,
                                policy_set.files.get(policy.file, "")))
    return views


def reload_history(store: DecisionStore, lang: str, limit: int = 20) -> list[ReloadAttempt]:
    """The newest reload attempts, newest first; a refused one's problems sorted by position, in `lang`."""
    attempts = []
    for row in store.reload_history(limit):
        problems = sorted((_problem(d, lang) for d in row["diagnostics"]), key=lambda p: (p.file, p.line, p.column))
        attempts.append(ReloadAttempt(row["at"], row["source"], row["caller"], bool(row["ok"]), row["revision"],
                                      tuple(problems)))
    return attempts


def problem_list(diagnostics: Iterable[Diagnostic], lang: str) -> tuple[Problem, ...]:
    """Diagnostics (a candidate's failing cases, say) as the pages show them, in `lang`, by position."""
    return tuple(sorted((_problem(asdict(d), lang) for d in diagnostics), key=lambda p: (p.file, p.line, p.column)))


def _problem(data: dict[str, Any], lang: str) -> Problem:
    hint = data.get("hint")
    return Problem(str(data.get("file", "")), int(data.get("line", 0)), int(data.get("column", 0)),
                   str(data.get("severity", "error")), str(data.get("code", "")),
                   translate(str(data.get("message", "")), lang), translate(str(hint), lang) if hint else None)
