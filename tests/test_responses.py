"""Answers are serialised by the schemas the OpenAPI document shows (service/responses.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy_service.policytest.runner import run_suites
from policy_service.service.reloading import load_runtime
from policy_service.service.responses import DecisionSchema, EventSchema, ShapeError, dump

DECISION = {
    "decision_id": "dec_1", "created_at": "2026-12-02T08:00:00.000Z", "outcome": "escalate",
    "proposal": {"action": "refund", "amount": "120.00", "currency": "EUR"},
    "agent": {"id": "ag-101", "tier": "agent"}, "limit": "50.00",
    "options": [{"action": "store_credit", "unit": "money", "max": "75.00", "say": "Puedo abonarle 75,00 €"}],
    "escalation": {"to_tier": "supervisor", "label": "Supervisor", "say": "Lo autoriza un supervisor"},
    "approval": {"id": "apr_1", "status": "pending"}, "handoff": None, "say": ["..."], "conditions": [],
    "rules": ["refunds/outside_return_window"], "caps": [{"id": "refunds/c", "remaining": "10.00", "remaining_count": 2}],
    "locale": "es", "policy_revision": "sha256:abc",
}


def test_a_decision_is_emitted_in_the_documented_order_with_nested_shapes() -> None:
    """The caller gets exactly the schema's fields, in its order, nested objects included."""
    shuffled = dict(reversed(list(DECISION.items())))
    out = dump(DecisionSchema, shuffled)
    assert list(out) == list(DecisionSchema._declared_fields)
    assert out == DECISION


def test_a_field_the_schema_does_not_declare_fails_at_once() -> None:
    """A field added to an answer but not to the document cannot ship."""
    with pytest.raises(ShapeError, match="declares no"):
        dump(DecisionSchema, {**DECISION, "surprise": 1})
    with pytest.raises(ShapeError, match="declares no"):
        dump(DecisionSchema, {**DECISION, "options": [{**DECISION["options"][0], "extra": True}]})


def test_a_required_field_missing_fails_and_an_optional_one_is_left_out() -> None:
    """Required fields are required of the code too; optional ones (an event's `declined`) stay absent."""
    with pytest.raises(ShapeError, match="policy_revision is required"):
        dump(DecisionSchema, {k: v for k, v in DECISION.items() if k != "policy_revision"})
    event = {"event_id": "out_1", "kind": "outcome", "decision_id": "dec_1", "created_at": "x", "declined": True,
             "action": None, "amount": None}
    assert list(dump(EventSchema, event)) == ["event_id", "kind", "decision_id", "created_at", "declined", "action", "amount"]


@pytest.mark.parametrize("directory", ["policies", "tests/organisations/banco", "tests/organisations/telco"])
def test_every_recorded_decision_is_built_in_the_documented_shape(directory: str) -> None:
    """decision_body builds the schema's shape itself (a dump under the chain lock cost what the other
    worker waited for): every decision the policy tests of three organisations produce, allow, escalate,
    deny and handoff, is exactly what dump(DecisionSchema) makes of it, order and nested fields included."""
    root = Path(__file__).resolve().parent.parent
    runtime, loaded = load_runtime(root / directory)
    assert runtime is not None, loaded.diagnostics
    results, problems = run_suites(root / directory, runtime)
    decisions = [result.actual for result in results if result.actual is not None]
    assert not problems and len(decisions) == len(results) >= 5
    for decision in decisions:
        assert json.dumps(decision) == json.dumps(dump(DecisionSchema, decision))
    assert {decision["outcome"] for decision in decisions} >= {"allow", "escalate"}
