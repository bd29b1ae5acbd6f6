"""Whether a URL holds a decision log, found out without creating anything (docs/contract.md §6).

`audit` commands read a log; they must never make one. Opening a SQLite URL creates its file, and the
store's own connections switch it to WAL, so a missing file is refused before anything connects and
an existing one is inspected read-only; a PostgreSQL database is only read.
"""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError


def missing_log(engine: Engine, head: str) -> str | None:
    """Why `engine`'s database holds no current decision log, or None when it does."""
    where = engine.url.database if engine.dialect.name == "sqlite" else engine.url.render_as_string(hide_password=True)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            return "an in-memory database holds no decision log"
        if not Path(database).is_file():
            return f"no decision log at {database}: the file does not exist"
        engine = create_engine(f"sqlite:///file:{Path(database).resolve()}?mode=ro&uri=true")
    try:
        with engine.connect() as connection:
            has_log = inspect(connection).has_table("decision_log")
            version = MigrationContext.configure(connection).get_current_revision() if has_log else None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else exc.__class__.__name__
        return f"cannot open the decision log at {where}: {reason}"
    finally:
        if engine.dialect.name == "sqlite":
            engine.dispose()
    if not has_log:
        return f"{where} holds no decision log (no log schema)"
    if version != head:
        return (f"the decision log at {where} has schema version {version}, not this version's {head}: "
                "run `policy-service db upgrade`")
    return None
