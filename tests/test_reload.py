"""Reloads without downtime: a broken set never replaces the live one and its error is
visible everywhere; every worker converges on one revision; memory stays flat over many reloads."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, break_refunds, keyed_app, make_app, raise_refund_limit, small_refund
from servers import call, start_instance, wait_for_reload_error, wait_until_serving

from policy_service.service import reloading
from policy_service.service.reloading import KEEP_RUNTIMES

AGENT_REFUND = "refund:       {agent: 50,"


def test_a_broken_set_stays_out_and_its_error_is_shown_at_its_line(policies_copy: Path, tmp_path: Path) -> None:
    app, headers = keyed_app(tmp_path, {"admin": (["policy_admin"], False), "tool": (["agent_tool"], False)},
                             POLICIES=str(policies_copy))
    client = app.test_client()
    live = client.get("/v1/policies", headers=headers["tool"]).get_json()
    break_refunds(policies_copy)
    refused = client.post("/v1/policies/reload", headers=headers["admin"])
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    position = next(iter(refused.get_json()["errors"]))
    assert position.startswith("refunds.yaml:") and "customer.tier" in refused.get_json()["errors"][position][0]
    shown = client.get("/v1/policies", headers=headers["tool"]).get_json()
    assert shown["revision"] == live["revision"]
    error = shown["last_reload_error"]
    assert error["source"] == "api" and error["caller"] == "admin"
    assert {(d["file"], d["code"]) for d in error["diagnostics"]} >= {("refunds.yaml", error["diagnostics"][0]["code"])}
    assert error["diagnostics"][0]["line"] > 1 and error["diagnostics"][0]["hint"]
    decision = client.post("/v1/decisions", json=BODY, headers=headers["tool"])
    assert decision.status_code == 201 and decision.get_json()["policy_revision"] == live["revision"]
    assert client.get("/readyz").get_json()["policies"]["last_reload_error"] is not None

    (policies_copy / "refunds.yaml").write_text((policies_copy / "refunds.yaml").read_text().replace("tierr", "tier"))
    raise_refund_limit(policies_copy, 80)
    accepted = client.post("/v1/policies/reload", headers=headers["admin"]).get_json()
    assert accepted["changed"] and accepted["previous"] == live["revision"]
    shown = client.get("/v1/policies", headers=headers["tool"]).get_json()
    assert shown["revision"] == accepted["revision"] and shown["last_reload_error"] is None
    answer = client.post("/v1/decisions", json=small_refund(), headers=headers["tool"]).get_json()
    assert answer["policy_revision"] == accepted["revision"] and answer["outcome"] == "allow"  # 60 € now fits


def test_reloading_the_same_files_changes_nothing(policies_copy: Path, tmp_path: Path) -> None:
    client = make_app(tmp_path, POLICIES=str(policies_copy)).test_client()
    first = client.post("/v1/policies/reload").get_json()
    assert first["changed"] is False and first["revision"] == first["previous"]


def test_another_worker_follows_within_the_sync_interval(policies_copy: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Two apps on one database stand for two gunicorn workers: a reload in one reaches the other."""
    monkeypatch.setattr(reloading, "SYNC_SECONDS", 0.0)
    one = make_app(tmp_path, POLICIES=str(policies_copy)).test_client()
    other = make_app(tmp_path, POLICIES=str(policies_copy), FOLLOW_RELOADS=True).test_client()
    raise_refund_limit(policies_copy, 80)
    revision = one.post("/v1/policies/reload").get_json()["revision"]
    assert other.post("/v1/decisions", json=small_refund()).get_json()["policy_revision"] == revision
    break_refunds(policies_copy)
    assert one.post("/v1/policies/reload").status_code == 422
    shown = other.get("/v1/policies").get_json()
    assert shown["revision"] == revision and shown["last_reload_error"]["diagnostics"]


