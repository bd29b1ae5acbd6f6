"""`validate` checks what every policy test case refers to (policytest/checks.py), so `test` never fails
on a reference `validate` accepted, and `test` says what is wrong in words."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from policy_service.cli import main

SUITE = """apiVersion: policy-service/v1
kind: PolicyTest
policy: fees
cases:
  - name: a case whose references are all wrong
    request:
      agent: {tier: agnet}
      customer: {tier: glod, open_invoices: 2}
      case: {days_since_purchse: 3}
      proposal: {action: fee_waver, amount: 10}
      usage: {customer_goodwill_90d: {amount: 0, count: 0}}
    expect: {outcome: allow, to_tier: supervsor, rules: [biling_error]}
  - name: an agent nobody knows
    request:
      agent: {id: ag-1O2}
      proposal: {action: fee_waiver, amount: 10}
    expect: {outcome: allow}
"""


def _diagnostics(policies: Path) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["validate", "--lang", "en", str(policies), "--format", "json"])
    assert result.exit_code == 1, result.output
    return [d for d in json.loads(result.output)["diagnostics"] if d["file"] == "wrong_test.yaml"]


def test_validate_names_another_policys_cap_in_usage_with_its_position_and_how_to_write_it(policies_copy: Path) -> None:
    """A bare `usage` id of another policy's cap is a positioned PS018 saying to write policy/cap."""
    (policies_copy / "wrong_test.yaml").write_text(SUITE, encoding="utf-8")
    found = {d["code"]: d for d in _diagnostics(policies_copy)}
    cap = found["PS018"]
    assert (cap["line"], cap["column"]) == (11, 15)
    assert cap["message"] == 'unknown cap "customer_goodwill_90d" in policy fees'
    assert cap["hint"] == 'a cap of another policy is written with its policy: "refunds/customer_goodwill_90d"'


def test_validate_checks_tiers_agents_actions_fields_values_and_rules_of_every_case(policies_copy: Path) -> None:
    """Each wrong reference in a case is one positioned diagnostic with a did-you-mean hint."""
    (policies_copy / "wrong_test.yaml").write_text(SUITE, encoding="utf-8")
    found = {(d["line"], d["code"], d["message"], d["hint"]) for d in _diagnostics(policies_copy)}
    assert found == {
        (7, "PS013", 'unknown tier "agnet"', 'did you mean "agent"?'),
        (8, "PS024", '"glod" is not a value of customer.tier', 'did you mean "gold"?'),
        (8, "PS020", '"customer.open_invoices" is declared by the organisation: write it under customer.attributes',
         "customer: {attributes: {open_invoices: ...}}"),
        (9, "PS020", 'unknown field "case.days_since_purchse"', 'did you mean "days_since_purchase"?'),
        (10, "PS014", 'unknown action "fee_waver"', 'did you mean "fee_waiver"?'),
        (11, "PS018", 'unknown cap "customer_goodwill_90d" in policy fees',
         'a cap of another policy is written with its policy: "refunds/customer_goodwill_90d"'),
        (12, "PS013", 'unknown tier "supervsor"', 'did you mean "supervisor"?'),
        (12, "PS019", 'unknown rule "biling_error"', 'did you mean "billing_error_is_ours"?'),
        (15, "PS017", 'unknown agent "ag-1O2": not in the agent directory', 'did you mean "ag-102"?'),
    }


def test_test_reports_a_wrong_reference_in_words_not_as_a_python_dict(policies_copy: Path) -> None:
    """`test` says which path of the case is wrong and how to fix it; no `{'usage': ...}` dict."""
    (policies_copy / "wrong_test.yaml").write_text(SUITE.split("  - name: an agent")[0], encoding="utf-8")
    result = CliRunner().invoke(main, ["test", "--lang", "en", str(policies_copy)])
    assert result.exit_code == 1
    assert ("request.usage.customer_goodwill_90d: unknown cap \"customer_goodwill_90d\" in policy fees "
            "(a cap of another policy is written with its policy: \"refunds/customer_goodwill_90d\")") in result.output
    assert "{'" not in result.output
