"""Every POLICY_SERVICE_* setting in one place: its name, its default and what it does.

The environment is how settings reach a service: `policy-service serve` turns its options into these
variables before gunicorn starts, so the master and every worker read the same values; a container
sets them directly. Nothing else in the package reads `os.environ` for a setting of ours.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_POLICIES = "policies"
DEFAULT_KEYS_FILE = "var/keys.json"
DEFAULT_BIND = "127.0.0.1:8080"

# name -> what it does (docs/operations.md shows this table; tests/test_config.py keeps them equal).
VARIABLES: dict[str, str] = {
    "POLICY_SERVICE_POLICIES": "the policy directory (default ./policies)",
    "POLICY_SERVICE_DATABASE_URL": "SQLAlchemy URL of the decision log (default: SQLite at ./var/decisions.db)",
    "POLICY_SERVICE_KEYS": "the API key file (default ./var/keys.json)",
    "POLICY_SERVICE_DEV": "1: no keys, every caller trusted, loopback only (set by serve --dev)",
    "POLICY_SERVICE_BIND": "HOST:PORT to listen on (default 127.0.0.1:8080)",
    "POLICY_SERVICE_WORKERS": "gunicorn worker processes (default: from the CPU count)",
    "POLICY_SERVICE_TIMEOUT": "seconds before gunicorn replaces a silent worker (default 30)",
    "POLICY_SERVICE_GRACEFUL_TIMEOUT": "seconds a stopping worker has to finish its request (default 30)",
    "POLICY_SERVICE_WATCH": "1: reload when the policy directory changes (set by serve --watch)",
    "POLICY_SERVICE_ALLOW_FAILING_TESTS": "1: a start or reload accepts a set whose own test cases fail (set by serve --allow-failing-tests)",
    "POLICY_SERVICE_SHADOW_POLICIES": "a candidate policy directory judged beside the live one (shadow mode)",
    "POLICY_SERVICE_FOLLOW_RELOADS": "1: workers follow the reload log (set by the gunicorn config)",
    "POLICY_SERVICE_MASKED_FIELDS": "comma-separated request paths masked before storage",
    "POLICY_SERVICE_CUSTOMER_ID_KEY": "secret for storing customer ids as keyed hashes",
    "POLICY_SERVICE_LOG_KEY": "secret under which entry hashes are HMAC-SHA256 (audit verify --key detects forged appends)",
    "POLICY_SERVICE_SECRET_KEY": "secret that signs the console's session cookies (default: one random key per serve instance)",
    "POLICY_SERVICE_APPROVAL_OVERDUE_MINUTES": "minutes after which the console marks a pending escalation overdue (default 15)",
}


@dataclass(frozen=True)
class Settings:
    policies: str = DEFAULT_POLICIES
    database_url: str | None = None  # None: the decision log's default SQLite file
    keys_file: str = DEFAULT_KEYS_FILE
    dev: bool = False
    bind: str = DEFAULT_BIND
    workers: int | None = None  # None: from the CPU count
    timeout: int = 30
    graceful_timeout: int = 30
    watch: bool = False
    allow_failing_tests: bool = False
    shadow_policies: str | None = None
    follow_reloads: bool = False
    masked_fields: str = ""
    customer_id_key: str | None = None
    log_key: str | None = None
    secret_key: str | None = None  # None: serve makes one per instance (serving/gunicorn_conf.py)
    approval_overdue_minutes: int = 15

    @property
    def log_url(self) -> str:
        """The decision log's URL: the setting, else SQLite at ./var/decisions.db under the working directory."""
        return self.database_url or default_database_url()


def default_database_url(cwd: Path | None = None) -> str:
    return f"sqlite:///{(cwd or Path.cwd()) / 'var' / 'decisions.db'}"


def settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings as the environment gives them; an empty value counts as unset."""
    def text(name: str) -> str | None:
        return environ.get(f"POLICY_SERVICE_{name}") or None

    def flag(name: str) -> bool:
        return text(name) == "1"

    workers = text("WORKERS")
    return Settings(
        policies=text("POLICIES") or DEFAULT_POLICIES,
        database_url=text("DATABASE_URL"),
        keys_file=text("KEYS") or DEFAULT_KEYS_FILE,
        dev=flag("DEV"),
        bind=text("BIND") or DEFAULT_BIND,
        workers=int(workers) if workers else None,
        timeout=int(text("TIMEOUT") or 30),
        graceful_timeout=int(text("GRACEFUL_TIMEOUT") or 30),
        watch=flag("WATCH"),
        allow_failing_tests=flag("ALLOW_FAILING_TESTS"),
        shadow_policies=text("SHADOW_POLICIES"),
        follow_reloads=flag("FOLLOW_RELOADS"),
        masked_fields=text("MASKED_FIELDS") or "",
        customer_id_key=text("CUSTOMER_ID_KEY"),
        log_key=text("LOG_KEY"),
        secret_key=text("SECRET_KEY"),
        approval_overdue_minutes=int(text("APPROVAL_OVERDUE_MINUTES") or 15),
    )
