"""How a refused request names what is wrong, for every face: marshmallow's nested messages as dotted
field paths (`proposal.amount`, `case.days_since_purchase`), which the HTTP API puts in a problem's
`errors` and the MCP server in a tool error's text, so a caller or a model can correct exactly that field."""

from __future__ import annotations

from typing import Any


def field_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"proposal.amount": [...]} (the body itself is "body")."""
    if isinstance(messages, list):
        return {prefix or "body": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
        if isinstance(value, dict):
            flat.update(field_errors(value, path))
        else:
            items = value if isinstance(value, list) else [value]
            flat.setdefault(path or "body", []).extend("unknown field" if m == "Unknown field." else str(m) for m in items)
    return flat
