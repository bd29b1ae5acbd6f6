"""Insights (docs/contract.md §10): a log seeded through the API, its report checked against figures
computed by hand, and the recommendation's candidate applied and replayed: exactly the escalations
it counts turn into allow. Also the API, the CLI and their agreement, roles, and the edges."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from helpers import EXAMPLE_POLICIES, T0, keyed_app, make_app

from policy_service.cli import main
from policy_service.decisionlog import DecisionStore
from policy_service.service.insights_advice import wilson_lower_bound
from policy_service.service.reloading import load_runtime
from policy_service.service.replay import replay


class Clock(datetime):
    """The log's clock on SQLite (decisionlog.database reads datetime.now), moved by the test so
    waits from escalation to verdict are known; PostgreSQL's clock is the server's own."""
    at = T0

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.at


@dataclass
class Seeded:
    """What the seeding did, so the test can name the decisions it expects to change."""
    counted: set[str] = field(default_factory=set)  # decided escalations the recommendation must count
    pending_counted: set[str] = field(default_factory=set)
    uncounted: set[str] = field(default_factory=set)  # escalations no new agent cell can allow


def refund(agent: str, amount: str, customer: str, *, tier: str = "standard", days: int = 5) -> dict[str, Any]:
    return {"agent": {"id": agent}, "customer": {"id": customer, "tier": tier}, "case": {"days_since_purchase": days},
            "proposal": {"action": "refund", "amount": amount, "currency": "EUR"}, "locale": "es"}


# (amount, customer tier, days since purchase, verdict or None, minutes to verdict, counted at L = 100 €)
ESCALATIONS = [
    ("60.00", "standard", 5, "approve", 10, True), ("60.00", "standard", 5, "approve", 20, True),
    ("90.00", "gold", 5, "approve", 5, True),  # gold ×1.5: the agent's 50 € is 75 €; 90 € needs a cell of 60 €
    ("70.00", "standard", 5, "approve", 30, True), ("75.00", "standard", 5, None, 0, True),
    ("80.00", "standard", 5, "approve", 40, True), ("90.00", "standard", 5, "approve:85", 15, True),
    ("95.00", "standard", 5, "reject", 50, True), ("100.00", "standard", 5, "approve", 25, True),
    ("160.00", "gold", 5, "reject", 5, False),  # needs a cell of 107 €
    ("120.00", "standard", 5, "approve", 5, False), ("130.00", "standard", 5, "reject", 5, False),
    ("140.00", "standard", 5, "reject", 5, False), ("150.00", "standard", 5, "approve", 5, False),
    ("180.00", "standard", 5, None, 0, False), ("200.00", "standard", 5, "reject", 5, False),
    ("70.00", "standard", 45, "approve", 5, False),  # outside the return window: only a supervisor may refund
]


def seed(client: Any, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """The escalations above by agents (tier agent, cell 50 €) decided by sup-7, one per hour, each
    verdict its minutes later; two refunds allowed; a virtual agent's escalation; a dead end."""
    monkeypatch.setattr("policy_service.decisionlog.database.datetime", Clock)
    seeded = Seeded()
    Clock.at = T0
    for n, (amount, tier, days, verdict, minutes, counted) in enumerate(ESCALATIONS):
        Clock.at = T0 + timedelta(hours=n)
        answer = client.post("/v1/decisions", json=refund(("ag-101", "ag-102")[n % 2], amount, f"cu-{n}", tier=tier, days=days))
        decision = answer.get_json()
        assert decision["outcome"] == "escalate", decision
        if verdict is None:
            (seeded.pending_counted if counted else seeded.uncounted).add(decision["decision_id"])
            continue
        (seeded.counted if counted else seeded.uncounted).add(decision["decision_id"])
        Clock.at += timedelta(minutes=minutes)
        word, _, lowered = verdict.partition(":")
        body = {"approver_id": "sup-7", "verdict": word, **({"amount": lowered} if lowered else {})}
        assert client.post(f"/v1/decisions/{decision['decision_id']}/approval", json=body).status_code == 201
    Clock.at = T0 + timedelta(hours=len(ESCALATIONS))
    for n, amount in enumerate(["40.00", "30.00"]):
        assert client.post("/v1/decisions", json=refund("ag-101", amount, f"cu-a{n}")).get_json()["outcome"] == "allow"
    bot = {**refund("bot-1", "30.00", "cu-b"), "proposal": {"action": "store_credit", "amount": "30.00", "currency": "EUR"}}
    assert client.post("/v1/decisions", json=bot).get_json()["outcome"] == "escalate"
    dead = {**refund("bot-1", "500.00", "cu-d"), "case": {"fault": "customer"},
            "proposal": {"action": "delivery_compensation", "amount": "500.00", "currency": "EUR"}}
    answer = client.post("/v1/decisions", json=dead).get_json()
    assert answer["outcome"] == "deny" and answer["options"] == []
    return seeded


