"""A start or a reload refuses a policy set whose own test cases fail, naming them, unless the server
was started with --allow-failing-tests (policytest/gate.py, service/reloading.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import make_app
from servers import call, start_instance, wait_for_reload_error, wait_until_serving

from policy_service.errors import StartupError

CASE = "un asesor condona un cargo de 10 €"


def fail_a_case(policies: Path) -> None:
    """The first fees case expects `allow`; make it expect `deny`, which the policies do not decide."""
    path = policies / "fees_test.yaml"
    text = path.read_text()
    assert "    expect: {outcome: allow}\n" in text
    path.write_text(text.replace("    expect: {outcome: allow}\n", "    expect: {outcome: deny}\n", 1))


def test_an_api_reload_refuses_a_set_whose_own_case_fails_and_names_it(policies_copy: Path, tmp_path: Path) -> None:
    """422 with a PS050 at the case's line; the live revision stays and says why the attempt failed."""
    client = make_app(tmp_path, POLICIES=str(policies_copy)).test_client()
    live = client.get("/v1/policies").get_json()["revision"]
    fail_a_case(policies_copy)
    refused = client.post("/v1/policies/reload")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "fees_test.yaml:5:1": [f'error[PS050]: test case "{CASE}" fails: outcome: expected deny, got allow '
                               "(hint: fix the policy or the case; a server started with --allow-failing-tests accepts it)"]}
    shown = client.get("/v1/policies").get_json()
    assert shown["revision"] == live and shown["last_reload_error"]["diagnostics"][0]["code"] == "PS050"


def test_a_start_refuses_a_set_whose_own_case_fails(policies_copy: Path, tmp_path: Path) -> None:
    """As with a broken set, the server does not start; the error names the case and its file."""
    fail_a_case(policies_copy)
    with pytest.raises(StartupError, match=f'fees_test.yaml:5:1: error\\[PS050\\]: test case "{CASE}" fails'):
        make_app(tmp_path, POLICIES=str(policies_copy))


def test_allow_failing_tests_accepts_such_a_set_at_start_and_on_reload(policies_copy: Path, tmp_path: Path) -> None:
    """The documented way out: ALLOW_FAILING_TESTS (serve --allow-failing-tests)."""
    client = make_app(tmp_path, POLICIES=str(policies_copy), ALLOW_FAILING_TESTS=True).test_client()
    (policies_copy / "fees.yaml").write_text((policies_copy / "fees.yaml").read_text() + "# a new revision\n")
    fail_a_case(policies_copy)
    reloaded = client.post("/v1/policies/reload")
    assert reloaded.status_code == 200 and reloaded.get_json()["changed"]
    make_app(tmp_path, POLICIES=str(policies_copy), ALLOW_FAILING_TESTS=True)


@pytest.mark.slow
def test_serve_refuses_failing_cases_at_start_and_on_sighup_unless_allowed(policies_copy: Path, tmp_path: Path) -> None:
    """The gunicorn master runs the cases too: a SIGHUP to a failing set keeps the live one and shows
    PS050; `serve` on such a set exits, and `serve --allow-failing-tests` serves it."""
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path, policies=policies_copy)
    try:
        wait_until_serving(port, server)
        live = json.loads(call(port, "GET", "/v1/policies")[2])["revision"]
        fail_a_case(policies_copy)
        os.kill(server.pid, signal.SIGHUP)
        shown = wait_for_reload_error(port)
        assert shown["revision"] == live and shown["last_reload_error"]["source"] == "sighup"
        assert [d["code"] for d in shown["last_reload_error"]["diagnostics"]] == ["PS050"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    _, refused = start_instance(f"sqlite:///{tmp_path / 'other.db'}", tmp_path, policies=policies_copy,
                                stderr=subprocess.PIPE)
    assert refused.wait(timeout=60) != 0
    assert b"PS050" in (refused.stderr.read() if refused.stderr else b"")
    port, allowed = start_instance(f"sqlite:///{tmp_path / 'third.db'}", tmp_path, "--allow-failing-tests", policies=policies_copy)
    try:
        wait_until_serving(port, allowed)
    finally:
        allowed.terminate()
        allowed.wait(timeout=30)
