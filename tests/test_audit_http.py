"""Auditors' endpoints and privacy, through the HTTP API, on both backends."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from helpers import BODY, EXAMPLE_POLICIES, make_app


@pytest.fixture
def audited(tmp_path: Path, database_url: str) -> Any:
    return make_app(tmp_path, DATABASE_URL=database_url, MASKED_FIELDS="case.id,customer.lifetime_value,customer.not_sent",
                    CUSTOMER_ID_KEY="s3cret").test_client()


def decide(client: Any, **changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(BODY))
    for path, value in changes.items():
        section, field = path.split("__")
        body[section][field] = value
    response = client.post("/v1/decisions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_an_auditor_filters_and_pages_through_decisions(audited: Any) -> None:
    made = [decide(audited, agent__id=agent) for agent in ("ag-101", "ag-102", "ag-101", "ag-101")]
    first = audited.get("/v1/decisions?agent_id=ag-101&limit=2").get_json()
    assert [i["decision_id"] for i in first["items"]] == [made[3]["decision_id"], made[2]["decision_id"]]
    second = audited.get(f"/v1/decisions?agent_id=ag-101&limit=2&cursor={first['next_cursor']}").get_json()
    assert [i["decision_id"] for i in second["items"]] == [made[0]["decision_id"]] and second["next_cursor"] is None
    by_rule = audited.get("/v1/decisions?rule=refunds/gold_leeway&outcome=escalate&policy=refunds").get_json()
    assert len(by_rule["items"]) == 4
    assert audited.get("/v1/decisions?from=2000-01-01&to=2000-01-02").get_json()["items"] == []


def test_the_log_keeps_every_fired_rule_while_the_answer_names_those_that_shaped_it(audited: Any) -> None:
    """A gold customer's refund fires extensions' free-shipping rule: no part of the refund answer, but
    fired (docs/contract.md §4 step 1), so the entry's rules and the auditors' rule filter have it."""
    made = decide(audited)
    assert "extensions/gold_free_shipping_for_bot" not in made["rules"]
    found = audited.get("/v1/decisions?rule=extensions/gold_free_shipping_for_bot").get_json()["items"]
    assert [i["decision_id"] for i in found] == [made["decision_id"]]
    entry = json.loads(audited.get("/v1/decisions/export?format=jsonl").get_data(as_text=True))
    assert entry["rules"][:3] == ["extensions/gold_free_shipping_for_bot", "refunds/gold_leeway", "refunds/outside_return_window"]


def test_bad_auditor_queries_name_the_parameter(audited: Any) -> None:
    for query, field in [("outcome=maybe", "outcome"), ("limit=0", "limit"), ("from=yesterday", "from"),
                         ("colour=red", "colour"), ("cursor=xyz", "cursor"), ("from=2026-02-01&to=2026-01-01", "to")]:
        response = audited.get(f"/v1/decisions?{query}")
        assert response.status_code == 422, query
        assert field in response.get_json()["errors"], (query, response.get_json())
    assert audited.get("/v1/decisions/export?format=xml").get_json()["errors"] == {"format": ["Must be one of: csv, jsonl."]}


def test_masked_fields_and_keyed_customer_ids_never_reach_the_log(audited: Any, database_url: str) -> None:
    made = decide(audited)
    items = audited.get("/v1/decisions?customer_id=cu-88").get_json()["items"]
    assert [i["decision_id"] for i in items] == [made["decision_id"]]  # auditors still filter by the real id
    assert items[0]["log"]["masked"] == ["case.id", "customer.lifetime_value"] and items[0]["log"]["customer_id"].startswith("hmac:")
    exported = audited.get("/v1/decisions/export?format=jsonl").get_data(as_text=True)
    stored = json.loads(exported)["request"]
    assert stored["customer"]["lifetime_value"] == "[masked]" and stored["case"]["id"] == "[masked]"
    values = set(_leaves(json.loads(exported)))
    assert not values & {"cu-88", 4300, "4300", "tk-5521"}


def _leaves(value: Any) -> Any:
    """Every scalar in a JSON document (hashes are random text: substrings would match by chance)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_exports_are_streamed_with_spanish_spreadsheet_option(audited: Any) -> None:
    decide(audited, agent__id="ag-101")
    response = audited.get("/v1/decisions/export?format=csv&excel_es=true")
    assert response.status_code == 200 and response.is_streamed
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffseq;decision_id;") and ";120,00;EUR;" in text
    assert 'attachment; filename="decisions.csv"' == response.headers["Content-Disposition"]


