"""What a running app serves from: the live policies (which follow reloads), the decision store,
privacy settings and the optional shadow candidate."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import DecisionStore
from policy_service.decisionlog.chain import timestamp_text
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.errors import StoreError
from policy_service.policytest.gate import failing_cases
from policy_service.service.reloading import LivePolicies
from policy_service.service.shadow import ShadowPolicies

__all__ = ["ServiceState", "init_app", "service_state"]

log = logging.getLogger(__name__)


@dataclass
class ServiceState:
    live: LivePolicies
    store: DecisionStore
    privacy: PrivacySettings
    shadow: ShadowPolicies | None = None

    @property
    def runtime(self) -> PolicyRuntime:
        return self.live.runtime

    def policies_detail(self) -> dict[str, Any]:
        runtime = self.live.runtime
        error = self.live.last_error
        return {
            "revision": runtime.revision,
            "loaded_at": timestamp_text(self.live.loaded_at),
            "source": self.live.source,
            "directory": str(self.live.directory),
            "policies": [{"id": p.id, "file": p.file, "owner": p.owner, "actions": list(p.actions), "rules": len(p.rules),
                          "caps": len(p.caps)} for p in runtime.policy_set.policies],
            "last_reload_error": None if error is None else {**error, "at": timestamp_text(error["at"])},
            "shadow": None if self.shadow is None else self.shadow.detail(),
        }


def init_app(app: Flask) -> None:
    log_key = app.config.get("LOG_KEY")
    store = DecisionStore(app.config["DATABASE_URL"], log_key.encode() if log_key else None)
    try:
        store.prepare()
    except StoreError as exc:
        # A worker that cannot reach the log still boots: /healthz answers, decisions are 503s, and
        # they recover by themselves when the database returns. Dying here would make gunicorn's
        # master give up after a few restarts, and an outage would kill the service for good.
        log.error("decision log unreachable at start; serving 503s until it returns: %s", exc)
    gate = None if app.config.get("ALLOW_FAILING_TESTS") else failing_cases
    live = LivePolicies.start(app.config["POLICIES"], store, follow=bool(app.config.get("FOLLOW_RELOADS")), gate=gate)
    privacy = PrivacySettings.from_config(app.config.get("MASKED_FIELDS"), app.config.get("CUSTOMER_ID_KEY"))
    # The candidate's own cases always run: failing ones do not stop it shadowing, but are shown beside it.
    shadow = ShadowPolicies.load(app.config["SHADOW_POLICIES"], store, failing_cases) if app.config.get("SHADOW_POLICIES") else None
    app.extensions["policy_service"] = ServiceState(live, store, privacy, shadow)
    app.before_request(live.sync)


def service_state() -> ServiceState:
    return current_app.extensions["policy_service"]  # type: ignore[no-any-return]
