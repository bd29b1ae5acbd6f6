"""The `audit` commands (and `replay`, which reads the log too) never create a log: on a database that
does not exist or holds no log schema they say so and exit 2 (docs/contract.md §6), on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner
from helpers import EXAMPLE_POLICIES

from policy_service.cli import main

READERS = [["audit", "verify"], ["audit", "export", "--format", "csv"], ["audit", "export", "--format", "jsonl"],
           ["replay", "--candidate", str(EXAMPLE_POLICIES), "--since", "all"]]


def tables(url: str) -> list[str]:
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        return sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_audit_verify_in_the_wrong_folder_says_there_is_no_log_and_creates_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default log (./var/decisions.db) is absent: exit 2 naming it, and no var/ folder appears."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POLICY_SERVICE_DATABASE_URL", raising=False)
    for command in READERS:
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, (command, result.output)
        assert "no decision log at" in result.output and "var/decisions.db" in result.output, result.output
        assert "ok:" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_the_log_schema_is_refused_and_left_as_it_was(database_url: str) -> None:
    """An empty SQLite file or PostgreSQL database: exit 2, and still no tables; `db upgrade` makes a log."""
    if database_url.startswith("sqlite"):  # an existing, empty SQLite file
        sqlalchemy.create_engine(database_url).connect().close()
        assert Path(database_url.removeprefix("sqlite:///")).is_file()
    else:  # and a PostgreSQL database that does not exist at all
        absent = CliRunner().invoke(main, ["audit", "verify", "--database", database_url + "_absent"])
        assert absent.exit_code == 2 and "cannot open the decision log" in absent.output, absent.output
        assert "does not exist" in absent.output
    for command in READERS:
        result = CliRunner().invoke(main, [*command, "--database", database_url])
        assert result.exit_code == 2, (command, result.output)
        assert "holds no decision log" in result.output, result.output
    assert tables(database_url) == []
    assert CliRunner().invoke(main, ["db", "upgrade", "--database", database_url]).exit_code == 0
    verified = CliRunner().invoke(main, ["audit", "verify", "--database", database_url])
    assert verified.exit_code == 0 and "ok: 0 entries" in verified.output



def test_audit_export_carries_approvals_and_outcomes_and_kind_narrows_them(database_url: str, tmp_path: Path) -> None:
    """The CLI export has every entry with its kind; `--kind outcome` keeps what was actually granted."""
    import csv
    import io

    from helpers import BODY, make_app

    client = make_app(tmp_path, DATABASE_URL=database_url).test_client()
    decision_id = client.post("/v1/decisions", json=BODY).get_json()["decision_id"]
    client.post(f"/v1/decisions/{decision_id}/approval", json={"approver_id": "sup-7", "verdict": "approve", "amount": "90"})
    client.post(f"/v1/decisions/{decision_id}/outcome", json={"action": "refund", "amount": "90"})
    every = CliRunner().invoke(main, ["audit", "export", "--database", database_url])
    assert [r["kind"] for r in csv.DictReader(io.StringIO(every.output))] == ["decision", "approval", "outcome"]
    granted = CliRunner().invoke(main, ["audit", "export", "--database", database_url, "--kind", "outcome"])
    rows = list(csv.DictReader(io.StringIO(granted.output)))
    assert [(r["decision_id"], r["granted_action"], r["granted_amount"]) for r in rows] == [(decision_id, "refund", "90.00")]


def test_audit_export_resolves_a_bare_rule_against_the_policies(tmp_path: Path) -> None:
    """`--rule gold_leeway` exports what `--rule refunds/gold_leeway` does; an unknown one exits 2 naming it."""
    from helpers import BODY, make_app

    url = f"sqlite:///{tmp_path / 'log.db'}"
    decision_id = make_app(tmp_path, DATABASE_URL=url).test_client().post("/v1/decisions", json=BODY).get_json()["decision_id"]
    bare = CliRunner().invoke(main, ["audit", "export", "--database", url, "--format", "jsonl", "--rule", "gold_leeway",
                                     "--policies", str(EXAMPLE_POLICIES)])
    assert bare.exit_code == 0, bare.output
    assert bare.output.count("\n") == 1 and decision_id in bare.output
    unknown = CliRunner().invoke(main, ["audit", "export", "--database", url, "--rule", "gold_leway",
                                        "--policies", str(EXAMPLE_POLICIES)])
    assert unknown.exit_code == 2 and "rule" in unknown.output and "gold_leeway" in unknown.output
