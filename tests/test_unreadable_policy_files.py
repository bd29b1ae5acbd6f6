"""A policy file that cannot be read (a NUL, invalid UTF-8) is one positioned PS001 on every path,
and never takes the service down (docs/contract.md §8: outages degrade, never kill)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import BODY, keyed_app
from servers import call, start_instance, wait_for_reload_error, wait_until_serving

from policy_service.authoring.loader import load_policy_set
from policy_service.cli import main

BROKEN = {"nul": b"own\x00er:", "latin-1": b"own\xe9r:"}


def _spoil(policies: Path, how: str) -> None:
    path = policies / "refunds.yaml"
    path.write_bytes(path.read_bytes().replace(b"owner:", BROKEN[how], 1))


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_the_loader_reports_the_byte_at_its_position(policies_copy: Path, how: str) -> None:
    """The set is refused with one PS001 at the line and column of the bad character."""
    _spoil(policies_copy, how)
    result = load_policy_set(policies_copy)
    assert result.policy_set is None
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [(d.file, d.code, d.line, d.column) for d in errors] == [("refunds.yaml", "PS001", 5, 4)]


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_validate_prints_a_position_not_a_traceback(policies_copy: Path, how: str) -> None:
    """`validate` exits 1 with the positioned error."""
    _spoil(policies_copy, how)
    result = CliRunner().invoke(main, ["validate", str(policies_copy)])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "refunds.yaml:5:4: error[PS001]" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_the_reload_api_answers_422_and_keeps_the_live_set(policies_copy: Path, tmp_path: Path, how: str) -> None:
    """The reload API refuses the file with its position; decisions go on under the live revision."""
    app, headers = keyed_app(tmp_path, {"admin": (["policy_admin"], False), "tool": (["agent_tool"], False)},
                             POLICIES=str(policies_copy))
    client = app.test_client()
    live = client.get("/v1/policies", headers=headers["tool"]).get_json()["revision"]
    _spoil(policies_copy, how)
    refused = client.post("/v1/policies/reload", headers=headers["admin"])
    assert refused.status_code == 422 and "refunds.yaml:5:4" in refused.get_json()["errors"]
    decided = client.post("/v1/decisions", json=BODY, headers=headers["tool"])
    assert decided.status_code == 201 and decided.get_json()["policy_revision"] == live


@pytest.mark.slow
def test_a_nul_byte_on_sighup_leaves_the_master_serving(policies_copy: Path, tmp_path: Path) -> None:
    """SIGHUP with a NUL in a file: the refusal is recorded, the master lives, decisions go on."""
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path, policies=policies_copy)
    try:
        wait_until_serving(port, server)
        live = json.loads(call(port, "GET", "/v1/policies")[2])["revision"]
        _spoil(policies_copy, "nul")
        os.kill(server.pid, signal.SIGHUP)
        shown = wait_for_reload_error(port)
        assert shown["last_reload_error"]["diagnostics"][0]["code"] == "PS001"
        time.sleep(1.5)  # SIGHUP also replaces the workers: they must boot and serve the live set
        assert server.poll() is None
        status, _, text = call(port, "POST", "/v1/decisions", BODY)
        assert status == 201 and json.loads(text)["policy_revision"] == live
    finally:
        server.terminate()
        server.wait(timeout=30)