def test_verify_and_the_revision_a_decision_names(audited: Any) -> None:
    made = decide(audited)
    report = audited.get("/v1/audit/verify").get_json()
    assert report["ok"] and report["entries"] == 1 and report["problem"] is None
    anchored = audited.get(f"/v1/audit/verify?anchor=1:{report['head']['hash']}").get_json()
    assert anchored["ok"]
    assert audited.get("/v1/audit/verify?anchor=oops").status_code == 422
    revision = audited.get(f"/v1/policies/revisions/{made['policy_revision']}").get_json()
    assert revision["files"]["refunds.yaml"] == (EXAMPLE_POLICIES / "refunds.yaml").read_text(encoding="utf-8")
    assert audited.get("/v1/policies/revisions/sha256:nope").status_code == 404


def test_a_decision_the_caller_saw_is_the_one_logged(audited: Any, database_url: str) -> None:
    made = decide(audited)
    fetched = audited.get(f"/v1/decisions/{made['decision_id']}").get_json()
    assert fetched == {**made, "events": [], "state": {"approval": "pending", "approved_amount": None, "approver_id": None,
                                                       "outcome": None, "granted": None}}
    engine = sqlalchemy.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text("SELECT response FROM decision_log")).scalar_one()
    engine.dispose()
    assert json.loads(stored) == made


@pytest.fixture
def plain(tmp_path: Path, database_url: str) -> Any:
    """No masking: an approval decides the stored request again, which masked fields would prevent."""
    return make_app(tmp_path, DATABASE_URL=database_url).test_client()


def escalated_and_settled(client: Any) -> str:
    """A 120 € refund escalates; sup-7 approves 100 €, and 80 € are granted."""
    made = decide(client)
    assert made["outcome"] == "escalate"
    decision_id = made["decision_id"]
    assert client.post(f"/v1/decisions/{decision_id}/approval",
                       json={"approver_id": "sup-7", "verdict": "approve", "amount": "100.00"}).status_code == 201
    assert client.post(f"/v1/decisions/{decision_id}/outcome", json={"action": "refund", "amount": "80"}).status_code == 201
    return decision_id  # type: ignore[no-any-return]


def test_one_export_says_who_approved_what_and_how_much_was_given(plain: Any) -> None:
    """Every entry is a row (no seq missing) with its kind and decision id; the approval row names the
    approver and the approved amount, the outcome row what was granted; times read as dates."""
    decision_id = escalated_and_settled(plain)
    decide(plain, agent__id="ag-102")
    rows = list(csv.DictReader(io.StringIO(plain.get("/v1/decisions/export?format=csv").get_data(as_text=True))))
    assert [(r["seq"], r["kind"]) for r in rows] == [("1", "decision"), ("2", "approval"), ("3", "outcome"), ("4", "decision")]
    decision, approval, outcome = rows[:3]
    assert {r["decision_id"] for r in rows[:3]} == {decision_id}
    assert (decision["outcome"], decision["action"], decision["amount"], decision["currency"]) == ("escalate", "refund", "120.00", "EUR")
    assert (approval["outcome"], approval["approver_id"], approval["verdict"], approval["approved_amount"]) == (
        "approved", "sup-7", "approve", "100.00")
    assert (outcome["outcome"], outcome["granted_action"], outcome["granted_amount"]) == ("granted", "refund", "80.00")
    for row in rows:
        moment = datetime.strptime(row["created_at_utc"], "%Y-%m-%d %H:%M:%S")
        assert abs(moment - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=5)
    spanish = plain.get("/v1/decisions/export?format=csv&excel_es=true").get_data(as_text=True)
    assert ";sup-7;approve;100,00;" in spanish and ";refund;80,00;" in spanish
    lines = [json.loads(line) for line in plain.get("/v1/decisions/export?format=jsonl").get_data(as_text=True).splitlines()]
    assert [(e["seq"], e["kind"], e["decision_id"]) for e in lines[:3]] == [
        (1, "decision", decision_id), (2, "approval", decision_id), (3, "outcome", decision_id)]
    assert lines[1]["response"]["approver"]["id"] == "sup-7" and lines[2]["response"]["amount"] == "80.00"


