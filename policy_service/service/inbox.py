"""An approver's inbox (docs/contract.md §9): the escalations a key's approvers may decide, each with the
decision as its agent was answered, and the history of those they decided.

Who may decide is the rule decide_approval enforces, asked ahead: an agent within the key's scope (a
bound key: that one agent) whose tier is at least the escalation's `to_tier`. The inbox only lists;
deciding goes through service.approvals.decide_approval, as it does for the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policy_service.decisionlog import DecisionStore
from policy_service.model import PolicySet
from policy_service.service.events import approval_queue, decision_with_events
from policy_service.service.keys import AgentScope

__all__ = ["InboxEntry", "approval_inbox", "approvers_for"]

QUEUE_LIMIT = 500  # the queue read at most; an inbox this long needs more approvers, not a longer page
HISTORY_SHOWN = 50  # the newest decided escalations in a history tab


@dataclass(frozen=True)
class InboxEntry:
    item: dict[str, Any]  # the queue's item (service.events.approval_queue)
    decision: dict[str, Any] | None  # the decision as answered, with its events and state (None: not in the log)
    approvers: tuple[str, ...]  # pending: the agents this key may approve as, highest tier first


def approvers_for(scope: AgentScope, policy_set: PolicySet, to_tier: str) -> tuple[str, ...]:
    """The directory's agents within `scope` whose tier is at least `to_tier`, highest tier first."""
    org = policy_set.organization
    if to_tier not in {tier.id for tier in org.tiers}:
        return ()
    needed = org.tier_rank(to_tier)
    eligible = [agent for agent in policy_set.agents.values()
                if scope.holds(agent, agent.id, org) and org.tier_rank(agent.tier) >= needed]
    return tuple(agent.id for agent in sorted(eligible, key=lambda a: (-org.tier_rank(a.tier), a.id)))


def approval_inbox(store: DecisionStore, policy_set: PolicySet, scope: AgentScope, status: str,
                   now: datetime) -> list[InboxEntry]:
    """`pending`: the escalations some agent of the key's scope may decide, oldest first. `approved` or
    `rejected`: the newest decided by an agent of the key's scope, newest first."""
    org = policy_set.organization
    # A history reads newest first: oldest first, the newest verdicts fell beyond QUEUE_LIMIT.
    items = approval_queue(store, org, status, None, None, QUEUE_LIMIT, now, newest_first=status != "pending")
    entries = []
    if status == "pending":
        for item in items:
            approvers = approvers_for(scope, policy_set, item["to_tier"])
            if approvers:
                entries.append(InboxEntry(item, decision_with_events(store, item["decision_id"]), approvers))
        return entries
    decided = [item for item in items
               if scope.holds(policy_set.agents.get(item["approver_id"] or ""), item["approver_id"], org)]
    return [InboxEntry(item, decision_with_events(store, item["decision_id"]), ()) for item in decided[:HISTORY_SHOWN]]
