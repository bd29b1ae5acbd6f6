"""What a running app serves from: the live policy runtime and the decision store."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from ..diagnostics import render_text
from ..loader import LoadResult
from ..runtime import PolicyRuntime, load_runtime
from ..store import DecisionStore


class StartupError(RuntimeError):
    """The service cannot start: the message says why (with every policy problem, positioned)."""


@dataclass
class ServiceState:
    runtime: PolicyRuntime
    store: DecisionStore
    load_result: LoadResult


def init_app(app: Flask) -> None:
    runtime, result = load_runtime(app.config["POLICIES"])
    if runtime is None:
        raise StartupError(f"policies in {app.config['POLICIES']} cannot be loaded:\n{render_text(result.diagnostics)}")
    store = DecisionStore(app.config["DATABASE_URL"])
    store.prepare()
    app.extensions["policy_service"] = ServiceState(runtime, store, result)


def service_state() -> ServiceState:
    return current_app.extensions["policy_service"]  # type: ignore[no-any-return]
