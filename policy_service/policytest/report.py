"""Printing policy test results: a text report for people, JUnit XML for CI systems."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree

from policy_service.authoring.translations import translate
from policy_service.policytest.runner import CaseResult


def render_results(results: Iterable[CaseResult], lang: str = "en") -> str:
    results = list(results)
    lines = []
    for result in results:
        mark = translate("PASS" if result.passed else "FAIL", lang)
        lines.append(f"{mark} {result.case.suite}:{result.case.line} {result.case.name}")
        if not result.passed and result.actual is None:
            lines.extend(f"     {translate(failure, lang)}" for failure in result.failures)
        elif not result.passed:  # `rules:` asks what fired, so that is what its column shows
            decided = {**(result.actual or {}), "rules": list(result.fired)}
            lines.extend(side_by_side(result.case.expect, decided, result.failures, lang))
    passed = sum(1 for r in results if r.passed)
    lines.append(translate(f"{passed} passed, {len(results) - passed} failed", lang))
    return "\n".join(lines)


def _actual_for(key: str, actual: dict[str, Any]) -> Any:
    if key == "to_tier":
        return (actual.get("escalation") or {}).get("to_tier")
    if key == "handoff":
        return (actual.get("handoff") or {}).get("team")
    if key == "say_contains":
        return actual.get("say")
    if key == "options":
        return [{k: o[k] for k in ("action", "max") if k in o} for o in actual.get("options", [])]
    return actual.get(key)


def side_by_side(expect: dict[str, Any], actual: dict[str, Any], failures: list[str], lang: str = "en") -> list[str]:
    """Each asserted field with what was expected and what the policies decided, in two columns;
    the fields that failed are marked."""
    failed = {failure.split(":", 1)[0] for failure in failures}
    rows = [("", translate("expected", lang), translate("actual", lang))]
    for key, wanted in expect.items():
        mark = "✗ " if key in failed else "  "
        rows.append((mark + key, _show(wanted), _show(_actual_for(key, actual))))
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    return [f"     {a.ljust(width[0])}  {b.ljust(width[1])}  {c}".rstrip() for a, b, c in rows]


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def junit_xml(results: Iterable[CaseResult]) -> str:
    results = list(results)
    suites = ElementTree.Element("testsuites")
    by_suite: dict[str, list[CaseResult]] = {}
    for result in results:
        by_suite.setdefault(result.case.suite, []).append(result)
    for name, items in by_suite.items():
        suite = ElementTree.SubElement(suites, "testsuite", name=name, tests=str(len(items)),
                                       failures=str(sum(1 for r in items if not r.passed)))
        for result in items:
            case = ElementTree.SubElement(suite, "testcase", classname=name, name=result.case.name)
            if not result.passed:
                failure = ElementTree.SubElement(case, "failure", message=result.failures[0])
                failure.text = "\n".join(result.failures)
    return ElementTree.tostring(suites, encoding="unicode")
