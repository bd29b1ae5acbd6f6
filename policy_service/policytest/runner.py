"""Policy test suites (`*_test.yaml`, docs/contract.md §3.4): collect cases, run them, report results as data.

Running and printing are separate (as in OPA): the CLI prints results, the pytest plugin turns each
case into a pytest item, and both run cases through `run_case`, i.e. through `PolicyRuntime.decide`,
the same path the HTTP API takes. Tests never read the decision log: cap usage comes from `usage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from policy_service.authoring.diagnostics import Diagnostic
from policy_service.authoring.loader import read_documents
from policy_service.authoring.source import SourceFile
from policy_service.deciding.budgets import Budgets
from policy_service.deciding.request import parse_quantity, parse_whole
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.model import PolicySet
from policy_service.policytest.checks import case_problems, positioned
from policy_service.service.spelling import decision_body


@dataclass(frozen=True)
class TestCase:
    suite: str  # file name
    policy: str
    name: str
    request: dict[str, Any]
    expect: dict[str, Any]
    line: int

    @property
    def id(self) -> str:
        return f"{self.suite}::{self.name}"


@dataclass
class CaseResult:
    case: TestCase
    failures: list[str] = field(default_factory=list)
    actual: dict[str, Any] | None = None
    usage_given: frozenset[str] = frozenset()  # caps the case gave prior usage for (coverage)
    fired: tuple[str, ...] = ()  # every rule that fired, also those the answer does not name

    @property
    def passed(self) -> bool:
        return not self.failures


def collect_cases(directory: Path, policy_set: PolicySet) -> tuple[list[TestCase], list[Diagnostic]]:
    documents, problems = read_documents(directory, tests=True)
    cases: list[TestCase] = []
    for source, kind, data in documents:
        if kind != "PolicyTest":
            problems.append(source.diagnostic(("kind",), "PS002", f"a *_test.yaml file holds a PolicyTest, not {kind}"))
            continue
        if policy_set.policy(data["policy"]) is None:
            problems.append(source.diagnostic(("policy",), "PS016", f'unknown policy "{data["policy"]}"'))
            continue
        for index, case in enumerate(data["cases"]):
            problems.extend(positioned(source, index, case_problems(case, data["policy"], policy_set)))
            line, _ = source.at(("cases", index))
            cases.append(TestCase(source.name, data["policy"], case["name"], case["request"], case["expect"], line))
        problems.extend(_duplicate_names(source, data))
    return cases, problems


def _duplicate_names(source: SourceFile, data: dict[str, Any]) -> list[Diagnostic]:
    seen: set[str] = set()
    problems = []
    for index, case in enumerate(data["cases"]):
        if case["name"] in seen:
            problems.append(source.diagnostic(("cases", index, "name"), "PS011", f'test case "{case["name"]}" is defined twice'))
        seen.add(case["name"])
    return problems


def run_case(runtime: PolicyRuntime, case: TestCase) -> CaseResult:
    result = CaseResult(case)
    body = dict(case.request)
    usage_data = body.pop("usage", {}) or {}
    problems = case_problems({"request": case.request}, case.policy, runtime.policy_set)
    if problems:  # in words, at the case's own paths: what `validate` reports with positions
        result.failures.extend(problem.describe() for problem in problems)
        return result
    try:
        usage = _usage(usage_data, case.policy, runtime.policy_set)
        request = runtime.read(body, trusted_tier=True)
    except ValidationError as error:
        result.failures.append(f"the request is invalid: {error.messages}")
        return result
    result.usage_given = frozenset(usage)
    evaluation = runtime.decide(request, Budgets.assuming(usage))
    actual = decision_body(evaluation, runtime.policy_set.organization, runtime.revision, "test", datetime.now(timezone.utc),
                           request.agent_id)
    result.actual, result.fired = actual, evaluation.fired
    result.failures = compare(case.expect, actual, case.policy, fired=evaluation.fired)
    return result


def _usage(data: dict[str, Any], policy_id: str, policy_set: PolicySet) -> dict[str, tuple[int, int]]:
    caps = {cap.key: cap for cap in policy_set.caps}
    usage = {}
    for cap_id, used in data.items():
        key = cap_id if "/" in cap_id else f"{policy_id}/{cap_id}"
        if key not in caps:
            raise ValidationError({"usage": {cap_id: ["unknown cap"]}})
        unit = policy_set.organization.actions[caps[key].actions[0]].unit
        amount = used.get("amount", 0)
        usage[key] = (parse_quantity(amount, unit, policy_set.organization),
                      parse_whole(used.get("count", 0)))
    return usage


def compare(expect: dict[str, Any], actual: dict[str, Any], policy_id: str, fired: Sequence[str] | None = None) -> list[str]:
    """What `expect` asserts and `actual` does not satisfy; an empty list means the case passed.

    `rules` asks which rules fired (docs/contract.md §3.4): every fired rule counts, also one that did not shape
    this answer (`fired`; by default the answer's own `rules`)."""
    failures = []
    if "outcome" in expect and expect["outcome"] != actual["outcome"]:
        failures.append(f"outcome: expected {expect['outcome']}, got {actual['outcome']}")
    if "to_tier" in expect:
        got = actual["escalation"]["to_tier"] if actual["escalation"] else None
        if expect["to_tier"] != got:
            failures.append(f"to_tier: expected {expect['to_tier']}, got {got}")
    if "handoff" in expect:
        got = actual["handoff"]["team"] if actual["handoff"] else None
        if expect["handoff"] != got:
            failures.append(f"handoff: expected {expect['handoff']}, got {got}")
    for wanted in expect.get("options", []):
        if not any(_option_matches(wanted, option) for option in actual["options"]):
            failures.append(f"options: expected one matching {wanted}, got {actual['options']}")
    for rule in expect.get("rules", []):
        key = rule if "/" in rule else f"{policy_id}/{rule}"
        if key not in (actual["rules"] if fired is None else fired):
            failures.append(f"rules: expected {key} to fire, fired {list(actual['rules'] if fired is None else fired)}")
    wanted_texts = expect.get("say_contains", [])
    for text in [wanted_texts] if isinstance(wanted_texts, str) else wanted_texts:
        if not any(_spaces(text) in _spaces(said) for said in actual["say"]):
            failures.append(f"say_contains: no sentence contains {text!r}; said {actual['say']}")
    return failures


def _spaces(text: str) -> str:
    """CLDR puts no-break spaces in "40,00 €"; a policy owner types a plain one. Both match."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def _option_matches(wanted: dict[str, Any], option: dict[str, Any]) -> bool:
    return all(_same_value(value, option.get(key)) for key, value in wanted.items())


def _same_value(expected: Any, actual: Any) -> bool:
    """Numbers compare by value, so 40 matches "40.00" and 112.5 matches "112.50"."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected == actual)
    try:
        return Decimal(str(expected)) == Decimal(str(actual))
    except ArithmeticError:
        return bool(expected == actual)


def run_suites(directory: Path, runtime: PolicyRuntime) -> tuple[list[CaseResult], list[Diagnostic]]:
    cases, problems = collect_cases(directory, runtime.policy_set)
    return [run_case(runtime, case) for case in cases], problems
