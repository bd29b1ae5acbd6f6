"""Shadow mode: a candidate policy directory evaluated beside the live set on every decision.

It never changes an answer: the candidate is judged inside the decision's transaction (so it sees the
same cap usage) but any failure of it is logged and ignored, and the caller gets the live decision.
Disagreements (another outcome) are counted in metrics and recorded in
`shadow_results`, where `policy-service replay` reports them beside its own re-evaluation.

A candidate whose own test cases fail still shadows (its impact is worth seeing before it is fixed),
but it carries those failures, so every page that shows it can say it would be refused as live.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from policy_service.authoring.diagnostics import Diagnostic, render_text
from policy_service.deciding.budgets import Budgets
from policy_service.deciding.evaluation import Evaluation
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import ChainTransaction, DecisionStore
from policy_service.errors import StoreError
from policy_service.service.reloading import Gate, load_runtime
from policy_service.telemetry import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShadowVerdict:
    outcome: str
    limit: int | None
    rules: tuple[str, ...]


class ShadowPolicies:
    def __init__(self, directory: Path, store: DecisionStore, runtime: PolicyRuntime | None, error: str | None,
                 failing_tests: tuple[Diagnostic, ...] = ()) -> None:
        self.directory, self.store, self.runtime, self.error = directory, store, runtime, error
        self.failing_tests = failing_tests  # the candidate's own cases that fail: it could not go live as it is

    @classmethod
    def load(cls, directory: Path | str, store: DecisionStore, gate: Gate | None = None) -> ShadowPolicies:
        """A broken candidate disables shadowing (and says why); it never stops the service. With a
        gate (policytest.gate.failing_cases), the candidate's own cases are run and their failures kept."""
        runtime, result = load_runtime(directory)
        if runtime is None:
            error = render_text(result.diagnostics)
            log.error("shadow policies in %s cannot be loaded; shadow mode is off:\n%s", directory, error)
            return cls(Path(directory), store, None, error)
        failing = tuple(gate(Path(directory), runtime.policy_set)) if gate is not None else ()
        if failing:
            log.warning("shadow policies in %s fail their own test cases:\n%s", directory, render_text(failing))
        store.store_revision(runtime.revision, dict(runtime.policy_set.files))
        return cls(Path(directory), store, runtime, None, failing)

    def detail(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "revision": self.runtime.revision if self.runtime else None,
                "error": self.error}

    def disagreements(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """The disagreements recorded so far (since `since`) for the loaded candidate, oldest first (none
        when it failed to load)."""
        return [] if self.runtime is None else self.store.shadow_results(self.runtime.revision, since)

    def judge(self, body: Any, trusted_tier: bool, transaction: ChainTransaction, customer_ref: str | None,
              now: datetime) -> ShadowVerdict | None:
        """The candidate's decision on the same body and the same moment's cap usage; None if it cannot
        decide (its schema refuses the body, or it fails): the live answer stands either way."""
        if self.runtime is None:
            return None
        try:
            request = self.runtime.read(body, trusted_tier=trusted_tier)
            evaluation = self.runtime.decide(request, Budgets(transaction, customer_ref, now))
        except ValidationError:  # the candidate no longer accepts this body: nothing to compare, nothing to log
            return None
        except Exception:  # noqa: BLE001 - a candidate must never break a live decision
            log.exception("shadow evaluation failed")
            return None
        return ShadowVerdict(evaluation.outcome, evaluation.limit, evaluation.fired)

    def record(self, decision_id: str, live: Evaluation, verdict: ShadowVerdict | None) -> None:
        if verdict is None or self.runtime is None:
            return
        if verdict.outcome == live.outcome:  # as in replay: a changed limit alone is not a disagreement
            return
        metrics.SHADOW_DISAGREEMENTS.labels(live.outcome, verdict.outcome).inc()
        try:
            self.store.record_shadow([{
                "decision_id": decision_id, "candidate_revision": self.runtime.revision,
                "created_at": datetime.now(timezone.utc), "live_outcome": live.outcome,
                "candidate_outcome": verdict.outcome, "live_rules": json.dumps(list(live.fired)),
                "candidate_rules": json.dumps(list(verdict.rules)),
            }])
        except StoreError as exc:
            log.warning("shadow disagreement on %s not recorded: %s", decision_id, exc)
