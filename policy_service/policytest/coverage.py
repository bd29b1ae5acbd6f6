"""What the policy tests exercise: every rule that fired in some case, every cap some case gave
prior usage for, and every matrix cell (action × tier) some decision read. What no case reached is
where a mistake could block agents or give money away unnoticed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from policy_service.deciding.limits import compile_limits
from policy_service.model import PolicySet
from policy_service.policytest.runner import CaseResult


@dataclass(frozen=True)
class Coverage:
    rules: dict[str, bool]
    caps: dict[str, bool]
    cells: dict[str, bool]  # "action × tier"

    @staticmethod
    def _percent(items: dict[str, bool]) -> float:
        return 100.0 * sum(items.values()) / len(items) if items else 100.0

    @property
    def rule_percent(self) -> float:
        return self._percent(self.rules)

    @property
    def total_percent(self) -> float:
        return self._percent({**{f"r:{k}": v for k, v in self.rules.items()}, **{f"c:{k}": v for k, v in self.caps.items()},
                              **{f"m:{k}": v for k, v in self.cells.items()}})

    def missed(self) -> dict[str, list[str]]:
        return {kind: [key for key, hit in items.items() if not hit]
                for kind, items in (("rules", self.rules), ("caps", self.caps), ("cells", self.cells))}

    def as_dict(self) -> dict[str, object]:
        return {"rules_percent": round(self.rule_percent, 1), "total_percent": round(self.total_percent, 1),
                "counts": {kind: {"covered": sum(items.values()), "total": len(items)}
                           for kind, items in (("rules", self.rules), ("caps", self.caps), ("cells", self.cells))},
                "missed": self.missed()}


def measure(results: Iterable[CaseResult], policy_set: PolicySet) -> Coverage:
    org = policy_set.organization
    base = compile_limits(policy_set, ())
    rules = {rule.key: False for rule in policy_set.rules}
    caps = {cap.key: False for cap in policy_set.caps}
    # Only cells a tier can use without a rule: a forbidden or tier-required cell is covered by its rule.
    cells = {f"{action} × {tier.id}": False for action, limits in base.items() for tier in org.tiers
             if limits.cells.get(tier.id) is not None and not limits.forbidden and tier.rank >= limits.min_rank}
    for result in results:
        if result.actual is None:
            continue
        for key in result.fired:
            rules[key] = True
        for key in result.usage_given:
            caps[key] = True
        # The cells a decision read: the requester's for the proposal and for each option offered,
        # and the approver tier's when it escalated.
        action, tier = result.actual["proposal"]["action"], result.actual["agent"]["tier"]
        read = [(action, tier), *((option["action"], tier) for option in result.actual["options"])]
        if result.actual["escalation"]:
            read.append((action, result.actual["escalation"]["to_tier"]))
        for cell in (f"{a} × {t}" for a, t in read):
            if cell in cells:
                cells[cell] = True
    return Coverage(rules, caps, cells)


def render_coverage(coverage: Coverage) -> str:
    counts = coverage.as_dict()["counts"]
    lines = [f"coverage: rules {coverage.rule_percent:.0f} % ({counts['rules']['covered']}/{counts['rules']['total']}), "  # type: ignore[index]
             f"caps {counts['caps']['covered']}/{counts['caps']['total']}, "  # type: ignore[index]
             f"matrix cells {counts['cells']['covered']}/{counts['cells']['total']}; "  # type: ignore[index]
             f"total {coverage.total_percent:.0f} %"]
    for kind, keys in coverage.missed().items():
        if keys:
            lines.append(f"  not exercised ({kind}): " + ", ".join(keys))
    return "\n".join(lines)
