"""What auditors' filters need from the live policies: `rule=` given as `policy/rule` or as a bare rule
id (docs/contract.md §8), resolved before the log is asked, so a bare id never silently finds nothing;
and the auditors' questions as the console asks them (a page, an export, verify) from a form's values,
through the same schemas and functions as the API.

The log records rules as `policy/rule`; the filter itself is decisionlog.audit's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from marshmallow import Schema, ValidationError

from policy_service.authoring.diagnostics import did_you_mean
from policy_service.decisionlog import DecisionStore, audit
from policy_service.decisionlog.chain import parse_anchor
from policy_service.decisionlog.privacy import PrivacySettings
from policy_service.model import PolicySet
from policy_service.service.events import decision_page


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


# -- what the console asks: the API's filters, pages, exports and verify from a form's raw values ------

def _read(schema: Schema, query: Mapping[str, str], policy_set: PolicySet | None, store: DecisionStore) -> dict[str, Any]:
    """Raw query values (a blank field is no filter) validated as the API validates them, `rule`
    resolved; ValidationError naming every wrong field at once (the rule's too when others are wrong)."""
    raw = {name: value for name, value in query.items() if value != ""}
    try:
        args: dict[str, Any] = schema.load(raw)
    except ValidationError as exc:
        errors: dict[str, Any] = dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        if "rule" in raw and "rule" not in errors:
            try:
                resolve_rule(raw["rule"], policy_set, store)
            except ValidationError as rule_error:
                errors["rule"] = rule_error.messages["rule"] if isinstance(rule_error.messages, dict) else rule_error.messages
        raise ValidationError(errors) from None
    return with_rule_resolved(args, policy_set, store)


def log_page(store: DecisionStore, query: Mapping[str, str], policy_set: PolicySet | None,
             privacy: PrivacySettings) -> dict[str, Any]:
    """A page of decisions, newest first, each with its state: GET /v1/decisions for a form's values."""
    return decision_page(store, _read(audit.PageSchema(), query, policy_set, store), privacy)


def log_export(store: DecisionStore, query: Mapping[str, str], policy_set: PolicySet | None,
               privacy: PrivacySettings) -> tuple[Iterator[str], str, str]:
    """GET /v1/decisions/export for a form's values: the chunks, media type and file name."""
    return audit.export(store, _read(audit.ExportSchema(), query, policy_set, store), privacy)


def verify_log(store: DecisionStore, anchors: Iterable[str], progress: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """The chain, the side tables and the stored revisions checked (GET /v1/audit/verify's answer);
    `anchors` as `audit verify` prints heads (`SEQ:HASH`), ValidationError naming `anchor` otherwise."""
    held: dict[int, str] = {}
    for text in anchors:
        try:
            seq, digest = parse_anchor(text.strip())
        except ValueError as exc:
            raise ValidationError({"anchor": [str(exc)]}) from None
        held[seq] = digest
    return audit.verify(store, held, store.log_key, progress=progress).as_dict()
