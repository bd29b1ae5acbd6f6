"""Shadow mode: a candidate judged beside the live set never changes an answer; disagreements
are counted and recorded for the replay report."""

from __future__ import annotations

from pathlib import Path

from helpers import break_refunds, make_app, raise_refund_limit, small_refund
from prometheus_client import REGISTRY

from policy_service.service.reloading import load_runtime
from policy_service.service.replay import replay


def _disagreements() -> float:
    return REGISTRY.get_sample_value("policy_shadow_disagreements_total",
                                     {"live_outcome": "escalate", "candidate_outcome": "allow"}) or 0.0


def test_the_shadow_never_changes_the_answer_and_its_disagreements_are_recorded(tmp_path: Path, policies_copy: Path) -> None:
    raise_refund_limit(policies_copy, 100)
    app = make_app(tmp_path, SHADOW_POLICIES=str(policies_copy))
    client = app.test_client()
    before = _disagreements()
    escalated = client.post("/v1/decisions", json=small_refund("60.00")).get_json()
    agreed = client.post("/v1/decisions", json=small_refund("20.00")).get_json()
    assert escalated["outcome"] == "escalate" and agreed["outcome"] == "allow"  # the live answers
    assert _disagreements() == before + 1
    store = app.extensions["policy_service"].store
    candidate, _ = load_runtime(policies_copy)
    assert candidate is not None
    recorded = store.shadow_results(candidate.revision, None)
    assert [(r["decision_id"], r["live_outcome"], r["candidate_outcome"]) for r in recorded] == [
        (escalated["decision_id"], "escalate", "allow")]
    assert replay(store, candidate, None).shadow_disagreements == 1
    assert client.get("/v1/policies").get_json()["shadow"]["revision"] == candidate.revision


def test_a_broken_shadow_set_turns_shadowing_off_and_says_why(tmp_path: Path, policies_copy: Path) -> None:
    break_refunds(policies_copy)
    client = make_app(tmp_path, SHADOW_POLICIES=str(policies_copy)).test_client()
    assert client.post("/v1/decisions", json=small_refund()).status_code == 201
    shadow = client.get("/v1/policies").get_json()["shadow"]
    assert shadow["revision"] is None and "refunds.yaml:" in shadow["error"]
