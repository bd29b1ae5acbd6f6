"""The running app's service state (service/state.py), opened from the app's config and kept in its
extensions; every request first follows policy reloads (LivePolicies.sync)."""

from __future__ import annotations

from flask import Flask, current_app

from policy_service.policytest.gate import failing_cases
from policy_service.service.state import ServiceState, open_state

__all__ = ["ServiceState", "init_app", "service_state"]


def init_app(app: Flask) -> None:
    state = open_state(
        app.config["POLICIES"], app.config["DATABASE_URL"], log_key=app.config.get("LOG_KEY"),
        follow=bool(app.config.get("FOLLOW_RELOADS")),
        gate=None if app.config.get("ALLOW_FAILING_TESTS") else failing_cases,
        masked_fields=app.config.get("MASKED_FIELDS"), customer_id_key=app.config.get("CUSTOMER_ID_KEY"),
        # The candidate's own cases always run: failing ones do not stop it shadowing, but are shown beside it.
        shadow_policies=app.config.get("SHADOW_POLICIES") or None, shadow_gate=failing_cases)
    app.extensions["policy_service"] = state
    app.before_request(state.live.sync)


def service_state() -> ServiceState:
    return current_app.extensions["policy_service"]  # type: ignore[no-any-return]
