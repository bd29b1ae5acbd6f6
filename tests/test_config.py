"""Settings: read in one place, documented in one table."""

from __future__ import annotations

import re
from pathlib import Path

from policy_service import config

ROOT = Path(__file__).resolve().parents[1]


def test_the_documented_variables_are_the_ones_config_reads() -> None:
    """docs/operations.md's table lists exactly the variables of config.VARIABLES."""
    table = set(re.findall(r"^\| `(POLICY_SERVICE_[A-Z_]+)` \|", (ROOT / "docs/operations.md").read_text(), re.M))
    assert table == set(config.VARIABLES)


def test_no_module_but_config_reads_a_setting_from_the_environment() -> None:
    """A setting read elsewhere would have a second default that can disagree with the first."""
    readers = [str(path.relative_to(ROOT)) for path in ROOT.glob("policy_service/**/*.py")
               if path.name != "config.py" and re.search(r"environ\.get\(\"POLICY_SERVICE_|environ\[\"POLICY_SERVICE_[A-Z_]+\"\](?! =)", path.read_text())]
    assert not readers


def test_settings_come_from_the_environment_and_empty_means_unset() -> None:
    """Every variable maps to a setting; an empty value falls back to the default."""
    given = config.settings({"POLICY_SERVICE_POLICIES": "/srv/policies", "POLICY_SERVICE_WORKERS": "3",
                             "POLICY_SERVICE_DEV": "1", "POLICY_SERVICE_DATABASE_URL": "", "POLICY_SERVICE_TIMEOUT": "9"})
    assert (given.policies, given.workers, given.dev, given.database_url, given.timeout) == ("/srv/policies", 3, True, None, 9)
    assert config.settings({}) == config.Settings()
