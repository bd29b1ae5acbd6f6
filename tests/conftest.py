"""Shared fixtures: the example policies, a fresh app per test on a real SQLite file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from policy_service import create_app
from policy_service.runtime import PolicyRuntime, load_runtime

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICIES = ROOT / "policies"


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


def make_app(tmp_path: Path, **config: Any) -> Any:
    settings = {"TESTING": True, "POLICIES": str(EXAMPLE_POLICIES), "DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}", "DEV": True}
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app(tmp_path: Path) -> Any:
    return make_app(tmp_path)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()
