"""API keys (docs/contract.md §8): a key file of hashed keys, each with a name, roles, an optional
trusted_tier and, for keys that act for agents (agent_tool, approver), a scope of agents.

A scope is exactly one of: one agent (`--agent ID`: the key acts as that agent), the agents of a team
and/or at or below a tier (`--team`, `--max-tier`), or any agent (`--any-agent`, for an integration that
authenticates its own users). A key written before scopes existed keeps any-agent semantics, marked
`legacy` so `serve` can warn about it. A request naming an agent outside its key's scope is refused.

A key is 32 random bytes, so one SHA-256 is enough to store it safely (a slow password hash would add
milliseconds to every request and protects nothing a random key needs). The plain key is shown once,
by `policy-service keys create`, and never stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from policy_service.deciding.request import WholeMatch
from policy_service.errors import KeyFileError, NotPermittedError
from policy_service.model import Agent, Organization

log = logging.getLogger(__name__)

ROLES = ("agent_tool", "approver", "auditor", "policy_admin")
KEY_PREFIX = "psk_"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


RECHECK_SECONDS = 1.0  # a key created or revoked with the CLI takes effect within this

SCOPED_ROLES = frozenset({"agent_tool", "approver"})  # roles that act for an agent, so need a scope


@dataclass(frozen=True)
class AgentScope:
    """Which agents a key may act for (see the module docstring)."""
    agent: str | None = None
    team: str | None = None
    max_tier: str | None = None
    any_agent: bool = False
    legacy: bool = False  # from a key file written before scopes: any agent, with a warning

    @property
    def bound(self) -> str | None:
        """The one agent this key acts as, if it is bound to one."""
        return self.agent

    def holds(self, agent: Agent | None, agent_id: str | None, org: Organization) -> bool:
        """Whether an agent (as the directory knows it; None: not in it) is within this scope."""
        if self.any_agent or self.legacy:
            return True
        if self.agent is not None:
            return agent_id == self.agent
        if agent is None:
            return False
        if self.team is not None and agent.team != self.team:
            return False
        return self.max_tier is None or org.tier_rank(agent.tier) <= org.tier_rank(self.max_tier)

    def describe(self) -> str:
        if self.legacy:
            return "any agent (key from before scopes: recreate it with a scope)"
        if self.any_agent:
            return "any agent"
        if self.agent is not None:
            return f"agent {self.agent}"
        parts = ([f"team {self.team}"] if self.team else []) + ([f"up to {self.max_tier}"] if self.max_tier else [])
        return "agents of " + " ".join(parts) if parts else "no agent"


ANY_AGENT = AgentScope(any_agent=True)


@dataclass(frozen=True)
class ApiKey:
    name: str
    roles: frozenset[str]
    trusted_tier: bool = False
    scope: AgentScope = ANY_AGENT

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)


DEV_CALLER = ApiKey("dev", frozenset(ROLES), trusted_tier=True)


def act_as(body: Any, field: str, scope: AgentScope) -> Any:
    """The body with a bound key's agent filled in where the caller left it out (`agent.id`, or
    `approver_id`); anything that is not a JSON object is left for validation to refuse."""
    if scope.bound is None or not isinstance(body, dict):
        return body
    if field == "agent.id":
        agent = body.get("agent", {})
        if isinstance(agent, dict) and "id" not in agent:
            return {**body, "agent": {**agent, "id": scope.bound}}
    elif field not in body:
        return {**body, field: scope.bound}
    return body


def check_scope(scope: AgentScope, agent_id: str | None, directory: Mapping[str, Agent], org: Organization,
                field: str) -> None:
    """NotPermittedError (403) when the agent a request names is outside its key's scope."""
    if not scope.holds(directory.get(agent_id or ""), agent_id, org):
        named = f'"{agent_id}"' if agent_id else "no agent"
        raise NotPermittedError(field, f"this key acts for {scope.describe()}, not for {named}")


def scope_of(record: dict[str, Any]) -> AgentScope:
    """A key record's scope; one without any scope field predates scopes (legacy)."""
    if record.get("any_agent"):
        return ANY_AGENT
    if record.get("agent") or record.get("team") or record.get("max_tier"):
        return AgentScope(agent=record.get("agent"), team=record.get("team"), max_tier=record.get("max_tier"))
    return AgentScope(legacy=bool(SCOPED_ROLES & set(record["roles"])))