def apply_candidate(policies: Path, recommendation: dict[str, Any]) -> None:
    """Write the candidate's cell into the policy file's `limits:` line for the action, as a policy
    owner would (set_limits replaces a matrix cell)."""
    change = yaml.safe_load(recommendation["candidate"])["set_limits"]
    (action, cells), = change.items()
    (tier, value), = cells.items()
    path = policies / recommendation["file"]
    text = path.read_text(encoding="utf-8")
    line = re.search(rf"^(\s+{action}:\s*\{{)([^}}]*)(\}})", text, re.MULTILINE)
    assert line is not None
    entries = dict(item.split(":") for item in line.group(2).replace(" ", "").split(","))
    entries[tier] = str(value)
    path.write_text(text[:line.start(2)] + ", ".join(f"{k}: {v}" for k, v in entries.items()) + text[line.end(2):],
                    encoding="utf-8")


def test_a_recommendation_has_hand_computed_figures_and_its_candidate_replays_exactly(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Agents' refund escalations approved 7 of 8 times up to 100 € (a gold customer's 90 € counts at
    the 60 € cell it needed): raise the agent's 50 € to 100 €. Replaying the log with that cell turns
    exactly those 8 decided escalations and the pending 75 € one into allow, and nothing else."""
    client = make_app(tmp_path, DATABASE_URL=database_url).test_client()
    seeded = seed(client, monkeypatch)
    report = client.get("/v1/insights?since=all&min_cases=5&min_rate=0.85").get_json()
    (rec,) = report["recommendations"]
    assert {k: rec[k] for k in ("action", "tier", "policy", "file", "current_limit", "suggested_limit")} == {
        "action": "refund", "tier": "agent", "policy": "refunds", "file": "refunds.yaml",
        "current_limit": "50.00", "suggested_limit": "100.00"}
    assert (rec["cases"], rec["approved"], rec["escalations_avoided"]) == (8, 7, 8)
    assert rec["approval_rate"] == 0.875 and rec["approval_rate_lower_bound"] == round(wilson_lower_bound(7, 8) or 0, 4)
    assert rec["money_released"] == "545.00"  # 60 + 60 + 90 + 70 + 80 + 85 (approved for less) + 100
    assert rec["rejected_now_allowed"] == {"count": 1, "amount": "95.00"}
    assert rec["pending_now_allowed"] == 1
    assert rec["candidate"] == "set_limits: {refund: {agent: 100}}"
    if database_url.startswith("sqlite"):  # waits 5, 10, 15, 20, 25, 30, 40, 50 minutes: nearest-rank median 20
        assert rec["median_wait_seconds"] == 1200

    candidate = tmp_path / "candidate"
    shutil.copytree(EXAMPLE_POLICIES, candidate)
    (candidate / "refunds_test.yaml").unlink()  # its cases pin the 50 € limit
    apply_candidate(candidate, rec)
    runtime, result = load_runtime(candidate)
    assert runtime is not None, result.diagnostics
    store = DecisionStore(database_url)
    try:
        replayed = replay(store, runtime, None)
    finally:
        store.dispose()
    assert replayed.transitions == {("escalate", "allow"): rec["escalations_avoided"] + rec["pending_now_allowed"]}
    assert set(replayed.changed) == seeded.counted | seeded.pending_counted
    assert not set(replayed.changed) & seeded.uncounted


def test_the_report_counts_outcomes_verdicts_waits_money_kinds_and_dead_ends(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agents' refunds: 17 escalated and 2 allowed, 10 approved, 5 rejected, 2 pending; money
    proposed, allowed, approved and granted; the bot's escalation under AI; the bot's denied
    compensation with no option is a dead end naming the rules that fired (every one the log keeps)."""
    client = make_app(tmp_path, DATABASE_URL=database_url).test_client()
    seed(client, monkeypatch)
    decision = client.post("/v1/decisions", json=refund("ag-101", "20.00", "cu-g")).get_json()
    client.post(f"/v1/decisions/{decision['decision_id']}/outcome", json={"action": "refund", "amount": "15.00"})
    report = client.get("/v1/insights?since=all").get_json()
    agents = next(r for r in report["by_tier"] if (r["action"], r["tier"]) == ("refund", "agent"))
    assert agents["outcomes"] == {"allow": 3, "escalate": 17, "handoff": 0, "deny": 0}
    assert agents["escalations"] == {"approved": 10, "rejected": 5, "pending": 2}
    assert agents["approval_rate"] == round(10 / 15, 4)
    proposed = sum(float(e[0]) for e in ESCALATIONS) + 40 + 30 + 20
    assert agents["money"] == {"proposed": f"{proposed:.2f}", "allowed": "90.00",
                               "approved": f"{60 + 60 + 90 + 70 + 80 + 85 + 100 + 120 + 150 + 70:.2f}", "granted": "15.00"}
    if database_url.startswith("sqlite"):  # 10 approvals and 5 rejections, minutes: 5×8, 10, 15, 20, 25, 30, 40, 50
        assert agents["wait_seconds"] == {"median": 300, "p90": 40 * 60}
    kinds = {(r["action"], r["agent_kind"]): r["decisions"] for r in report["by_agent_kind"]}
    assert kinds == {("refund", "human"): 20, ("store_credit", "ai"): 1, ("delivery_compensation", "ai"): 1}
    assert report["dead_ends"] == [{"action": "delivery_compensation", "decisions": 1,
                                    "rules": [{"rule": "deliveries/ai_never_reships", "decisions": 1},
                                              {"rule": "deliveries/customer_fault", "decisions": 1}]}]
    assert report["decisions"] == 22


