"""Shared fixtures: the example policies, a fresh app per test on a real SQLite file."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from helpers import EXAMPLE_POLICIES, make_app
from helpers import keyed_app as keyed_app  # re-exported: tests/test_openapi.py imports it from here

from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import DecisionStore
from policy_service.service.reloading import load_runtime


@pytest.fixture(scope="session")
def runtime() -> Iterator[PolicyRuntime]:
    loaded, result = load_runtime(EXAMPLE_POLICIES)
    assert loaded is not None, result.diagnostics
    yield loaded


@pytest.fixture
def policies_copy(tmp_path: Path) -> Path:
    """A writable copy of the example policies, for tests that break or change them."""
    target = tmp_path / "policies"
    shutil.copytree(EXAMPLE_POLICIES, target)
    return target


@pytest.fixture
def app(tmp_path: Path) -> Any:
    return make_app(tmp_path)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


# -- the decision log's backends: every store test runs on SQLite and on PostgreSQL ---------------------

PG_SERVER = os.environ.get("POLICY_SERVICE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: Any, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test. PostgreSQL is never skipped silently: CI must exercise it
    (set POLICY_SERVICE_SKIP_POSTGRES=1 to run only SQLite on a machine without a server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
        return
    if os.environ.get("POLICY_SERVICE_SKIP_POSTGRES") == "1":
        pytest.skip("POLICY_SERVICE_SKIP_POSTGRES=1")
    name = f"ps_test_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
                                     isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[DecisionStore]:
    """A prepared decision log on each backend (database_url)."""
    opened = DecisionStore(database_url)
    opened.prepare()
    yield opened
    opened.dispose()