class _KeySchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=WholeMatch(NAME_PATTERN))
    hash = fields.String(required=True, validate=WholeMatch(r"^sha256:[0-9a-f]{64}$"))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1))
    trusted_tier = fields.Boolean(load_default=False)
    created_at = fields.String()
    agent = fields.String(validate=validate.Length(1, 200))
    team = fields.String(validate=validate.Length(1, 200))
    max_tier = fields.String(validate=validate.Length(1, 200))
    any_agent = fields.Boolean()


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
        return cls({r["hash"]: ApiKey(r["name"], frozenset(r["roles"]), r["trusted_tier"], scope_of(r)) for r in records})

    def legacy_names(self) -> list[str]:
        """Keys that act for agents with no scope (written before scopes): `serve` warns about each."""
        return sorted(key.name for key in self._by_hash.values() if key.scope.legacy)

    def bound_agents(self, role: str) -> list[str]:
        """The agents that keys with `role` are bound to, one each (the MCP server over HTTP needs one)."""
        return sorted({key.scope.bound for key in self._by_hash.values() if role in key.roles and key.scope.bound})

    def find(self, secret: str) -> ApiKey | None:
        return self._by_hash.get(hash_key(secret))

    def find_hashed(self, hashed: str) -> ApiKey | None:
        """The key whose stored hash this is (a console session keeps the hash, never the key)."""
        return self._by_hash.get(hashed)

    def __len__(self) -> int:
        return len(self._by_hash)



class KeySource:
    """The key file, re-read when it changes (checked at most every `recheck_seconds`, so a request pays
    a clock read, not a stat): a key created or revoked with the CLI takes effect within that, in every
    face (the HTTP API, the MCP server). A file that turns unreadable keeps the last good keys and is logged."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self.ring = KeyRing.load(self.path)
        self._checked = time.monotonic()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        return status.st_mtime_ns, status.st_size

    @property
    def recheck_seconds(self) -> float:
        return RECHECK_SECONDS

    def current(self) -> KeyRing:
        now = time.monotonic()
        if now - self._checked >= self.recheck_seconds:
            with self._lock:
                self._checked = now
                stamp = self._file_stamp()
                if stamp != self._stamp:
                    try:
                        self.ring = KeyRing.load(self.path)
                    except KeyFileError as exc:
                        log.error("keeping the previous API keys: %s", exc)
                    self._stamp = stamp
        return self.ring

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


def create_key(path: str | Path, name: str, roles: Iterable[str], trusted_tier: bool = False, *,
               scope: AgentScope | None = None) -> str:
    """Add a key and return its secret (the only time it exists outside the caller's hands).

    A key with a role that acts for agents (agent_tool, approver) needs a scope; KeyFileError otherwise."""
    roles = sorted(set(roles))
    if SCOPED_ROLES & set(roles) and (scope is None or scope.legacy):
        raise KeyFileError(f"key {name}: an {' or '.join(sorted(SCOPED_ROLES & set(roles)))} key needs a scope: "
                           "--agent ID, --team TEAM and/or --max-tier TIER, or --any-agent")
    if scope is not None and scope.any_agent and (scope.agent or scope.team or scope.max_tier):
        raise KeyFileError(f"key {name}: --any-agent cannot be combined with --agent, --team or --max-tier")
    if scope is not None and scope.agent and (scope.team or scope.max_tier):
        raise KeyFileError(f"key {name}: --agent binds the key to one agent; --team and --max-tier do not apply")
    records = _read(Path(path))
    if any(r["name"] == name for r in records):
        raise KeyFileError(f'a key named "{name}" already exists in {path}; revoke it first or pick another name')
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    record: dict[str, Any] = {"name": name, "hash": hash_key(secret), "roles": roles, "trusted_tier": trusted_tier,
                              "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if scope is not None and SCOPED_ROLES & set(roles):
        if scope.any_agent:
            record["any_agent"] = True
        record.update({k: v for k, v in (("agent", scope.agent), ("team", scope.team), ("max_tier", scope.max_tier)) if v})
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
    """Names, roles, scopes and creation times; never the hashes."""
    return [{**{k: v for k, v in r.items() if k != "hash"},
             "scope": scope_of(r).describe() if SCOPED_ROLES & set(r["roles"]) else None} for r in _read(Path(path))]