def test_filters_choose_decisions_with_their_events_and_kind_narrows_the_rows(plain: Any) -> None:
    decision_id = escalated_and_settled(plain)
    decide(plain, agent__id="ag-102")

    def exported(query: str) -> list[tuple[str, str]]:
        response = plain.get(f"/v1/decisions/export?format=csv&{query}")
        assert response.status_code == 200, response.get_json()
        return [(r["kind"], r["decision_id"]) for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))]

    assert exported("agent_id=ag-101") == [("decision", decision_id), ("approval", decision_id), ("outcome", decision_id)]
    assert exported("kind=outcome") == [("outcome", decision_id)]
    assert [kind for kind, _ in exported("kind=decision")] == ["decision", "decision"]
    assert exported("agent_id=ag-102&kind=approval") == []
    assert plain.get("/v1/decisions/export?format=csv&kind=refund").get_json()["errors"] == {
        "kind": ["Must be one of: decision, approval, outcome."]}


def test_a_bare_rule_id_finds_what_its_policy_rule_form_finds(plain: Any) -> None:
    """`rule=gold_leeway` is `refunds/gold_leeway` (the only live policy with that rule), in lists and
    exports; a misspelt or unknown one is a 422 naming `rule`, never an empty answer."""
    made = decide(plain)
    listed = plain.get("/v1/decisions?rule=gold_leeway").get_json()["items"]
    assert [i["decision_id"] for i in listed] == [made["decision_id"]]
    exported = plain.get("/v1/decisions/export?format=csv&rule=gold_leeway").get_data(as_text=True)
    assert [r["decision_id"] for r in csv.DictReader(io.StringIO(exported))] == [made["decision_id"]]
    misspelt = plain.get("/v1/decisions?rule=gold_leway")
    assert misspelt.status_code == 422 and 'did you mean "gold_leeway"' in misspelt.get_json()["errors"]["rule"][0]
    unknown = plain.get("/v1/decisions/export?format=csv&rule=refunds/nope")
    assert unknown.status_code == 422 and "refunds/nope" in unknown.get_json()["errors"]["rule"][0]


def test_a_bare_rule_id_two_policies_share_is_refused_naming_both(tmp_path: Path, database_url: str,
                                                                   policies_copy: Path) -> None:
    extensions = policies_copy / "extensions.yaml"
    extensions.write_text(extensions.read_text().replace("rules:\n", "rules:\n  - id: gold_leeway\n    when: "
                          "{customer.tier: platinum, case.reason: hardship}\n    then:\n      scale: {payment_extension: 1.5}\n", 1))
    client = make_app(tmp_path, DATABASE_URL=database_url, POLICIES=str(policies_copy)).test_client()
    decide(client)
    ambiguous = client.get("/v1/decisions?rule=gold_leeway")
    assert ambiguous.status_code == 422, ambiguous.get_json()
    message = ambiguous.get_json()["errors"]["rule"][0]
    assert "extensions/gold_leeway" in message and "refunds/gold_leeway" in message
    assert len(client.get("/v1/decisions?rule=refunds/gold_leeway").get_json()["items"]) == 1


