"""The matrix in the chosen locale (service/matrix.py): tier and action labels, "requires <tier label>",
and no scale shown on a yes/no action, in the CLI table and in GET /v1/policies/matrix."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers import EXAMPLE_POLICIES, make_app

from policy_service.cli import main


def _scale_every_action(policies: Path) -> None:
    """company_fault_doubles scales every action of its policy, reshipment (a flag) included."""
    path = policies / "deliveries.yaml"
    path.write_text(path.read_text().replace("scale: {delivery_compensation: 2}", "scale: 2"))


def test_the_table_shows_tier_and_action_labels_and_required_tiers_by_label() -> None:
    """Columns are tier labels, rows action labels, and a required tier is named by its label."""
    spanish = CliRunner().invoke(main, ["matrix", str(EXAMPLE_POLICIES), "--locale", "es"]).output.splitlines()
    assert spanish[1].split("  ")[0] == "acción"
    assert [cell.strip() for cell in spanish[1].split("  ") if cell.strip()][1:] == \
        ["Asistente virtual", "Asesor", "Asesor sénior", "Supervisor", "Gerente"]
    assert any(line.startswith("Reembolso ") for line in spanish)
    assert any(line.endswith("(fees.yaml:34): requiere Supervisor") for line in spanish)
    english = CliRunner().invoke(main, ["matrix", str(EXAMPLE_POLICIES), "--locale", "en"]).output
    assert "Virtual assistant" in english and "\nRefund " in english and "requires Supervisor" in english
    assert "virtual_agent" not in english and "senior_agent" not in english


def test_no_scale_is_shown_on_a_yes_no_action(policies_copy: Path) -> None:
    """A scale cannot change a flag's "yes", so the flag's row does not list it; the money row does."""
    _scale_every_action(policies_copy)
    text = CliRunner().invoke(main, ["matrix", str(policies_copy), "--locale", "es"]).output
    reship = text.split("Reenvío sin coste")[1].split("\nCondonación")[0]
    assert "company_fault_doubles" not in reship
    assert "company_fault_doubles (deliveries.yaml:23): × 2" in text.split("Reenvío sin coste")[0]


def test_the_http_matrix_speaks_labels_in_its_effects(policies_copy: Path, tmp_path: Path) -> None:
    """GET /v1/policies/matrix: `effect` texts name tiers by label, and a flag row shows no scale."""
    _scale_every_action(policies_copy)
    client = make_app(tmp_path, POLICIES=str(policies_copy)).test_client()
    body = client.get("/v1/policies/matrix?locale=en").get_json()
    rows = {row["action"]: row for row in body["actions"]}
    effects = {c["key"]: c["effect"] for c in rows["fee_waiver"]["changed_by"]}
    assert effects["fees/repeated_late_payer"] == "requires Supervisor"
    assert [c["key"] for c in rows["reshipment"]["changed_by"]] == ["deliveries/ai_never_reships"]
    assert rows["refund"]["label"] == "refund"
    assert json.dumps(body).count("Virtual assistant") >= 1


def _label_and_limit_the_goodwill_cap(policies: Path) -> None:
    """The goodwill cap gets another label, one use per customer and a 12-hour window; the daily refund
    cap loses its label."""
    path = policies / "refunds.yaml"
    text = path.read_text().replace("    window: 90d\n    max_amount: 300\n    max_count: 3\n",
                                    "    window: 12h\n    max_amount: 300\n    max_count: 1\n")
    text = text.replace("{es: margen de cortesía de 90 días, en: 90-day goodwill allowance}",
                        "{es: margen de cortesía, en: goodwill allowance}")
    path.write_text(text.replace("    label: {es: margen diario de reembolsos, en: daily refund allowance}\n", ""))


def test_a_cap_is_shown_by_its_label_with_its_numbers_in_the_singular(policies_copy: Path) -> None:
    """A labelled cap reads by its label (its id beside it), and one use is "1 vez" / "1 time"."""
    _label_and_limit_the_goodwill_cap(policies_copy)
    spanish = CliRunner().invoke(main, ["matrix", str(policies_copy), "--locale", "es"]).output.replace("\u00a0", " ")
    assert ("↳ margen de cortesía (refunds/customer_goodwill_90d, refunds.yaml): 300,00 € / 1 vez por cliente, "
            "cada 12 horas (Gerente y superiores no se ven limitados)") in spanish
    english = CliRunner().invoke(main, ["matrix", str(policies_copy), "--locale", "en"]).output.replace("\u00a0", " ")
    assert "↳ goodwill allowance (refunds/customer_goodwill_90d, refunds.yaml): €300.00 / 1 time per customer, every 12 hours" in english
    assert "↳ refunds/agent_daily_refunds (refunds.yaml): " in english  # no label: the id, as before


def test_the_json_matrix_gives_each_cap_its_label(policies_copy: Path) -> None:
    """`changed_by` carries a cap's label in the locale (its id without one), and null for a rule."""
    _label_and_limit_the_goodwill_cap(policies_copy)
    body = json.loads(CliRunner().invoke(main, ["matrix", str(policies_copy), "--locale", "es", "--format", "json"]).output)
    labels = {c["key"]: c["label"] for row in body["actions"] if row["action"] == "refund" for c in row["changed_by"]}
    assert labels["refunds/customer_goodwill_90d"] == "margen de cortesía"
    assert labels["refunds/agent_daily_refunds"] == "agent_daily_refunds"
    assert labels["refunds/gold_leeway"] is None
