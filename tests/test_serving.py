"""The real server: keys, request ids, JSON logs and Prometheus counts across two gunicorn workers."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import BODY
from servers import call, start_instance, wait_until_serving, worker_pids

from policy_service.service.keys import ANY_AGENT, create_key

pytestmark = pytest.mark.slow


def _metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"{name}(?:\{{(.*)\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_metrics_add_up_across_workers_and_every_request_is_logged(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    tool = {"Authorization": "Bearer " + create_key(keys, "crm", ["agent_tool"], scope=ANY_AGENT)}
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path, "--keys", str(keys), stderr=log)
        try:
            wait_until_serving(port, server)
            assert len(worker_pids(server.pid)) == 2
            requests = 60
            with ThreadPoolExecutor(8) as pool:  # several connections, so both workers answer some
                statuses = list(pool.map(lambda i: call(port, "POST", "/v1/decisions", BODY,
                                                        {**tool, "X-Request-ID": f"crm-{i}"})[0], range(requests)))
            assert statuses == [201] * requests
            assert call(port, "POST", "/v1/decisions", BODY)[0] == 401
            scrapes = {call(port, "GET", "/metrics")[2].decode() for _ in range(6)}
        finally:
            server.terminate()
            server.wait(timeout=30)
    for text in scrapes:  # whichever worker answered the scrape
        assert _metric(text, "policy_decisions_total") == requests
        assert _metric(text, "policy_decisions_total", outcome="escalate", action="refund", policy="refunds") == requests
        assert _metric(text, "policy_decision_seconds_count") == requests
        assert _metric(text, "policy_engine_seconds_count") == requests
        assert _metric(text, "policy_http_requests_total", route="/v1/decisions", status="401") == 1
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    requests_logged = [line for line in lines if line["msg"] == "request"]
    decisions = [line for line in requests_logged if line["route"] == "/v1/decisions" and line["status"] == 201]
    assert sorted(line["request_id"] for line in decisions) == sorted(f"crm-{i}" for i in range(requests))
    assert {line["caller"] for line in decisions} == {"crm"}
    assert all(line["decision_id"].startswith("dec_") and line["latency_ms"] > 0 for line in decisions)
    assert "cu-88" not in log_path.read_text()  # ids of decisions, never the customer's
    # The service's other records are JSON lines too, from the master as from the workers.
    assert any(line["logger"] == "policy_service.service.reloading" and "is live" in line["msg"] for line in lines)


def test_serve_refuses_to_start_without_keys(tmp_path: Path) -> None:
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path, "--keys", str(tmp_path / "none.json"),
                                  stderr=subprocess.PIPE)
    _, err = server.communicate(timeout=30)
    assert server.returncode == 1 and b"no API keys" in err and b"keys create" in err
