"""Every case of every `*_test.yaml` under a collected folder becomes a pytest item.

Registered as a pytest11 entry point, so `pytest` in a project with a policies/ folder runs the policy
suites beside the code's own tests, through the same runner as `policy-service test`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policy_service.authoring.loader import is_test_file
from policy_service.errors import PolicyCaseError

_RUNTIMES: dict[Path, Any] = {}


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if is_test_file(file_path):
        return PolicySuite.from_parent(parent, path=file_path)
    return None


def _policy_root(path: Path) -> Path:
    """The folder holding the Organization file: the suite's policy set."""
    for folder in [path.parent, *path.parents]:
        if any("kind: Organization" in p.read_text(encoding="utf-8") for p in folder.glob("*.yaml")):
            return folder
    return path.parent


class PolicySuite(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from policy_service.authoring.diagnostics import render_text
        from policy_service.policytest.runner import collect_cases
        from policy_service.service.reloading import load_runtime

        root = _policy_root(self.path)
        if root not in _RUNTIMES:
            _RUNTIMES[root] = load_runtime(root)
        runtime, result = _RUNTIMES[root]
        if runtime is None:
            raise pytest.fail(f"policies in {root} do not load:\n{render_text(result.diagnostics)}", pytrace=False)
        cases, problems = collect_cases(root, runtime.policy_set)
        mine = self.path.relative_to(root).as_posix()
        errors = [p for p in problems if p.file == mine]
        if errors:
            raise pytest.fail(render_text(errors), pytrace=False)
        for case in cases:
            if case.suite == mine:
                yield PolicyCase.from_parent(self, name=case.name, runtime=runtime, case=case)


class PolicyCase(pytest.Item):
    def __init__(self, *, runtime: Any, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime, self.case = runtime, case

    def runtest(self) -> None:
        from policy_service.policytest.runner import run_case

        result = run_case(self.runtime, self.case)
        if not result.passed:
            raise PolicyCaseError(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, PolicyCaseError):
            from policy_service.policytest.report import render_results

            return render_results([excinfo.value.result])  # type: ignore[list-item]  # a CaseResult, raised above
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"policy case: {self.case.name}"

