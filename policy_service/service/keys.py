"""API keys (docs/contract.md §8): a key file of hashed keys, each with a name, roles and an optional trusted_tier.

A key is 32 random bytes, so one SHA-256 is enough to store it safely (a slow password hash would add
milliseconds to every request and protects nothing a random key needs). The plain key is shown once,
by `policy-service keys create`, and never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from policy_service.errors import KeyFileError

ROLES = ("agent_tool", "approver", "auditor", "policy_admin")
KEY_PREFIX = "psk_"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


@dataclass(frozen=True)
class ApiKey:
    name: str
    roles: frozenset[str]
    trusted_tier: bool = False

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)


DEV_CALLER = ApiKey("dev", frozenset(ROLES), trusted_tier=True)


class _KeySchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Regexp(NAME_PATTERN))
    hash = fields.String(required=True, validate=validate.Regexp(r"^sha256:[0-9a-f]{64}$"))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1))
    trusted_tier = fields.Boolean(load_default=False)
    created_at = fields.String()


class _KeyFileSchema(Schema):
    class Meta:
        unknown = RAISE

    keys = fields.List(fields.Nested(_KeySchema), required=True)


def hash_key(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyRing:
    """The keys of one key file, looked up by the hash of the presented secret."""

    def __init__(self, keys: dict[str, ApiKey]) -> None:
        self._by_hash = keys

    @classmethod
    def load(cls, path: str | Path) -> KeyRing:
        records = _read(Path(path))
        return cls({r["hash"]: ApiKey(r["name"], frozenset(r["roles"]), r["trusted_tier"]) for r in records})

    def find(self, secret: str) -> ApiKey | None:
        return self._by_hash.get(hash_key(secret))

    def __len__(self) -> int:
        return len(self._by_hash)


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _KeyFileSchema().load(data)["keys"]  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise KeyFileError(f"{path}: {exc.messages}") from None
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    """Atomically, readable by its owner only: a half-written key file would lock every caller out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"keys": records}, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def create_key(path: str | Path, name: str, roles: Iterable[str], trusted_tier: bool = False) -> str:
    """Add a key and return its secret (the only time it exists outside the caller's hands)."""
    records = _read(Path(path))
    if any(r["name"] == name for r in records):
        raise KeyFileError(f'a key named "{name}" already exists in {path}; revoke it first or pick another name')
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    record = {"name": name, "hash": hash_key(secret), "roles": sorted(set(roles)), "trusted_tier": trusted_tier,
              "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        _KeySchema().load(record)  # the rules a reader applies: an unloadable file is never written
    except ValidationError as exc:
        raise KeyFileError(f"key {name}: {exc.messages}") from None
    _write(Path(path), [*records, record])
    return secret


def revoke_key(path: str | Path, name: str) -> bool:
    records = _read(Path(path))
    kept = [r for r in records if r["name"] != name]
    if len(kept) == len(records):
        return False
    _write(Path(path), kept)
    return True


def list_keys(path: str | Path) -> list[dict[str, Any]]:
    """Names, roles and creation times; never the hashes."""
    return [{k: v for k, v in r.items() if k != "hash"} for r in _read(Path(path))]
