"""policy-service: "what may this agent do right now?" for customer-service exceptions.

gunicorn serves `policy_service:create_app()`. The app exists only inside `create_app`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["create_app", "__version__"]


def create_app(test_config: dict[str, Any] | None = None) -> Any:
    from policy_service.web.app import create_app as _create_app  # Flask stays out of the CLI's and tests' imports

    return _create_app(test_config)
