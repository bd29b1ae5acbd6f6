"""The command line through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers import EXAMPLE_POLICIES

from policy_service.cli import main


def test_validate_passes_on_the_examples() -> None:
    result = CliRunner().invoke(main, ["validate", "--lang", "en", str(EXAMPLE_POLICIES)])
    assert result.exit_code == 0, result.output
    assert "ok: 4 policies" in result.output


def test_validate_fails_with_positions_on_a_broken_file(policies_copy: Path) -> None:
    refunds = policies_copy / "refunds.yaml"
    refunds.write_text(refunds.read_text().replace("customer.tier: {in:", "customer.teir: {in:"))
    result = CliRunner().invoke(main, ["validate", "--lang", "en", str(policies_copy)])
    assert result.exit_code == 1
    assert 'refunds.yaml:30:12: error[PS020]: unknown field "customer.teir"' in result.output


def test_validate_json_output(policies_copy: Path) -> None:
    (policies_copy / "fees.yaml").write_text((policies_copy / "fees.yaml").read_text().replace("handoff: billing", "handoff: biling"))
    result = CliRunner().invoke(main, ["validate", "--lang", "en", "--format", "json", str(policies_copy)])
    report = json.loads(result.output)
    assert result.exit_code == 1 and report["errors"] == 1
    assert report["diagnostics"][0]["code"] == "PS015" and report["diagnostics"][0]["hint"] == 'did you mean "billing"?'


def test_strict_fails_on_warnings(policies_copy: Path) -> None:
    path = policies_copy / "refunds.yaml"
    path.write_text(path.read_text().replace("{case.days_since_purchase: {gt: 30}}", "{case.days_since_purchase: {gt: 30, lt: 5}}"))
    (policies_copy / "refunds_test.yaml").unlink()  # its cases rely on the rule this makes unsatisfiable
    assert CliRunner().invoke(main, ["validate", "--lang", "en", str(policies_copy)]).exit_code == 0
    assert CliRunner().invoke(main, ["validate", "--lang", "en", "--strict", str(policies_copy)]).exit_code == 1


def test_test_command_passes_on_the_examples(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = CliRunner().invoke(main, ["test", "--lang", "en", str(EXAMPLE_POLICIES), "--junit", str(junit)])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
    assert "<testsuite name=\"refunds_test.yaml\"" in junit.read_text()


def test_a_failing_case_exits_1_and_shows_expected_and_actual(policies_copy: Path) -> None:
    suite = policies_copy / "fees_test.yaml"
    suite.write_text(suite.read_text().replace("amount: 10}\n    expect: {outcome: allow}", "amount: 10}\n    expect: {outcome: deny}", 1))
    result = CliRunner().invoke(main, ["test", "--lang", "en", str(policies_copy)])
    assert result.exit_code == 1
    assert "FAIL fees_test.yaml:5 un asesor condona un cargo de 10 €" in result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["expected", "actual"])
    assert lines[header + 1].split() == ["✗", "outcome", "deny", "allow"]  # side by side, the failing field marked


def test_validate_refuses_what_a_reload_would_refuse_a_failing_case(policies_copy: Path) -> None:
    """Before, validate said ok for a set whose own case failed, and the service then refused it."""
    suite = policies_copy / "fees_test.yaml"
    suite.write_text(suite.read_text().replace("amount: 10}\n    expect: {outcome: allow}", "amount: 10}\n    expect: {outcome: deny}", 1))
    result = CliRunner().invoke(main, ["validate", "--lang", "en", str(policies_copy)])
    assert result.exit_code == 1
    assert 'fees_test.yaml:5:1: error[PS050]: test case "un asesor condona un cargo de 10 €" fails' in result.output


def test_a_case_may_expect_a_rule_that_fired_without_shaping_the_answer(policies_copy: Path) -> None:
    """`rules` asks what fired (docs/contract.md §3.4): a gold customer fires extensions' rule on a refund too."""
    suite = policies_copy / "refunds_test.yaml"
    suite.write_text(suite.read_text() + """  - name: a gold refund fires the free-shipping rule of extensions as well
    request:
      agent: {tier: agent}
      customer: {tier: gold}
      proposal: {action: refund, amount: 40}
    expect: {outcome: allow, rules: [gold_leeway, extensions/gold_free_shipping_for_bot]}
""")
    result = CliRunner().invoke(main, ["test", "--lang", "en", str(policies_copy)])
    assert result.exit_code == 0, result.output
    suite.write_text(suite.read_text().replace("extensions/gold_free_shipping_for_bot]", "extensions/hardship]"))
    failed = CliRunner().invoke(main, ["test", "--lang", "en", str(policies_copy)]).output.splitlines()
    row = next(line for line in failed if "✗ rules" in line)  # the actual column lists what fired
    assert "extensions/gold_free_shipping_for_bot" in row and "refunds/gold_leeway" in row, row


