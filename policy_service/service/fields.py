"""Which fields rules may read, with their types and where each travels in a decision request
(`policy-service fields`, docs/authoring.md).

One source each: the fields and their types are the organisation's (built-in ones from the model,
declared ones from the Organization file), and where a field travels is read from the request schema
itself (deciding/request.py), so this list cannot drift from what POST /v1/decisions accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policy_service.authoring.translations import translate
from policy_service.deciding.request import request_schema
from policy_service.model import PolicySet

# What the request schema cannot say: values the service fills in itself (deciding/request.py).
_FILLED_IN = {
    "agent.tier": "from the agent directory by agent.id (a trusted key may send agent.tier)",
    "agent.team": "from the agent directory by agent.id",
    "agent.kind": "from the agent directory by agent.id",
}


@dataclass(frozen=True)
class FieldRow:
    name: str  # as rules name it: case.is_final_sale
    type: str
    values: tuple[str, ...] | None
    builtin: bool
    request: str | None  # where it travels in a request body: case.attributes.is_final_sale
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.name, "type": self.type, "values": list(self.values) if self.values else None,
                "kind": "built-in" if self.builtin else "declared", "request": self.request, "note": self.note}


def request_paths(policy_set: PolicySet) -> dict[str, str]:
    """Rule field name -> its path in a request body, walked from the request schema."""
    paths: dict[str, str] = {}

    def walk(schema: Any, prefix: tuple[str, ...]) -> None:
        for name, field in schema.fields.items():
            here = prefix + (name,)
            nested = getattr(field, "schema", None)
            if nested is not None:
                walk(nested, here)
            else:
                paths[".".join(part for part in here if part != "attributes")] = ".".join(here)

    walk(request_schema(policy_set), ())
    return paths


def list_fields(policy_set: PolicySet) -> list[FieldRow]:
    """Built-in fields first, then the organisation's declared ones, each by name."""
    paths = request_paths(policy_set)
    org = policy_set.organization
    # Two built-ins whose values are the organisation's own ids rather than a declared list.
    ids = {"proposal.action": tuple(org.actions), "agent.tier": tuple(t.id for t in org.tiers)}
    specs = sorted(org.fields.values(), key=lambda spec: (not spec.builtin, spec.name))
    return [FieldRow(spec.name, spec.type, spec.values or ids.get(spec.name), spec.builtin, paths.get(spec.name),
                     _FILLED_IN.get(spec.name)) for spec in specs]


# The table's own words. Field names, types and values are the format's keywords and stay as written.
_HEADERS = {"en": ("field", "type", "kind", "in a request", "values"), "es": ("campo", "tipo", "clase", "en una solicitud", "valores")}
_KINDS = {"en": ("built-in", "declared"), "es": ("incorporado", "declarado")}


def render_fields(rows: list[FieldRow], lang: str = "en") -> str:
    """The fields as a table for people, in `lang` (es, en); `as_dict` is the JSON, which keeps keywords."""
    lang = lang if lang in _HEADERS else "en"
    table = [_HEADERS[lang]]
    for row in rows:
        where = translate(row.note, lang) if row.note else row.request or "—"
        table.append((row.name, row.type, _KINDS[lang][0 if row.builtin else 1], where, ", ".join(row.values or ())))
    width = [max(len(line[i]) for line in table) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width[i]) if i < 4 else cell for i, cell in enumerate(line)).rstrip() for line in table)
