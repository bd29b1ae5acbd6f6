"""What a running app serves from: the live policy runtime, the decision store and privacy settings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from ..diagnostics import render_text
from ..loader import LoadResult
from ..privacy import PrivacySettings
from ..runtime import PolicyRuntime, load_runtime
from ..store import DecisionStore


class StartupError(RuntimeError):
    """The service cannot start: the message says why (with every policy problem, positioned)."""


@dataclass
class ServiceState:
    runtime: PolicyRuntime
    store: DecisionStore
    load_result: LoadResult
    privacy: PrivacySettings

    def policies_detail(self) -> dict[str, object]:
        return {"revision": self.runtime.revision, "policies": len(self.runtime.policy_set.policies)}


def init_app(app: Flask) -> None:
    runtime, result = load_runtime(app.config["POLICIES"])
    if runtime is None:
        raise StartupError(f"policies in {app.config['POLICIES']} cannot be loaded:\n{render_text(result.diagnostics)}")
    store = DecisionStore(app.config["DATABASE_URL"])
    store.prepare()
    # Stored before the first decision names it, so every decision's exact policy can be shown later.
    store.store_revision(runtime.revision, dict(runtime.policy_set.files))
    privacy = PrivacySettings.from_config(app.config.get("MASKED_FIELDS"), app.config.get("CUSTOMER_ID_KEY"))
    app.extensions["policy_service"] = ServiceState(runtime, store, result, privacy)


def service_state() -> ServiceState:
    return current_app.extensions["policy_service"]  # type: ignore[no-any-return]
