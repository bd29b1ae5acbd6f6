"""policy-service: "what may this agent do right now?" for customer-service exceptions.

gunicorn serves `policy_service:create_app()`. The app exists only inside `create_app`.

The package's folders are its architecture; imports point down this list, never up
(tests/test_architecture.py walks them):

    cli/          the command line (click)
    serving/      gunicorn's settings and hooks, `serve`, the policy file watcher
    web/          the HTTP API (Flask)
    policytest/   policy test suites: runner, report, coverage, pytest plugin
    service/      use cases: responses, spelling, recording, approvals, reloading, shadow, replay, matrix, keys
    decisionlog/  the hash-chained log, its audit, privacy and migrations (SQLAlchemy)
    authoring/    YAML -> PolicySet or positioned diagnostics
    deciding/     body -> Evaluation, pure: request, compiler, engine, limits, evaluation, words, budgets, runtime
    model/, telemetry/, config.py, errors.py   typed policy data; metrics and logs; settings; the error tree
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["create_app", "__version__"]


def create_app(test_config: dict[str, Any] | None = None) -> Any:
    from policy_service.web.app import create_app as _create_app  # Flask stays out of the CLI's and tests' imports

    return _create_app(test_config)
