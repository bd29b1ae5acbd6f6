"""What a running face serves from: the live policies (which follow reloads), the decision store,
privacy settings and the optional shadow candidate, opened once per process.

The HTTP API (web/state.py) and the MCP server (assistants/) open the same state the same way, so
both answer with the same revision, record into the same log and mask the same fields. No Flask here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import DecisionStore
from policy_service.decisionlog.chain import timestamp_text
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.errors import StoreError
from policy_service.service.reloading import Gate, LivePolicies
from policy_service.service.shadow import ShadowPolicies

__all__ = ["ServiceState", "open_state"]

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


def open_state(policies: str | Path, database_url: str, *, log_key: str | None = None, follow: bool = False,
               gate: Gate | None = None, masked_fields: str | list[str] | tuple[str, ...] | None = None,
               customer_id_key: str | None = None,
               shadow_policies: str | None = None, shadow_gate: Gate | None = None) -> ServiceState:
    """The store (prepared if it can be reached), the live policies and the settings around them.

    `gate`: what a start or reload also asks of a set (policytest.gate.failing_cases, which lives above
    this room, so the face passes it in); None accepts a set whose own test cases fail. `shadow_gate`:
    the same for the shadow candidate, whose failing cases are kept and shown rather than refused."""
    store = DecisionStore(database_url, log_key.encode() if log_key else None)
    try:
        store.prepare()
    except StoreError as exc:
        # A process that cannot reach the log still starts: health answers, decisions fail as
        # "cannot record", and they recover by themselves when the database returns. Dying here would
        # make gunicorn's master give up after a few restarts, and an outage would kill the service.
        log.error("decision log unreachable at start; serving 503s until it returns: %s", exc)
    live = LivePolicies.start(policies, store, follow=follow, gate=gate)
    privacy = PrivacySettings.from_config(masked_fields, customer_id_key)
    shadow = ShadowPolicies.load(shadow_policies, store, shadow_gate) if shadow_policies else None
    return ServiceState(live, store, privacy, shadow)
