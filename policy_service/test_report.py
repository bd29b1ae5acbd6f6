"""Printing policy test results: a text report for people, JUnit XML for CI systems."""

from __future__ import annotations

import json
from typing import Iterable
from xml.etree import ElementTree

from .testing import CaseResult


def render_results(results: Iterable[CaseResult]) -> str:
    results = list(results)
    lines = []
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        lines.append(f"{mark} {result.case.suite}:{result.case.line} {result.case.name}")
        for failure in result.failures:
            lines.append(f"     {failure}")
        if not result.passed and result.actual is not None:
            summary = {k: result.actual[k] for k in ("outcome", "escalation", "handoff", "options", "rules")}
            lines.append("     actual: " + json.dumps(summary, ensure_ascii=False))
    passed = sum(1 for r in results if r.passed)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(lines)


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