@pytest.fixture
def mixed_units(tmp_path: Path, database_url: str) -> Any:
    """The third organisation's bank, with a fee reversal (money) that offers a payment extension (days)."""
    import shutil

    policies = tmp_path / "banco"
    shutil.copytree(Path(__file__).parent / "organisations" / "banco", policies,
                    ignore=shutil.ignore_patterns("plazos*", "*_test.yaml"))
    cargos = policies / "cargos.yaml"
    cargos.write_text(cargos.read_text()
                      .replace("exoneracion_cuota]", "exoneracion_cuota, prorroga_pago]", 1)
                      .replace("reverso_comision: [abono_cortesia]", "reverso_comision: [prorroga_pago]", 1)
                      .replace("  exoneracion_cuota: {asesor", "  prorroga_pago: {asesor: 15, lider: 30}\n  exoneracion_cuota: {asesor", 1))
    return make_app(tmp_path, DATABASE_URL=database_url, POLICIES=str(policies)).test_client()


def test_every_exported_amount_says_whether_it_is_money_or_days(mixed_units: Any, database_url: str) -> None:
    """A rejected 120,000 COP fee reversal settled with the offered 10-day extension, and a 20-day
    extension approved at 8: each row names its unit (and a currency only for money), so summing the
    granted money skips the days; JSON lines and the CLI's export say the same."""
    from click.testing import CliRunner

    from policy_service.cli import main

    def escalate(action: str, amount: Any) -> str:
        made = mixed_units.post("/v1/decisions", json={"agent": {"id": "as-1"}, "customer": {"id": "c-1"},
                                                       "case": {"reason": "cargo"}, "proposal": {"action": action, "amount": amount}})
        assert made.status_code == 201 and made.get_json()["outcome"] == "escalate", made.get_json()
        return made.get_json()["decision_id"]  # type: ignore[no-any-return]

    def settle(decision_id: str, verdict: dict[str, Any], outcome: dict[str, Any]) -> None:
        assert mixed_units.post(f"/v1/decisions/{decision_id}/approval", json={"approver_id": "li-1", **verdict}).status_code == 201
        assert mixed_units.post(f"/v1/decisions/{decision_id}/outcome", json=outcome).status_code == 201

    fee = escalate("reverso_comision", "120000")
    settle(fee, {"verdict": "reject"}, {"action": "prorroga_pago", "amount": 10})
    extension = escalate("prorroga_pago", 20)
    settle(extension, {"verdict": "approve", "amount": 8}, {"action": "prorroga_pago", "amount": 8})
    rows = list(csv.DictReader(io.StringIO(mixed_units.get("/v1/decisions/export?format=csv").get_data(as_text=True))))
    assert [(r["kind"], r["action"], r["amount"], r["currency"], r["unit"]) for r in rows] == [
        ("decision", "reverso_comision", "120000", "COP", "money"), ("approval", "reverso_comision", "120000", "COP", "money"),
        ("outcome", "reverso_comision", "120000", "COP", "money"), ("decision", "prorroga_pago", "20", "", "days"),
        ("approval", "prorroga_pago", "20", "", "days"), ("outcome", "prorroga_pago", "20", "", "days")]
    assert rows[4]["approved_amount"] == "8"
    granted = [(r["granted_action"], r["granted_amount"], r["granted_currency"], r["granted_unit"]) for r in rows if r["kind"] == "outcome"]
    assert granted == [("prorroga_pago", "10", "", "days"), ("prorroga_pago", "8", "", "days")]
    assert sum(float(r["granted_amount"]) for r in rows if r["kind"] == "outcome" and r["granted_unit"] == "money") == 0
    lines = [json.loads(line) for line in mixed_units.get("/v1/decisions/export?format=jsonl").get_data(as_text=True).splitlines()]
    assert [(e["kind"], e["action"], e["unit"], e["currency"]) for e in lines[:3]] == [
        ("decision", "reverso_comision", "money", "COP"), ("approval", "reverso_comision", "money", "COP"),
        ("outcome", "prorroga_pago", "days", None)]
    exported = CliRunner().invoke(main, ["audit", "export", "--database", database_url, "--kind", "outcome"])
    assert [(r["granted_amount"], r["granted_unit"]) for r in csv.DictReader(io.StringIO(exported.output))] == [
        ("10", "days"), ("8", "days")]
