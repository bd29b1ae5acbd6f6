"""The decision log's schema: its version, migrating it (safely when several processes start at once)
and PostgreSQL's append-only grants. A part of DecisionStore, kept apart so each file stays one subject;
the migrations themselves are in `migrations/versions`."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from policy_service.decisionlog.connection import ensure_directory
from policy_service.decisionlog.presence import missing_log
from policy_service.decisionlog.schema import APPEND_ONLY_TABLES
from policy_service.errors import StoreError

_MIGRATIONS = "policy_service.decisionlog:migrations"
_PG_MIGRATION_LOCK = 0x706F6C6963790002  # pg_advisory_lock key: "policy" + 2 (the chain's is + 1)


class LogSchema:
    url: str
    engine: Engine
    dialect: str

    def schema_version(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def missing_log(self) -> str | None:
        """Why this URL holds no current decision log (None when it does); creates nothing."""
        return missing_log(self.engine, ScriptDirectory.from_config(alembic_config()).get_current_head() or "")

    def upgrade(self) -> None:
        """Migrate to the newest schema; safe when several processes start at once."""
        ensure_directory(self.url)
        try:
            with self._migration_lock():
                self._migrate()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the decision log: {exc.__class__.__name__}: {exc}") from exc

    def prepare(self) -> None:
        """Make sure the schema is current, migrating only when it is not (a service role cannot).

        The version is read under the migration lock too: on a new SQLite file, a process reading it
        while another creates the schema (and switches the file to WAL) was refused with "database is
        locked", and that instance failed to start (seen with two instances starting at once)."""
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        ensure_directory(self.url)
        try:
            with self._migration_lock():
                if self.schema_version() != head:
                    self._migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot reach or migrate the decision log: {exc.__class__.__name__}: {exc}") from exc

    def _migrate(self) -> None:
        config = alembic_config()
        with self.engine.connect() as connection:
            # SQLite rebuilds a table by copying it (migration 0007), which its documented procedure
            # does with foreign keys off: a row that belongs to no entry (a tampered log's, which
            # `audit verify` is there to name) is copied as it is instead of stopping every upgrade.
            # Only outside a transaction does the pragma take effect; the pooled connection gets
            # them back, as every connection has them.
            sqlite = connection.connection.dbapi_connection if self.dialect == "sqlite" else None
            if sqlite is not None:
                sqlite.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
            finally:
                if sqlite is not None:
                    try:
                        sqlite.execute("PRAGMA foreign_keys=ON")
                    except Exception:  # a broken connection: never back in the pool without them
                        connection.invalidate()

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect == "postgresql":
            with self.engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
        else:
            database = self.engine.url.database
            if not database or database == ":memory:":
                yield
                return
            with open(f"{database}.migrate-lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield

    def grant_append_only(self, role: str) -> None:
        """PostgreSQL: `role` may read and append, never update, delete or truncate (docs/contract.md §6)."""
        if self.dialect != "postgresql":
            raise StoreError("grants exist only on PostgreSQL; SQLite relies on its triggers and file permissions")
        quoted = self.engine.dialect.identifier_preparer.quote(role)
        tables = ", ".join(APPEND_ONLY_TABLES)
        with self.engine.begin() as connection:
            connection.execute(text(f"REVOKE ALL ON {tables}, alembic_version FROM {quoted}"))
            connection.execute(text(f"GRANT SELECT, INSERT ON {tables} TO {quoted}"))
            connection.execute(text(f"GRANT SELECT ON alembic_version TO {quoted}"))
            # The serial columns' sequences (policy_reloads.seq and the like): an INSERT draws from
            # them. USAGE allows nextval only; setval would need UPDATE, which is never granted.
            sequences = connection.execute(text(
                "SELECT DISTINCT pg_get_serial_sequence(c.table_name, c.column_name) FROM information_schema.columns c "
                "WHERE c.table_schema = current_schema() AND c.table_name = ANY(:tables) "
                "AND pg_get_serial_sequence(c.table_name, c.column_name) IS NOT NULL"), {"tables": list(APPEND_ONLY_TABLES)}).scalars().all()
            for sequence in sequences:
                connection.execute(text(f"REVOKE ALL ON SEQUENCE {sequence} FROM {quoted}"))
                connection.execute(text(f"GRANT USAGE ON SEQUENCE {sequence} TO {quoted}"))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    return config
