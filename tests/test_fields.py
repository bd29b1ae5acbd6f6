"""`policy-service fields` (service/fields.py): every field rules may read, its type, and where it travels
in a request, read from the organisation and the request schema."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers import BODY, EXAMPLE_POLICIES, ROOT

from policy_service.cli import main
from policy_service.model import BUILTIN_FIELDS


def _rows(directory: Path) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(main, ["fields", str(directory), "--format", "json"])
    assert result.exit_code == 0, result.output
    return {row["field"]: row for row in json.loads(result.output)}


def test_fields_lists_built_in_and_declared_fields_with_where_they_travel() -> None:
    """Built-ins travel under their own names; declared ones under `attributes`; the directory fills in agents'."""
    rows = _rows(EXAMPLE_POLICIES)
    assert set(BUILTIN_FIELDS) <= set(rows)
    assert rows["case.days_since_purchase"] == {"field": "case.days_since_purchase", "type": "integer", "values": None,
                                                "kind": "built-in", "request": "case.days_since_purchase", "note": None}
    assert rows["customer.tier"]["values"] == ["standard", "gold", "platinum"]
    assert rows["case.is_final_sale"] == {"field": "case.is_final_sale", "type": "boolean", "values": None,
                                          "kind": "declared", "request": "case.attributes.is_final_sale", "note": None}
    assert rows["agent.team"]["note"] == "from the agent directory by agent.id"
    # What an author may write in `when:` for the two built-ins whose values are the organisation's ids.
    assert rows["proposal.action"]["values"] == ["refund", "store_credit", "delivery_compensation", "reshipment",
                                                 "fee_waiver", "free_shipping", "payment_extension"]
    assert rows["agent.tier"]["values"] == ["virtual_agent", "agent", "senior_agent", "supervisor", "manager"]


def test_every_listed_request_path_is_one_a_decision_request_accepts(runtime: object) -> None:
    """Each path comes from the request schema, so the sample body's values sit where the list says."""
    rows = _rows(EXAMPLE_POLICIES)
    for name in ("customer.tier", "case.order_value", "case.fault", "proposal.amount"):
        head, tail = str(rows[name]["request"]).split(".")
        assert tail in BODY[head]  # type: ignore[operator]


def test_the_text_table_shows_another_organisations_own_fields() -> None:
    """A second organisation's declared fields appear, typed, with their `attributes` path."""
    result = CliRunner().invoke(main, ["fields", str(ROOT / "tests/organisations/telco"), "--lang", "en"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["field", "type", "kind", "in", "a", "request", "values"]
    declared = [line.split() for line in lines if " declared " in line]
    assert declared and all(words[3].split(".")[1] == "attributes" for words in declared)


def test_the_text_table_speaks_the_organisations_first_locale_and_lang_chooses() -> None:
    """The example organisation's first locale is es: the table's words are Spanish by default (field
    names, types and values stay as rules write them); --lang en gives English."""
    spanish = CliRunner().invoke(main, ["fields", str(EXAMPLE_POLICIES)]).output.splitlines()
    assert spanish[0].split() == ["campo", "tipo", "clase", "en", "una", "solicitud", "valores"]
    tier = next(line for line in spanish if line.startswith("agent.tier "))
    assert " incorporado " in tier and "del directorio de agentes por agent.id (una clave de confianza puede enviar agent.tier)" in tier
    assert any(" declarado " in line and line.startswith("case.") for line in spanish)
    english = CliRunner().invoke(main, ["fields", str(EXAMPLE_POLICIES), "--lang", "en"]).output.splitlines()
    assert english[0].split() == ["field", "type", "kind", "in", "a", "request", "values"]
