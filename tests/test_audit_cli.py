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

