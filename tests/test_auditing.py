"""The auditors' questions as the console asks them, from a form's raw values: the API's filters and
rule resolution, a page with state, an export and verify (service/auditing.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, make_app, small_refund
from marshmallow import ValidationError

from policy_service.service.auditing import log_export, log_page, verify_log
from policy_service.web.state import service_state


@pytest.fixture
def app(tmp_path: Path) -> Any:
    app = make_app(tmp_path)
    client = app.test_client()
    client.post("/v1/decisions", json=BODY)
    client.post("/v1/decisions", json=small_refund())
    return app


def _page(app: Any, **query: str) -> dict[str, Any]:
    with app.app_context():
        state = service_state()
        return log_page(state.store, query, state.runtime.policy_set, state.privacy)


def test_blank_fields_are_no_filter_and_a_bare_rule_is_resolved(app: Any) -> None:
    """An empty form lists both decisions; rule=outside_return_window finds the escalation alone, with state."""
    assert len(_page(app, agent_id="", rule="", outcome="")["items"]) == 2
    found = _page(app, rule="outside_return_window")["items"]
    assert [i["outcome"] for i in found] == ["escalate"] and found[0]["state"]["approval"] == "pending"


def test_every_wrong_field_is_named_at_once_the_rule_too(app: Any) -> None:
    """A bad outcome and an unknown rule are both reported, each under its own field, with a hint."""
    with pytest.raises(ValidationError) as raised:
        _page(app, outcome="maybe", rule="gold_leewey", **{"from": "yesterday"})
    errors = raised.value.messages
    assert isinstance(errors, dict) and set(errors) == {"outcome", "rule", "from"}
    assert "gold_leeway" in errors["rule"][0]


def test_the_export_is_the_apis_with_the_same_filters(app: Any) -> None:
    """CSV for Spanish spreadsheets of one agent's decisions is byte for byte what the API streams."""
    query = {"agent_id": "ag-101", "format": "csv", "excel_es": "true", "customer_id": "cu-1"}
    with app.app_context():
        state = service_state()
        chunks, mimetype, name = log_export(state.store, query, state.runtime.policy_set, state.privacy)
        text = "".join(chunks)
    api = app.test_client().get("/v1/decisions/export", query_string=query).get_data(as_text=True)
    assert (mimetype, name) == ("text/csv", "decisions.csv") and text == api and text.startswith("\ufeff")
    assert len(text.strip().splitlines()) == 2  # the header and the one decision of cu-1


def test_verify_reads_anchors_as_audit_verify_prints_them(app: Any) -> None:
    """The head it reports is a valid anchor; a malformed one is a ValidationError naming `anchor`."""
    with app.app_context():
        store = service_state().store
        report = verify_log(store, [])
        assert report["ok"] and report["entries"] == 2
        head = f"{report['head']['seq']}:{report['head']['hash']}"
        assert verify_log(store, [head])["ok"]
        assert not verify_log(store, [f"9:{'0' * 64}"])["ok"]
        with pytest.raises(ValidationError) as raised:
            verify_log(store, ["12"])
    assert "anchor" in raised.value.messages
