"""The references inside policy test cases, checked against the policy set they run on.

A case's request goes through the same request schema `test` uses (deciding/request.py), so `validate`
refuses exactly what `test` would; each refusal becomes a positioned diagnostic with a stable code and
a did-you-mean hint. `usage` names caps (bare ids are the suite's policy's, `policy/cap` another's);
`expect` names tiers, teams, actions and rules. `test` reports the same problems of a case in words
(`describe`), never as a raw marshmallow dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from marshmallow import ValidationError

from policy_service.authoring.diagnostics import Diagnostic, did_you_mean
from policy_service.authoring.source import PathKey, SourceFile
from policy_service.deciding.request import parse_quantity, parse_whole
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.model import PolicySet

_OBJECTS = ("agent", "customer", "case")


@dataclass(frozen=True)
class CaseProblem:
    """One wrong reference in a case: `path` is under the case (("request", "agent", "tier"))."""

    path: PathKey
    code: str
    message: str
    hint: str | None = None
    key: bool = False  # the key itself is wrong (an unknown field), not its value

    def describe(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return f"{where}: {self.message}" + (f" ({self.hint})" if self.hint else "")


def case_problems(case: dict[str, Any], policy_id: str, policy_set: PolicySet) -> list[CaseProblem]:
    """Every reference in one case (its `request`, `usage` and `expect`) the policy set does not know."""
    request = dict(case.get("request") or {})
    usage = request.pop("usage", None)
    problems = request_problems(request, policy_set)
    problems += usage_problems(usage, policy_id, policy_set)
    problems += expect_problems(case.get("expect") or {}, policy_id, policy_set)
    return problems


def request_problems(body: dict[str, Any], policy_set: PolicySet) -> list[CaseProblem]:
    # The tier is checked after the schema passes (deciding/request.py); checked here as well, so a
    # case with several slips shows them all at once.
    agent = body.get("agent")
    tier = agent.get("tier") if isinstance(agent, dict) else None
    problems = [_classify(("request", "agent", "tier"), "", body, policy_set)] \
        if tier is not None and tier not in [t.id for t in policy_set.organization.tiers] else []
    try:
        _runtime(policy_set).read(body, trusted_tier=True)
    except ValidationError as error:
        problems += [_classify(("request",) + path, message, body, policy_set) for path, message in _flatten(error.messages)
                     if path != ("agent", "tier") or not problems]
    return problems


@lru_cache(maxsize=4)
def _runtime(policy_set: PolicySet) -> PolicyRuntime:
    """Requests are read as `test` reads them: through PolicyRuntime.read (its engine is never built here)."""
    return PolicyRuntime(policy_set)


def _flatten(messages: Any, path: PathKey = ()) -> list[tuple[PathKey, str]]:
    if isinstance(messages, dict):
        return [item for key, value in messages.items()
                for item in _flatten(value, path if key == "_schema" else path + (key,))]
    if isinstance(messages, list):
        return [item for value in messages for item in _flatten(value, path)]
    return [(path, str(messages))]


def _classify(path: PathKey, message: str, body: dict[str, Any], policy_set: PolicySet) -> CaseProblem:
    org = policy_set.organization
    tail = path[1:]
    value = _value_at(body, tail)
    if tail == ("agent", "tier"):
        tiers = [t.id for t in org.tiers]
        return CaseProblem(path, "PS013", f'unknown tier "{value}"', did_you_mean(str(value), tiers) or "tiers: " + ", ".join(tiers))
    if tail == ("agent", "id") and str(value) not in policy_set.agents and "unknown agent" in message:
        return CaseProblem(path, "PS017", f'unknown agent "{value}": not in the agent directory',
                           did_you_mean(str(value), policy_set.agents))
    if tail == ("proposal", "action"):
        return CaseProblem(path, "PS014", f'unknown action "{value}"', did_you_mean(str(value), org.actions) or "actions: " + ", ".join(org.actions))
    if message == "Unknown field." or message.startswith("declared by the organisation as an attribute"):
        return _unknown_field(path, policy_set)
    name = _field_name(tail)
    spec = org.fields.get(name) if name else None
    if spec is not None and spec.values is not None and message.startswith("Must be one of"):
        return CaseProblem(path, "PS024", f'"{value}" is not a value of {name}', did_you_mean(str(value), spec.values) or "values: " + ", ".join(spec.values))
    return CaseProblem(path, "PS022", message)


def _unknown_field(path: PathKey, policy_set: PolicySet) -> CaseProblem:
    org = policy_set.organization
    tail = path[1:]
    name = ".".join(str(p) for p in tail)
    if len(tail) == 2 and tail[0] in _OBJECTS:
        spec = org.fields.get(name)
        if spec is not None and not spec.builtin:
            return CaseProblem(path, "PS020", f'"{name}" is declared by the organisation: write it under {tail[0]}.attributes',
                               f"{tail[0]}: {{attributes: {{{tail[1]}: ...}}}}", key=True)
        known = ["id", "attributes"] + [f.split(".", 1)[1] for f, s in org.fields.items() if s.builtin and f.startswith(tail[0] + ".")]
    elif len(tail) == 3 and tail[0] in _OBJECTS and tail[1] == "attributes":
        known = [f.split(".", 1)[1] for f, s in org.fields.items() if not s.builtin and f.startswith(tail[0] + ".")]
    elif len(tail) == 2 and tail[0] == "proposal":
        known = ["action", "amount", "currency"]
    else:
        known = [*_OBJECTS, "proposal", "locale", "usage"]
    return CaseProblem(path, "PS020", f'unknown field "{name}"', did_you_mean(str(tail[-1]), known) or "fields here: " + ", ".join(sorted(known)), key=True)


def _field_name(tail: PathKey) -> str | None:
    if len(tail) >= 2 and tail[0] in _OBJECTS:
        return f"{tail[0]}.{tail[2] if tail[1] == 'attributes' and len(tail) > 2 else tail[1]}"
    return None


def _value_at(data: Any, path: PathKey) -> Any:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def usage_problems(usage: Any, policy_id: str, policy_set: PolicySet) -> list[CaseProblem]:
    if usage is None:
        return []
    if not isinstance(usage, dict):
        return [CaseProblem(("request", "usage"), "PS005", "usage is a mapping of cap id to {amount, count}")]
    caps = {cap.key: cap for cap in policy_set.caps}
    problems = []
    for cap_id, used in usage.items():
        path: PathKey = ("request", "usage", cap_id)
        key = cap_id if "/" in str(cap_id) else f"{policy_id}/{cap_id}"
        cap = caps.get(key)
        if cap is None:
            problems.append(CaseProblem(path, "PS018", f'unknown cap "{cap_id}"' + ("" if "/" in str(cap_id) else f" in policy {policy_id}"),
                                        _cap_hint(str(cap_id), policy_id, caps), key=True))
            continue
        if not isinstance(used, dict) or set(used) - {"amount", "count"}:
            problems.append(CaseProblem(path, "PS005", "a cap's usage is {amount: ..., count: ...}"))
            continue
        unit = policy_set.organization.actions[cap.actions[0]].unit
        for name in ("amount", "count"):
            value = _plain_number(used.get(name, 0))
            try:
                parse_quantity(value, unit, policy_set.organization) if name == "amount" else parse_whole(value)
            except ValidationError as error:
                problems.append(CaseProblem(path + (name,), "PS022", " ".join(_text(error.messages))))
    return problems


def _plain_number(value: Any) -> Any:
    return value if not isinstance(value, Decimal) or value != value.to_integral_value() else int(value)


def _text(messages: Any) -> list[str]:
    return [message for _, message in _flatten(messages)]


def _cap_hint(cap_id: str, policy_id: str, caps: dict[str, Any]) -> str | None:
    """A bare id that is another policy's cap is the usual slip: say how to name it."""
    bare = cap_id.rsplit("/", 1)[-1]
    elsewhere = [key for key in caps if key.rsplit("/", 1)[-1] == bare]
    if elsewhere:
        return f'a cap of another policy is written with its policy: "{elsewhere[0]}"'
    own = [key.split("/", 1)[1] for key in caps if key.startswith(policy_id + "/")]
    return did_you_mean(bare, own) or did_you_mean(cap_id, caps) or ("caps: " + ", ".join(sorted(caps)) if caps else "no policy declares caps")


