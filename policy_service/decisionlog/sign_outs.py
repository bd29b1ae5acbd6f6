"""Console sessions signed out (migration 0005): appended on "Salir", probed by every console request.
A part of DecisionStore, kept apart so each file stays one subject.

Outside the hash chain and carrying no authority: a row can only end a session, so `audit verify`
does not hold this table against the chain, and a forged row signs someone out at worst.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timezone

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from policy_service.decisionlog.schema import sign_outs_table
from policy_service.errors import StoreError


class SignOuts:
    engine: Engine
    _reading: Callable[[], AbstractContextManager[Connection]]

    def record_sign_out(self, session_id: str) -> None:
        """Append `session_id` as signed out (again: nothing changes); StoreError when unreachable."""
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(sign_outs_table), {"session_id": session_id,
                                                             "signed_out_at": datetime.now(timezone.utc)})
        except IntegrityError:
            pass  # signed out already (a replayed copy of the cookie pressed "Salir" too)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record the sign-out: {exc.__class__.__name__}: {exc}") from exc

    def signed_out(self, session_id: str) -> bool:
        """Whether `session_id` was signed out: one probe of the table's primary key."""
        query = select(sign_outs_table.c.session_id).where(sign_outs_table.c.session_id == session_id)
        with self._reading() as connection:
            return connection.execute(query).first() is not None
