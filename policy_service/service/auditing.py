"""What auditors' filters need from the live policies: `rule=` given as `policy/rule` or as a bare rule
id (docs/contract.md §8), resolved before the log is asked, so a bare id never silently finds nothing.

The log records rules as `policy/rule`; the filter itself is decisionlog.audit's.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from policy_service.authoring.diagnostics import did_you_mean
from policy_service.decisionlog import DecisionStore
from policy_service.model import PolicySet


def resolve_rule(rule: str, policy_set: PolicySet | None, store: DecisionStore) -> str:
    """`policy/rule` for what an auditor typed; ValidationError naming `rule` when it is ambiguous or
    unknown. A qualified id of a rule no live policy has still counts when the log holds decisions
    that fired it (a rule since removed stays searchable)."""
    live = [] if policy_set is None else [r.key for p in policy_set.policies for r in p.rules]
    if "/" in rule:
        if rule in live or store.rule_recorded(rule):
            return rule
        hint = did_you_mean(rule, live)
        raise ValidationError({"rule": [f'no live policy has the rule "{rule}" and no logged decision fired it'
                                        + (f"; {hint}" if hint else "")]})
    if policy_set is None:
        raise ValidationError({"rule": [f'"{rule}" names no policy and the policies cannot be read to find it: '
                                        "give it as policy/rule"]})
    matches = [key for key in live if key.split("/", 1)[1] == rule]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValidationError({"rule": [f'"{rule}" is a rule of {len(matches)} policies ({", ".join(matches)}): '
                                        "give it as policy/rule"]})
    hint = did_you_mean(rule, [key.split("/", 1)[1] for key in live])
    raise ValidationError({"rule": [f'no live policy has a rule "{rule}"' + (f"; {hint}" if hint else "")]})


def with_rule_resolved(args: dict[str, Any], policy_set: PolicySet | None, store: DecisionStore) -> dict[str, Any]:
    """Validated filter arguments with `rule`, when given, as the log records it."""
    if args.get("rule") is None:
        return args
    return {**args, "rule": resolve_rule(args["rule"], policy_set, store)}