def test_a_restarted_worker_takes_the_live_revision_even_from_a_broken_directory(policies_copy: Path, tmp_path: Path) -> None:
    live = make_app(tmp_path, POLICIES=str(policies_copy)).test_client().get("/v1/policies").get_json()["revision"]
    break_refunds(policies_copy)
    restarted = make_app(tmp_path, POLICIES=str(policies_copy), FOLLOW_RELOADS=True).test_client()
    assert restarted.post("/v1/decisions", json=BODY).get_json()["policy_revision"] == live


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_memory_stays_flat_over_many_distinct_reloads(policies_copy: Path, tmp_path: Path) -> None:
    """Every reload here is a new revision, so each builds and drops an engine (docs/engine.md §5);
    bench/reload_memory.py runs 1,000 of them."""
    app = make_app(tmp_path, POLICIES=str(policies_copy))
    client = app.test_client()
    refunds = policies_copy / "refunds.yaml"
    original = refunds.read_text()

    def reload_distinct(count: int, offset: int) -> None:
        for number in range(offset, offset + count):
            refunds.write_text(original + f"\n# reload {number}\n")
            assert client.post("/v1/policies/reload").get_json()["changed"]
            assert client.post("/v1/decisions", json=BODY).status_code == 201

    reload_distinct(60, 0)  # warm: caches fill up to their bounds
    before = _rss_kib()
    reload_distinct(150, 60)
    growth = _rss_kib() - before
    assert growth < 8 * 1024, f"RSS grew {growth} KiB over 150 reloads"
    assert len(app.extensions["policy_service"].live._cache) <= KEEP_RUNTIMES


@pytest.mark.slow
def test_twenty_reloads_under_load_fail_no_request_and_workers_converge(policies_copy: Path, tmp_path: Path) -> None:
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path, policies=policies_copy)
    outcomes: list[tuple[int, str]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            status, _, body = call(port, "POST", "/v1/decisions", small_refund())
            outcomes.append((status, json.loads(body).get("policy_revision", "") if status == 201 else body.decode()))

    try:
        wait_until_serving(port, server)
        clients = [threading.Thread(target=load) for _ in range(4)]
        for thread in clients:
            thread.start()
        revisions = set()
        for number in range(20):
            raise_refund_limit(policies_copy, 50 + 10 * (number % 2 + 1))
            status, _, body = call(port, "POST", "/v1/policies/reload")
            assert status == 200, body
            revisions.add(json.loads(body)["revision"])
            time.sleep(0.25)
        final = json.loads(body)["revision"]
        time.sleep(1.0)  # every worker converges within a second
        mark = len(outcomes)
        time.sleep(1.0)
        stop.set()
        for thread in clients:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    failed = [o for o in outcomes if o[0] != 201]
    assert not failed and len(outcomes) > 100, failed[:3]
    start_revision = outcomes[0][1]
    assert {revision for _, revision in outcomes} <= revisions | {start_revision}
    assert {revision for _, revision in outcomes[mark:]} == {final}


@pytest.mark.slow
def test_sighup_reloads_and_a_broken_set_on_sighup_keeps_the_live_one(policies_copy: Path, tmp_path: Path) -> None:
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path, policies=policies_copy)
    try:
        wait_until_serving(port, server)
        before = json.loads(call(port, "GET", "/v1/policies")[2])["revision"]
        raise_refund_limit(policies_copy, 90)
        os.kill(server.pid, signal.SIGHUP)
        after = _wait_for_revision(port, lambda revision: revision != before)
        break_refunds(policies_copy)
        os.kill(server.pid, signal.SIGHUP)
        shown = wait_for_reload_error(port)
        assert shown["revision"] == after and shown["last_reload_error"]["source"] == "sighup"
        assert call(port, "POST", "/v1/decisions", BODY)[0] == 201
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_the_watcher_reloads_a_saved_change(policies_copy: Path, tmp_path: Path) -> None:
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path, "--watch", policies=policies_copy)
    try:
        wait_until_serving(port, server)
        before = json.loads(call(port, "GET", "/v1/policies")[2])["revision"]
        raise_refund_limit(policies_copy, 70)
        _wait_for_revision(port, lambda revision: revision != before)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for_revision(port: int, accept: Any, seconds: float = 15) -> str:
    """Until every one of several consecutive decisions names an accepted revision."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen = {json.loads(call(port, "POST", "/v1/decisions", BODY)[2])["policy_revision"] for _ in range(8)}
        if len(seen) == 1 and accept(next(iter(seen))):
            return next(iter(seen))
        time.sleep(0.2)
    raise AssertionError("the workers did not converge on a new revision")
