"""The durable floor (docs/contract.md §12): a bare Flask endpoint that also appends the exchange to a
SHA-256 chain before replying, the least any service must do to answer a decision it has durably
recorded. Served under the same gunicorn settings as the service, in the same run (bench/http_api.py).

SQLite: WAL, synchronous=NORMAL, one transaction per request under the database's write lock
(BEGIN IMMEDIATE), as the decision log. PostgreSQL: one transaction per request under a
transaction-scoped advisory lock, as the decision log. FLOOR_DATABASE_URL chooses (sqlite:///path or
postgresql://...); each process keeps one connection.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from typing import Any

from flask import Flask, jsonify, request

CHAIN_LOCK = 0x706F6C6963790FFF  # pg_advisory_xact_lock key of the floor's own chain
GENESIS = "0" * 64


class SqliteChain:
    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=5)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute("CREATE TABLE IF NOT EXISTS chain (seq INTEGER PRIMARY KEY, exchange TEXT NOT NULL, "
                                "prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")

    def append(self, exchange: str) -> str:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            row = cursor.execute("SELECT hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
            previous = row[0] if row else GENESIS
            digest = hashlib.sha256((previous + exchange).encode()).hexdigest()
            cursor.execute("INSERT INTO chain (exchange, prev_hash, hash) VALUES (?, ?, ?)", (exchange, previous, digest))
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return digest


class PostgresChain:
    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url)
        with self.connection.transaction():
            self.connection.execute("CREATE TABLE IF NOT EXISTS floor_chain (seq BIGSERIAL PRIMARY KEY, "
                                    "exchange TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")

    def append(self, exchange: str) -> str:
        with self.connection.transaction():
            self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_LOCK,))
            row = self.connection.execute("SELECT hash FROM floor_chain ORDER BY seq DESC LIMIT 1").fetchone()
            previous = row[0] if row else GENESIS
            digest = hashlib.sha256((previous + exchange).encode()).hexdigest()
            self.connection.execute("INSERT INTO floor_chain (exchange, prev_hash, hash) VALUES (%s, %s, %s)",
                                    (exchange, previous, digest))
        return digest


def create_app() -> Flask:
    app = Flask("floor")
    url = os.environ["FLOOR_DATABASE_URL"]
    chain: list[Any] = []  # opened in the worker on first use, never in gunicorn's master before fork

    @app.post("/v1/decisions")
    def decide():  # type: ignore[no-untyped-def]
        if not chain:
            chain.append(SqliteChain(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else PostgresChain(url))
        body = request.get_json()
        answer = {"outcome": "allow", "action": body["proposal"]["action"]}
        digest = chain[0].append(json.dumps({"request": body, "answer": answer}, sort_keys=True))
        return jsonify(**answer, hash=digest), 201

    return app