def test_coverage_lists_what_no_case_exercised_and_min_coverage_gates(policies_copy: Path) -> None:
    result = CliRunner().invoke(main, ["test", "--lang", "en", str(EXAMPLE_POLICIES), "--coverage"])
    assert result.exit_code == 0 and "rules 100 % (17/17)" in result.output
    suite = policies_copy / "fees_test.yaml"  # drop the only case where the billing-error rule fires
    text = suite.read_text()
    start = text.index("  - name: un error de facturación")
    end = text.index("  - name:", start + 1)
    suite.write_text(text[:start] + text[end:])
    result = CliRunner().invoke(main, ["test", "--lang", "en", str(policies_copy), "--coverage"])
    assert "not exercised (rules): fees/billing_error_is_ours" in result.output
    assert CliRunner().invoke(main, ["test", "--lang", "en", str(EXAMPLE_POLICIES), "--min-coverage", "70"]).exit_code == 0
    gated = CliRunner().invoke(main, ["test", "--lang", "en", str(EXAMPLE_POLICIES), "--min-coverage", "100"])
    assert gated.exit_code == 1 and "below --min-coverage 100 %" in gated.output


def test_matrix_prints_every_tier_with_the_rules_that_change_each_row() -> None:
    result = CliRunner().invoke(main, ["matrix", str(EXAMPLE_POLICIES), "--locale", "es"])
    assert result.exit_code == 0
    refund = next(line for line in result.output.splitlines() if line.startswith("Reembolso "))
    assert refund.split()[1:] == ["—", "50,00", "€", "150,00", "€", "500,00", "€", "2.000,00", "€"]
    assert "↳ refunds/outside_return_window (refunds.yaml:" in result.output and "): requiere Supervisor" in result.output
    english = CliRunner().invoke(main, ["matrix", str(EXAMPLE_POLICIES), "--locale", "en", "--format", "json"])
    rows = {row["action"]: row for row in json.loads(english.output)["actions"]}
    assert rows["refund"]["limits"]["manager"] == "2000.00" and rows["refund"]["shown"]["manager"] == "€2,000.00"
    assert rows["refund"]["limits"]["virtual_agent"] is None


def test_audit_commands_verify_export_and_name_a_tampered_entry(tmp_path: Path) -> None:
    from helpers import BODY, make_app

    url = f"sqlite:///{tmp_path / 'log.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--database", url]).exit_code == 0
    client = make_app(tmp_path, DATABASE_URL=url).test_client()
    made = [client.post("/v1/decisions", json=BODY).get_json() for _ in range(3)]
    verified = runner.invoke(main, ["audit", "verify", "--database", url])
    assert verified.exit_code == 0 and "ok: 3 entries; head 3:" in verified.output
    anchor = verified.output.split("head ")[1].split(" ")[0]
    exported = runner.invoke(main, ["audit", "export", "--database", url, "--format", "jsonl", "--agent-id", "ag-101"])
    assert [json.loads(line)["id"] for line in exported.output.splitlines()] == [m["decision_id"] for m in made]
    import sqlite3
    database = sqlite3.connect(tmp_path / "log.db")
    database.execute("DROP TRIGGER decision_log_no_update")
    database.execute("UPDATE decision_log SET outcome = 'allow' WHERE seq = 2")
    database.commit()
    failed = runner.invoke(main, ["audit", "verify", "--database", url, "--anchor", anchor])
    assert failed.exit_code == 1
    assert f"entry 2 ({made[1]['decision_id']}) was edited" in failed.output
    assert runner.invoke(main, ["audit", "verify", "--database", url, "--anchor", "x"]).exit_code == 2
    bad_filter = runner.invoke(main, ["audit", "export", "--database", url, "--outcome", "maybe"])
    assert bad_filter.exit_code == 2 and "outcome" in bad_filter.output
