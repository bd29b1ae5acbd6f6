"""A policy set's own test cases as a condition of going live (docs/contract.md §8, v1.1 for policy
owners): a reload or a start refuses a set whose cases fail, as it refuses a broken one.

`failing_cases` is the gate service/reloading.py takes; it lives here because running cases belongs to
this room, which sits above the service's. Each failing case is an error at its own line, so the
refusal names it wherever reload errors are shown (the API's answer, /v1/policies, the log).
"""

from __future__ import annotations

from pathlib import Path

from policy_service.authoring.diagnostics import Diagnostic
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.model import PolicySet
from policy_service.policytest.runner import run_suites


def failing_cases(directory: Path, policy_set: PolicySet) -> list[Diagnostic]:
    """An error per failing case (and each error in the test files); empty when every case passes."""
    runtime = PolicyRuntime(policy_set)
    try:
        results, problems = run_suites(directory, runtime)
    finally:
        runtime.close()  # a gate runs in gunicorn's master too, which must hold no engine when it forks
    found = [d for d in problems if d.severity == "error"]
    for result in results:
        if not result.passed:
            case = result.case
            found.append(Diagnostic(case.suite, case.line, 1, "PS050", f'test case "{case.name}" fails: {"; ".join(result.failures)}',
                                    hint="fix the policy or the case; a server started with --allow-failing-tests accepts it"))
    return found
