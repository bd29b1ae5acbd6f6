"""Cap usage from the log (docs/contract.md §3.3 caps, §4 step 2): what a customer or agent has used in a window.

An `allow` decision or an approval reserves its amount and one count for the customer and for the
granting agent (the requester for an allow, the approver for an approval); an outcome corrects the
reservation to what was granted, or releases it when the customer declined. The ledger rows are
written in the same chain transaction as the entry, and read under the same lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from policy_service.model import Cap, PolicySet


class UsageQuestion(NamedTuple):
    """A question to the budget ledger: what `subject` (in `scope`) reserved or was granted of `action`
    since `since`, as an amount and a count."""
    scope: str
    subject: str
    action: str
    since: datetime


@dataclass(frozen=True)
class LedgerRow:
    """A reservation (+amount, +1), a correction to what was granted, or a release (-amount, -1)."""
    scope: str  # customer | agent
    subject: str
    action: str
    amount: int
    count: int


class UsageReader(Protocol):
    """The ledger as one decision sees it: a chain transaction, or replay's historical ledger. All of a
    decision's questions come at once, so the database answers them in one statement under the lock."""

    def usage(self, questions: Sequence[UsageQuestion]) -> list[tuple[int, int]]: ...


@dataclass(frozen=True)
class Budgets:
    """Where one decision's cap usage comes from: the ledger as it sees it at `now`, or (policy tests,
    benchmarks) usage assumed per cap key with no ledger at all (`Budgets.assuming`).

    `customer_ref` is the customer id as the log stores it (keyed when privacy asks for it);
    `agent_id` is the granting agent whose per-agent caps count (an approver approving), or None for
    the requesting agent (docs/contract.md §4 step 2)."""
    ledger: UsageReader | None
    customer_ref: str | None = None
    now: datetime | None = None
    agent_id: str | None = None
    assumed: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def assuming(cls, usage: Mapping[str, tuple[int, int]]) -> Budgets:
        return cls(None, assumed=dict(usage))

    def usage(self, policy_set: PolicySet, action_id: str, requester: str | None) -> dict[str, tuple[int, int]]:
        """(amount, count) used per cap key of `action_id`, this decision included nothing yet."""
        if self.ledger is None or self.now is None:
            return dict(self.assumed)
        return usage_for(self.ledger, policy_set, action_id, self.customer_ref, self.agent_id or requester, self.now)


def subject_of(cap: Cap, customer_ref: str | None, agent_id: str | None) -> str | None:
    return customer_ref if cap.per == "customer" else agent_id


def usage_for(transaction: UsageReader, policy_set: PolicySet, action_id: str, customer_ref: str | None,
              agent_id: str | None, now: datetime) -> dict[str, tuple[int, int]]:
    """Every cap on `action_id`: (amount, count) used in its rolling window by this customer or agent."""
    asked: list[tuple[str, UsageQuestion]] = []
    for cap in policy_set.caps_for(action_id):
        subject = subject_of(cap, customer_ref, agent_id)
        if subject is None:  # a request without a customer id cannot be tracked against a customer cap
            continue
        asked.extend((cap.key, UsageQuestion(cap.per, subject, action, now - cap.window)) for action in cap.actions)
    if not asked:
        return {}
    usage: dict[str, tuple[int, int]] = {}
    for (key, _), (amount, count) in zip(asked, transaction.usage([question for _, question in asked]), strict=True):
        used_amount, used_count = usage.get(key, (0, 0))
        usage[key] = (used_amount + amount, used_count + count)
    return usage


def reservation(action_id: str, amount: int, customer_ref: str | None, agent_id: str | None) -> tuple[LedgerRow, ...]:
    """What granting `amount` of `action_id` holds: one row for the customer, one for the granting agent."""
    rows = []
    if customer_ref is not None:
        rows.append(LedgerRow("customer", customer_ref, action_id, amount, 1))
    if agent_id is not None:
        rows.append(LedgerRow("agent", agent_id, action_id, amount, 1))
    return tuple(rows)


def settle(held: list[LedgerRow], action_id: str, granted: int | None) -> tuple[LedgerRow, ...]:
    """Rows that turn what a decision holds into what was granted of `action_id` (None: nothing)."""
    rows = []
    for row in held:
        if row.amount == 0 and row.count == 0:
            continue  # already released
        if granted is None or row.action != action_id:
            rows.append(LedgerRow(row.scope, row.subject, row.action, -row.amount, -row.count))
        elif granted != row.amount:
            rows.append(LedgerRow(row.scope, row.subject, row.action, granted - row.amount, 0))
    return tuple(rows)