def expect_problems(expect: dict[str, Any], policy_id: str, policy_set: PolicySet) -> list[CaseProblem]:
    org = policy_set.organization
    tiers = [t.id for t in org.tiers]
    problems = []
    if expect.get("to_tier") is not None and expect["to_tier"] not in tiers:
        problems.append(CaseProblem(("expect", "to_tier"), "PS013", f'unknown tier "{expect["to_tier"]}"',
                                    did_you_mean(str(expect["to_tier"]), tiers) or "tiers: " + ", ".join(tiers)))
    if expect.get("handoff") is not None and expect["handoff"] not in org.teams:
        problems.append(CaseProblem(("expect", "handoff"), "PS015", f'unknown team "{expect["handoff"]}"',
                                    did_you_mean(str(expect["handoff"]), org.teams) or "teams: " + ", ".join(org.teams)))
    for index, option in enumerate(expect.get("options") or []):
        action = option.get("action")
        if action is not None and action not in org.actions:
            problems.append(CaseProblem(("expect", "options", index, "action"), "PS014", f'unknown action "{action}"',
                                        did_you_mean(str(action), org.actions)))
    rules = {rule.key for rule in policy_set.rules}
    for index, rule in enumerate(expect.get("rules") or []):
        key = rule if "/" in rule else f"{policy_id}/{rule}"
        if key not in rules:
            bare = [r for r in rules if r.rsplit("/", 1)[-1] == rule.rsplit("/", 1)[-1]]
            hint = f'a rule of another policy is written with its policy: "{bare[0]}"' if bare else \
                did_you_mean(rule, [r.split("/", 1)[1] for r in rules if r.startswith(policy_id + "/")]) or did_you_mean(rule, rules)
            problems.append(CaseProblem(("expect", "rules", index), "PS019", f'unknown rule "{rule}"', hint))
    return problems


def positioned(source: SourceFile, index: int, problems: list[CaseProblem]) -> list[Diagnostic]:
    """Case problems as diagnostics at their place in the test file."""
    return [source.diagnostic(("cases", index) + p.path, p.code, p.message, hint=p.hint, key=p.key) for p in problems]