def test_the_api_and_the_cli_agree_and_the_cli_speaks_spanish_with_labels(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On one window, GET /v1/insights and `policy-service insights --format json` give the same
    report; the text report is Spanish by default, with the organisation's labels and money
    formatted as Spain writes it, and the candidate line to paste."""
    client = make_app(tmp_path).test_client()
    seed(client, monkeypatch)
    database = f"sqlite:///{tmp_path / 'log.db'}"
    window = ["--since", "2026-10-01", "--min-cases", "5", "--min-rate", "0.85", "--database", database,
              "--policies", str(EXAMPLE_POLICIES)]
    cli = CliRunner().invoke(main, ["insights", "--format", "json", *window])
    assert cli.exit_code == 0, cli.output
    api = client.get("/v1/insights?since=2026-10-01&min_cases=5&min_rate=0.85").get_json()
    assert json.loads(cli.output) == api
    assert api["since"] == "2026-10-01T00:00:00.000Z" and api["decisions"] == 21
    text = CliRunner().invoke(main, ["insights", *window]).output
    assert "reembolso, Asesor: subir el límite de 50,00\xa0€ a 100,00\xa0€" in text
    assert "8 escalados decididos hasta 100,00\xa0€: 7 aprobados (87,5\xa0%" in text
    assert "545,00\xa0€ aprobados" in text and "espera mediana 20 minutos" in text
    assert "cambio en refunds.yaml: set_limits: {refund: {agent: 100}}" in text
    assert "compensación por retraso: 1 respuestas; reglas: deliveries/ai_never_reships (1), deliveries/customer_fault (1)" in text
    assert "asistentes de IA" in text and "refund" not in text.split("cambio en")[0]  # labels, never ids
    english = CliRunner().invoke(main, ["insights", *window, "--lang", "en", "--locale", "en"]).output
    assert "refund, Agent: raise the limit from €50.00 to €100.00" in english


def test_a_later_window_leaves_out_older_decisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """since= is a time: decisions before it, and their verdicts, are not in the report."""
    client = make_app(tmp_path).test_client()
    seed(client, monkeypatch)
    later = (T0 + timedelta(hours=len(ESCALATIONS))).isoformat().replace("+00:00", "Z")
    report = client.get("/v1/insights", query_string={"since": later}).get_json()
    assert report["decisions"] == 4 and report["recommendations"] == []
    agents = next(r for r in report["by_tier"] if (r["action"], r["tier"]) == ("refund", "agent"))
    assert agents["outcomes"]["allow"] == 2 and agents["escalations"] == {"approved": 0, "rejected": 0, "pending": 0}


def test_too_few_cases_or_too_low_a_rate_recommend_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 9 cases required the 8 up to 100 € are not enough (and above, the rate falls below 85 %);
    the defaults (20 cases, 95 %) recommend nothing either."""
    client = make_app(tmp_path).test_client()
    seed(client, monkeypatch)
    assert client.get("/v1/insights?since=all&min_cases=9&min_rate=0.85").get_json()["recommendations"] == []
    assert client.get("/v1/insights?since=all&min_cases=5&min_rate=0.9").get_json()["recommendations"][0]["suggested_limit"] == "90.00"
    assert client.get("/v1/insights?since=all").get_json()["recommendations"] == []


def test_an_empty_log_reports_nothing_and_says_so(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    report = client.get("/v1/insights").get_json()
    assert report["decisions"] == 0 and report["by_tier"] == report["dead_ends"] == report["recommendations"] == []
    text = CliRunner().invoke(main, ["insights", "--database", f"sqlite:///{tmp_path / 'log.db'}",
                                     "--policies", str(EXAMPLE_POLICIES)]).output
    assert "No hay decisiones en este periodo." in text


def test_only_policy_admins_and_auditors_read_insights_and_a_bad_window_is_named(tmp_path: Path) -> None:
    app, headers = keyed_app(tmp_path, {"tool": (["agent_tool"], False), "audit": (["auditor"], False),
                                        "admin": (["policy_admin"], False), "approver": (["approver"], False)})
    client = app.test_client()
    assert client.get("/v1/insights").status_code == 401
    assert client.get("/v1/insights", headers=headers["tool"]).status_code == 403
    assert client.get("/v1/insights", headers=headers["approver"]).status_code == 403
    assert client.get("/v1/insights", headers=headers["audit"]).status_code == 200
    assert client.get("/v1/insights", headers=headers["admin"]).status_code == 200
    for query in ("since=ninety", "since=999999999d", "min_rate=2", "min_cases=0", "colour=red"):
        refused = client.get(f"/v1/insights?{query}", headers=headers["audit"])
        assert refused.status_code == 422 and refused.content_type == "application/problem+json"
        assert list(refused.get_json()["errors"]) == [query.split("=")[0]]
    refused = CliRunner().invoke(main, ["insights", "--since", "ninety", "--database", f"sqlite:///{tmp_path / 'log.db'}"])
    assert refused.exit_code == 2 and "--since" in refused.output


def test_the_cli_never_creates_a_log(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = CliRunner().invoke(main, ["insights", "--database", f"sqlite:///{missing}", "--policies", str(EXAMPLE_POLICIES)])
    assert result.exit_code == 2 and not missing.exists()


def test_the_migration_backfills_an_existing_log_with_the_rows_appends_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log from before decision_facts (schema 0005) gets, on upgrade, exactly the rows the append
    writes for the same entries, so its report is the same as if it had always had them."""
    import sqlalchemy
    from alembic import command

    from policy_service.decisionlog.migrating import alembic_config
    from policy_service.decisionlog.schema import facts_table, log_table

    client = make_app(tmp_path).test_client()
    seed(client, monkeypatch)
    source = DecisionStore(f"sqlite:///{tmp_path / 'log.db'}")
    older = DecisionStore(f"sqlite:///{tmp_path / 'older.db'}")
    config = alembic_config()
    with older.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    with source.engine.connect() as connection:
        entries = [dict(row._mapping) for row in connection.execute(sqlalchemy.select(log_table))]
        appended = {tuple(row) for row in connection.execute(sqlalchemy.select(facts_table))}
    with older.engine.begin() as connection:
        connection.execute(sqlalchemy.insert(log_table), entries)
    older.upgrade()
    with older.engine.connect() as connection:
        backfilled = {tuple(row) for row in connection.execute(sqlalchemy.select(facts_table))}
    assert len(appended) == len(entries) and backfilled == appended
    source.dispose()
    older.dispose()
