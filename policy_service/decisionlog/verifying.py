"""`audit verify` (docs/contract.md §6): the hash chain walked with the side tables held against it,
then every stored policy revision against its own content hash. Kept apart from audit.py (filters,
pages, exports), which offers it to the API and the CLI as `audit.verify`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from policy_service.authoring.loader import revision_of
from policy_service.decisionlog import DecisionStore
from policy_service.decisionlog.chain import ChainProblem, VerifyReport, verify_chain
from policy_service.decisionlog.history import AuditWalk


class _BySeq:
    """Rows of one side table, streamed in seq order, handed out one entry's seq at a time."""

    def __init__(self, rows: Iterator[tuple[int, Any]]) -> None:
        self._rows = rows
        self._next = next(rows, None)

    def take(self, seq: int) -> tuple[tuple[int, Any] | None, list[Any]]:
        """(the first row before `seq` that no entry took, or None; the values of the rows at `seq`)."""
        stray = None
        while self._next is not None and self._next[0] < seq:
            stray = stray or self._next
            self._next = next(self._rows, None)
        values = []
        while self._next is not None and self._next[0] == seq:
            values.append(self._next[1])
            self._next = next(self._rows, None)
        return stray, values

    def first_left(self) -> tuple[int, str] | None:
        return self._next


class SideTables:
    """The rule index, the budget ledger, the approval queue and the facts rows held against the chain
    while it is walked: every row must match a chained entry, and every entry that implies rows must
    have them, so deleting or forging a side row (which the chain's hashes do not cover) is caught
    too. Each table is streamed in seq order beside the chain (AuditWalk), so nothing is held per
    entry. Of a facts row, what the auditors' filters read is held to the entry (its kind, and a
    decision's outcome, action and policy); the rest is insights' arithmetic, which decides nothing.

    console_sign_outs is not held against the chain: no entry implies its rows, and a row carries no
    authority (it can only end a console session: decisionlog/sign_outs.py)."""

    def __init__(self, walk: AuditWalk) -> None:
        self.rules, self.ledger, self.approvals = _BySeq(walk.rules), _BySeq(walk.ledger), _BySeq(walk.approvals)
        self.facts = _BySeq(walk.facts)
        self.problem: ChainProblem | None = None

    def see(self, entry: dict[str, Any]) -> None:
        if self.problem is not None:
            return
        seq, decision_id = int(entry["seq"]), entry["decision_id"]

        def wrong(detail: str) -> None:
            self.problem = ChainProblem(seq, entry["id"], "side-table", detail)

        def belongs_to_none(detail: str) -> None:  # named by no entry, as leftover rows are (verify)
            self.problem = ChainProblem(0, None, "side-table", detail)

        stray_rules, rules = self.rules.take(seq)
        stray_ledger, ledger = self.ledger.take(seq)
        stray_approvals, approvals = self.approvals.take(seq)
        stray_facts, facts = self.facts.take(seq)
        # Rows before this entry that no entry took: at a seq no entry has (where entries are missing,
        # the chain's own report comes first).
        if stray_rules is not None:
            return belongs_to_none(f"rule rows at seq {stray_rules[0]} belong to no chained entry")
        if stray_ledger is not None:
            return belongs_to_none(f"budget rows at seq {stray_ledger[0]} belong to no chained entry")
        if stray_approvals is not None:
            return belongs_to_none(f"an approval request for {stray_approvals[1]} belongs to no escalated decision")
        if stray_facts is not None:
            return belongs_to_none(f"a facts row at seq {stray_facts[0]} belongs to no chained entry")
        fired = set(json.loads(entry["rules"] or "[]"))
        if set(rules) != fired:
            return wrong(f"the rule index of entry {seq} does not match its chained rules {sorted(fired)}")
        held = set(ledger)
        if held - {decision_id}:
            return wrong(f"budget rows at entry {seq} name decisions {sorted(held - {decision_id})}, not {decision_id}")
        grants = (entry["kind"] == "decision" and entry["outcome"] == "allow") or \
                 (entry["kind"] == "approval" and entry["outcome"] == "approved")
        if grants and (entry["agent_id"] or entry["customer_id"]) and not held:
            return wrong(f"entry {seq} granted {entry['action']} but its budget rows are missing")
        escalated = entry["kind"] == "decision" and entry["outcome"] == "escalate"
        if escalated and decision_id not in approvals:
            return wrong(f"the approval request of escalated decision {decision_id} is missing or moved")
        others = sorted(set(approvals) - ({decision_id} if escalated else set()))
        if others:  # forged beside this entry, or moved here from the escalated decision it belongs to
            return wrong(f"an approval request for {others[0]} belongs to no escalated decision")
        kind = entry["kind"]
        chained = (kind, entry["outcome"], entry["action"], entry["policy"])
        if [fact[0] for fact in facts] != [kind]:
            return wrong(f"entry {seq} has {len(facts)} facts rows where one of kind {kind} belongs")
        if kind == "decision" and tuple(facts[0]) != chained:
            return wrong(f"the facts row of decision {seq} does not repeat its outcome, action and policy {chained[1:]}")

    def leftover(self) -> str | None:
        """Rows after the last chained entry (forged, or of entries since removed)."""
        if (row := self.rules.first_left()) is not None:
            return f"rule rows at seq {row[0]} belong to no chained entry"
        if (row := self.ledger.first_left()) is not None:
            return f"budget rows at seq {row[0]} belong to no chained entry"
        if (row := self.approvals.first_left()) is not None:
            return f"an approval request for {row[1]} belongs to no escalated decision"
        if (row := self.facts.first_left()) is not None:
            return f"a facts row at seq {row[0]} belongs to no chained entry"
        return None


def verify(store: DecisionStore, anchors: dict[int, str] | None = None, key: bytes | None = None,
           progress: Callable[[], None] = lambda: None) -> VerifyReport:
    """The hash chain and the side tables against it, then every stored policy revision against its
    own content hash. `progress` is called every 1,000 entries (a served verify tells its worker it
    is advancing, so a log of any size is checked to the end)."""
    with store.audit_walk() as walk:
        side = SideTables(walk)

        def walked() -> Iterator[dict[str, Any]]:
            for n, entry in enumerate(walk.entries, 1):
                side.see(entry)
                if n % 1000 == 0:
                    progress()
                yield entry

        report = verify_chain(walked(), anchors, key)
        if not report.ok:
            return report
        leftover = side.leftover()
    if side.problem is not None or leftover is not None:
        return VerifyReport(report.entries, report.head_seq, report.head_hash,
                            side.problem or ChainProblem(0, None, "side-table", leftover or ""))
    for revision, files in store.revisions():
        if revision_of(files) != revision:
            return VerifyReport(report.entries, report.head_seq, report.head_hash, ChainProblem(
                0, revision, "edited", f"policy revision {revision} was edited: its files no longer give its hash"))
    return report

