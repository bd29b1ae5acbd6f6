"""Trying a proposal without deciding it (docs/contract.md §9): the simulator and `POST /v1/simulations`.

The same pipeline as decide_and_record (PolicyRuntime.read, then .decide over Budgets, spelled by
service.spelling), against the live revision and the cap usage the log holds now, read through a
LedgerView: no chain lock, and nothing written (no entry, no budget, no approval, no idempotency row).
"""

from __future__ import annotations

from typing import Any

from policy_service.deciding.budgets import Budgets
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import DecisionStore
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.service.spelling import simulation_body

__all__ = ["simulate"]


def simulate(runtime: PolicyRuntime, store: DecisionStore, body: Any, *, trusted_tier: bool,
             privacy: PrivacySettings = PrivacySettings()) -> dict[str, Any]:
    """The answer an agent would get for `body` now (SimulationSchema), recorded nowhere.

    Raises marshmallow.ValidationError for a bad body (the same 422 as POST /v1/decisions) and
    StoreError when the log cannot be read."""
    request = runtime.read(body, trusted_tier=trusted_tier, counted=True)
    with store.ledger_view() as ledger:
        evaluation = runtime.decide(request, Budgets(ledger, privacy.customer_ref(request.customer_id), ledger.now))
    return simulation_body(evaluation, runtime.policy_set.organization, runtime.revision, request.agent_id)
