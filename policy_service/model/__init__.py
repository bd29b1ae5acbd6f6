"""The loaded policy set as plain, immutable, typed data.

Everything above authoring's loader (deciding, the log, the service, HTTP, CLI) reads these classes and
nothing else; this room imports nothing of the package but its own conditions. Amounts are integers: money in the currency's minor units, days and counts as whole numbers, a
granted flag as 1. This keeps comparisons exact and lets the engine see numbers, never strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from typing import Literal

from policy_service.model.conditions import Condition

Unit = Literal["money", "days", "count", "flag"]
FieldType = Literal["string", "integer", "money", "boolean", "list"]
Text = Mapping[str, str]  # locale -> text


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    values: tuple[str, ...] | None = None  # allowed values for a string (or list items)
    builtin: bool = True
    # What people read instead of the ids (the console's forms, rules in words): a noun phrase per
    # locale ("nivel del cliente") and each value's words ({"gold": {"es": "oro"}}). Ids stay the format.
    label: Text = field(default_factory=dict)
    value_labels: Mapping[str, Text] = field(default_factory=dict)


@dataclass(frozen=True)
class Tier:
    id: str
    rank: int
    label: Text


@dataclass(frozen=True)
class Action:
    id: str
    unit: Unit
    label: Text  # locale -> name
    # locale -> form -> text: the label as a sentence needs it (`a`: "un pase a Sala Sol"); a form
    # not given is the name
    forms: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Team:
    id: str
    label: Text
    contact: str | None


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    tier: str
    team: str
    kind: Literal["human", "ai"] = "human"


@dataclass(frozen=True, eq=False)  # identity: used as a cache key
class Organization:
    name: str
    currency: str
    minor_digits: int
    locales: tuple[str, ...]
    tiers: tuple[Tier, ...]
    actions: Mapping[str, Action]
    teams: Mapping[str, Team]
    fields: Mapping[str, FieldSpec]
    messages: Mapping[str, Text] = field(default_factory=dict)  # message key -> locale -> text

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    @cached_property
    def _tiers_by_id(self) -> dict[str, Tier]:
        return {t.id: t for t in self.tiers}

    def tier_rank(self, tier_id: str) -> int:
        return self._tiers_by_id[tier_id].rank

    def tier(self, tier_id: str) -> Tier:
        return self._tiers_by_id[tier_id]


@dataclass(frozen=True)
class Effects:
    scale: Mapping[str, Decimal] = field(default_factory=dict)  # action -> factor (a bare number expands)
    set_limits: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    cap_at_order_value: tuple[str, ...] = ()
    require_tier: Mapping[str, str] = field(default_factory=dict)
    forbid: tuple[str, ...] = ()
    offer: tuple[str, ...] = ()
    handoff: str | None = None
    say: Text = field(default_factory=dict)
    conditions: Text = field(default_factory=dict)

    @cached_property
    def limit_actions(self) -> frozenset[str]:
        """Actions named by a limit effect: they make the rule reported for those actions."""
        return frozenset(
            [*self.scale, *self.set_limits, *self.cap_at_order_value, *self.require_tier, *self.forbid]
        )


@dataclass(frozen=True)
class Rule:
    id: str
    policy_id: str
    when: Condition
    then: Effects
    file: str
    line: int

    @property
    def key(self) -> str:
        return f"{self.policy_id}/{self.id}"


@dataclass(frozen=True)
class Cap:
    id: str
    policy_id: str
    per: Literal["customer", "agent"]
    actions: tuple[str, ...]
    window: timedelta
    max_amount: int | Mapping[str, int] | None  # by tier when a mapping
    max_count: int | None
    override_tier: str | None
    label: Text = field(default_factory=dict)  # for the words that name it (default: the id)

    @property
    def key(self) -> str:
        return f"{self.policy_id}/{self.id}"

    def max_amount_for(self, tier_id: str) -> int | None:
        if isinstance(self.max_amount, Mapping):
            return self.max_amount.get(tier_id)
        return self.max_amount


@dataclass(frozen=True, eq=False)  # identity: used as a cache key
class Policy:
    id: str
    description: str
    owner: str
    actions: tuple[str, ...]
    limits: Mapping[str, Mapping[str, int]]  # action -> tier -> limit
    caps: tuple[Cap, ...]
    rules: tuple[Rule, ...]
    file: str
    # action -> the actions offered automatically in its place, in order (docs/contract.md §3.3);
    # an action not listed gets the policy's other actions
    alternatives: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def alternatives_for(self, action_id: str) -> tuple[str, ...]:
        listed = self.alternatives.get(action_id)
        if listed is not None:
            return listed
        return tuple(a for a in self.actions if a != action_id)


@dataclass(frozen=True, eq=False)  # identity: used as a cache key
class PolicySet:
    organization: Organization
    agents: Mapping[str, Agent]
    policies: tuple[Policy, ...]  # in path order
    revision: str  # sha256 over the files' contents
    files: Mapping[str, str]  # relative path -> content, for storing revisions

    @cached_property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(rule for policy in self.policies for rule in policy.rules)

    @cached_property
    def caps(self) -> tuple[Cap, ...]:
        return tuple(cap for policy in self.policies for cap in policy.caps)

    @cached_property
    def _policy_by_action(self) -> dict[str, Policy]:
        return {action: p for p in reversed(self.policies) for action in p.actions}

    @cached_property
    def _caps_by_action(self) -> dict[str, tuple[Cap, ...]]:
        return {a: tuple(c for c in self.caps if a in c.actions) for a in self.organization.actions}

    def policy_for(self, action_id: str) -> Policy | None:
        return self._policy_by_action.get(action_id)

    def caps_for(self, action_id: str) -> tuple[Cap, ...]:
        return self._caps_by_action.get(action_id, ())

    def policy(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)


# docs/contract.md §3.1: fields every request may carry and every rule may read, with their types and
# the words people read for them (an organisation may relabel one by declaring it).
def _builtin(name: str, type_: FieldType, es: str, en: str, values: Mapping[str, tuple[str, str]] | None = None) -> FieldSpec:
    return FieldSpec(name, type_, tuple(values) if values else None, label={"es": es, "en": en},
                     value_labels={v: {"es": v_es, "en": v_en} for v, (v_es, v_en) in (values or {}).items()})


BUILTIN_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        _builtin("agent.tier", "string", "nivel del agente", "agent tier"),
        _builtin("agent.team", "string", "equipo del agente", "agent team"),
        _builtin("agent.kind", "string", "tipo de agente", "kind of agent",
                 {"human": ("persona", "person"), "ai": ("asistente de IA", "AI assistant")}),
        _builtin("customer.tier", "string", "nivel del cliente", "customer tier"),
        _builtin("case.reason", "string", "motivo", "reason"),
        _builtin("case.channel", "string", "canal", "channel"),
        _builtin("case.fault", "string", "responsabilidad", "fault",
                 {"company": ("la empresa", "the company"), "carrier": ("el transportista", "the carrier"),
                  "customer": ("el cliente", "the customer"), "unknown": ("sin determinar", "unknown")}),
        _builtin("proposal.action", "string", "acción propuesta", "proposed action"),
        _builtin("customer.tenure_months", "integer", "antigüedad del cliente (meses)", "customer tenure (months)"),
        _builtin("case.days_since_purchase", "integer", "días desde la compra", "days since purchase"),
        _builtin("case.contact_count", "integer", "contactos del cliente", "customer contacts"),
        _builtin("customer.lifetime_value", "money", "valor del cliente", "customer lifetime value"),
        _builtin("case.order_value", "money", "valor del pedido", "order value"),
        _builtin("proposal.amount", "money", "importe propuesto", "proposed amount"),
        _builtin("customer.flags", "list", "marcas del cliente", "customer flags"),
    )
}
