"""What-if replay: re-decides logged decisions under a candidate, with the cap usage each saw,
names exactly the decisions that change, and writes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from helpers import EXAMPLE_POLICIES, make_app, raise_refund_limit

from policy_service.cli import main
from policy_service.service.reloading import load_runtime
from policy_service.service.replay import replay


def refund(agent: str, amount: str, customer: str) -> dict[str, Any]:
    return {"agent": {"id": agent}, "customer": {"id": customer, "tier": "standard"},
            "proposal": {"action": "refund", "amount": amount, "currency": "EUR"}}


def compensation(customer: str) -> dict[str, Any]:
    return {"agent": {"id": "ag-102"}, "customer": {"id": customer}, "case": {"fault": "carrier"},
            "proposal": {"action": "delivery_compensation", "amount": "10.00", "currency": "EUR"}}


def seed(client: Any) -> dict[str, list[str]]:
    """A small log: agent refunds above and below 50 €, a supervisor's refunds, and three compensations
    for one customer, the third of which escalated only because the first two used the cap."""
    ids: dict[str, list[str]] = {"agent_60": [], "other": [], "third_compensation": []}

    def post(body: dict[str, Any]) -> dict[str, Any]:
        response = client.post("/v1/decisions", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    for number in range(3):
        ids["agent_60"].append(post(refund("ag-101", "60.00", f"cu-a{number}"))["decision_id"])
        ids["other"].append(post(refund("ag-101", "30.00", f"cu-b{number}"))["decision_id"])
        ids["other"].append(post(refund("sup-7", "60.00", f"cu-c{number}"))["decision_id"])
    decisions = [post(compensation("cu-comp")) for _ in range(3)]
    assert [d["outcome"] for d in decisions] == ["allow", "allow", "escalate"]
    ids["third_compensation"].append(decisions[2]["decision_id"])
    return ids


def test_a_replay_against_the_live_policies_changes_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    seed(app.test_client())
    runtime, _ = load_runtime(EXAMPLE_POLICIES)
    assert runtime is not None
    report = replay(app.extensions["policy_service"].store, runtime, None)
    assert report.decisions == 12 and report.changed == [] and not report.not_replayable
    assert report.grantable_live == report.grantable_candidate


def test_a_raised_limit_names_exactly_the_decisions_that_change(tmp_path: Path, policies_copy: Path) -> None:
    app = make_app(tmp_path)
    ids = seed(app.test_client())
    store = app.extensions["policy_service"].store
    head_before = store.last_reload_seq(), sum(1 for _ in store.chain())
    raise_refund_limit(policies_copy, 100)
    candidate, _ = load_runtime(policies_copy)
    assert candidate is not None
    report = replay(store, candidate, None)
    assert sorted(report.changed) == sorted(ids["agent_60"])
    assert report.transitions == {("escalate", "allow"): 3}
    assert report.grantable_candidate - report.grantable_live == 3 * (6000 - 5000) + 3 * 0  # 60 € now, was 50 €
    assert report.rule_changes == {}
    assert (store.last_reload_seq(), sum(1 for _ in store.chain())) == head_before  # nothing written


def test_replay_command_reports_transitions_money_and_ids(tmp_path: Path, policies_copy: Path) -> None:
    database = f"sqlite:///{tmp_path / 'log.db'}"
    ids = seed(make_app(tmp_path, DATABASE_URL=database).test_client())
    raise_refund_limit(policies_copy, 100)
    text = CliRunner().invoke(main, ["replay", "--candidate", str(policies_copy), "--database", database, "--locale", "es",
                                  "--lang", "en"])
    assert text.exit_code == 0, text.output
    assert "12 decisions replayed, 3 would change (25,0\xa0%)" in text.output  # a share as es-ES writes it
    assert "escalated → allowed" in text.output and "escalate → allow" not in text.output and all(i in text.output for i in ids["agent_60"])
    assert "(+30,00 €)" in text.output.replace("\xa0", " ")  # CLDR puts a no-break space before €
    as_json = CliRunner().invoke(main, ["replay", "--candidate", str(policies_copy), "--database", database,
                                        "--since", "all", "--format", "json"])
    report = json.loads(as_json.output)
    assert report["changed"] == 3 and report["grantable_without_approval"]["change"] == "30.00"
    assert report["transitions"] == [{"from": "escalate", "to": "allow", "decisions": 3}]
    broken = policies_copy / "refunds.yaml"
    broken.write_text(broken.read_text().replace("actions: [refund, store_credit]", "actions: [refundd, store_credit]"))
    refused = CliRunner().invoke(main, ["replay", "--candidate", str(policies_copy), "--database", database])
    assert refused.exit_code == 1 and "refunds.yaml:" in refused.output


def test_replay_lists_who_proposed_what_and_the_money_before_and_after_per_changed_decision(
        tmp_path: Path, policies_copy: Path) -> None:
    """Each changed decision is a line (and a JSON object): id, time, agent, action, amount, the
    outcome and what the agent could grant without approval, before and after."""
    database = f"sqlite:///{tmp_path / 'log.db'}"
    ids = seed(make_app(tmp_path, DATABASE_URL=database).test_client())
    raise_refund_limit(policies_copy, 100)
    text = CliRunner().invoke(main, ["replay", "--candidate", str(policies_copy), "--database", database, "--locale", "es",
                                  "--lang", "en"])
    lines = [line.replace("\xa0", " ") for line in text.output.splitlines()]
    for decision_id in ids["agent_60"]:
        line = next(line for line in lines if decision_id in line)
        assert re.search(rf"{decision_id}  \d{{4}}-\d\d-\d\d \d\d:\d\d  ag-101  reembolso 60,00 €  escalated → allowed  "
                         r"50,00 € → 60,00 €$", line.strip()), line
    assert "12 decisions replayed, 3 would change (25,0\xa0%)" in text.output  # the summary stays
    as_json = CliRunner().invoke(main, ["replay", "--candidate", str(policies_copy), "--database", database,
                                        "--format", "json"])
    changes = json.loads(as_json.output)["changes"]
    assert [c["decision_id"] for c in changes] == ids["agent_60"]
    first = changes[0]
    assert (first["agent_id"], first["action"], first["amount"], first["outcome"], first["grantable_without_approval"]) == (
        "ag-101", "refund", "60.00", {"before": "escalate", "after": "allow"}, {"before": "50.00", "after": "60.00"})
    assert first["created_at"].endswith("Z")


def test_replay_speaks_the_organisations_first_locale_and_lang_chooses(tmp_path: Path, policies_copy: Path) -> None:
    """The example organisation's first locale is es: the report reads in Spanish by default, singular
    where one is meant; --lang en gives English; a refused candidate's diagnostics follow too."""
    database = f"sqlite:///{tmp_path / 'log.db'}"
    seed(make_app(tmp_path, DATABASE_URL=database).test_client())
    raise_refund_limit(policies_copy, 100)
    spanish = CliRunner().invoke(main, ["replay", "--candidate", str(policies_copy), "--database", database]).output
    assert "12 decisiones reproducidas, 3 cambiarían (25,0\xa0%)" in spanish
    assert "escalada → permitida" in spanish and "reembolso 60,00\xa0€" in spanish  # the trial read "escalate → allow"
    assert "cambios de resultado:" in spanish and "dinero que los agentes podrían conceder sin aprobación:" in spanish
    assert "decisiones que cambiarían (hora UTC, agente, propuesta, resultado, dinero concedible sin aprobación):" in spanish
    english = CliRunner().invoke(main, ["replay", "--candidate", str(policies_copy), "--database", database, "--lang", "en"])
    assert "12 decisions replayed, 3 would change" in english.output and "outcome transitions:" in english.output
    broken = policies_copy / "refunds.yaml"
    broken.write_text(broken.read_text().replace("actions: [refund, store_credit]", "actions: [refundd, store_credit]"))
    refused = CliRunner().invoke(main, ["replay", "--candidate", str(policies_copy), "--database", database])
    assert refused.exit_code == 1 and "acción desconocida" in refused.output
