"""What test modules share, imported as `from helpers import ...` (never from another test module):
the example policies' path, app factories, a sample decision request, and edits to a policies copy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy

from policy_service import create_app
from policy_service.decisionlog import DecisionStore, NewEntry
from policy_service.decisionlog.chain import canonical_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICIES = ROOT / "policies"

BODY = {
    "agent": {"id": "ag-101"},
    "customer": {"id": "cu-88", "tier": "gold", "tenure_months": 26, "lifetime_value": 4300, "flags": []},
    "case": {"id": "tk-5521", "reason": "late_delivery", "channel": "phone", "order_value": 180,
             "days_since_purchase": 45, "fault": "carrier", "contact_count": 2},
    "proposal": {"action": "refund", "amount": "120.00", "currency": "EUR"},
    "locale": "es",
}


def make_app(tmp_path: Path, **config: Any) -> Any:
    settings = {"TESTING": True, "POLICIES": str(EXAMPLE_POLICIES), "DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}", "DEV": True}
    settings.update(config)
    return create_app(settings)


def keyed_app(tmp_path: Path, keys: dict[str, tuple[Any, ...]], **config: Any) -> tuple[Any, dict[str, dict[str, str]]]:
    """An app that requires API keys, and a ready Authorization header per key name.
    `keys`: name -> (roles, trusted_tier) or (roles, trusted_tier, AgentScope); without a scope, a key
    that acts for agents may act for any (an integration that authenticates its own users)."""
    from policy_service.service.keys import ANY_AGENT, create_key

    key_file = tmp_path / "keys.json"
    headers = {name: {"Authorization": f"Bearer {create_key(key_file, name, spec[0], spec[1], scope=(spec[2:] or (ANY_AGENT,))[0])}"}
               for name, spec in keys.items()}
    return make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file), **config), headers


def console_as(tmp_path: Path, role: str, **config: Any) -> Any:
    """A test client of an app that requires keys, signed in to the console with a key of one role
    (admin = policy_admin, audit = auditor, approver and tool act for any agent)."""
    import re

    from policy_service.service.keys import ANY_AGENT, create_key

    key_file = tmp_path / "keys.json"
    roles = {"admin": ("policy_admin", None), "audit": ("auditor", None), "approver": ("approver", ANY_AGENT),
             "tool": ("agent_tool", ANY_AGENT)}
    name, scope = roles[role]
    secret = create_key(key_file, role, [name], scope=scope)
    client = make_app(tmp_path, DEV=False, KEYS_FILE=str(key_file), **config).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").get_data(as_text=True))
    assert token is not None
    assert client.post("/console/login", data={"key": secret, "csrf_token": token.group(1)}).status_code == 302
    return client


def raise_refund_limit(policies: Path, to: int) -> None:
    path = policies / "refunds.yaml"
    text = path.read_text()
    start = text.index("refund:       {agent: ")
    end = text.index(",", start)
    path.write_text(text[:start] + f"refund:       {{agent: {to}" + text[end:])
    # Its cases pin the old limit; a reload refuses a set whose own cases fail (docs/operations.md).
    (policies / "refunds_test.yaml").unlink(missing_ok=True)


def break_refunds(policies: Path) -> None:
    path = policies / "refunds.yaml"
    path.write_text(path.read_text().replace("when: {customer.tier: {in: [gold, platinum]}}",
                                             "when: {customer.tierr: {in: [gold, platinum]}}"))


def small_refund(amount: str = "60.00") -> dict[str, Any]:
    return {"agent": {"id": "ag-101"}, "customer": {"id": "cu-1", "tier": "standard"},
            "proposal": {"action": "refund", "amount": amount, "currency": "EUR"}}


T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def log_entry(n: int, *, kind: str = "decision", decision_id: str | None = None, agent: str = "ag-1",
          customer: str = "cu-1", outcome: str = "handoff", action: str = "refund", rules: tuple[str, ...] = ("refunds/a",),
          at: datetime | None = None) -> NewEntry:
    """A synthetic log entry, numbered `n`, for tests of the log itself."""
    entry_id = f"{'dec' if kind == 'decision' else 'evt'}_{n:08d}"
    return NewEntry(
        id=entry_id, kind=kind, decision_id=decision_id or entry_id, created_at=at or T0 + timedelta(minutes=n),
        caller="tool", agent_id=agent, customer_id=customer, outcome=outcome, action=action, policy="refunds",
        rules=canonical_json(list(rules)), policy_revision="sha256:" + "a" * 64,
        request=canonical_json({"proposal": {"amount": "12.50"}, "n": n}),
        response=f'{{"decision_id": "{entry_id}", "outcome": "{outcome}", "proposal": {{"amount": "12.50", "currency": "EUR"}}}}',
        masked="[]", fired_rules=rules)


def raw(store: DecisionStore, *statements: str) -> None:
    """What an attacker with database access could do: plain SQL, outside the service."""
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(sqlalchemy.text(statement))


def drop_guards(store: DecisionStore) -> None:
    """An attacker with file or superuser access removes the triggers first."""
    if store.dialect == "postgresql":
        raw(store, *(f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in ("decision_log", "decision_rules", "policy_revisions")))
    else:
        with store.engine.connect() as connection:
            names = connection.execute(sqlalchemy.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
        raw(store, *(f"DROP TRIGGER {name}" for name in names))
