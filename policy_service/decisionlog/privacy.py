"""What of a request reaches the log (docs/contract.md §6, privacy): masked fields and keyed customer ids.

Masking replaces a value with MASK and lists its path on the entry, so an auditor sees that something
was removed (and what), never the value. With a customer-id key, ids are stored as a keyed hash: the
same customer gets the same reference (so caps and auditor filters still work) but the log alone does
not say who the customer is.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

MASK = "[masked]"


@dataclass(frozen=True)
class PrivacySettings:
    masked_fields: tuple[str, ...] = ()  # dotted request paths: "customer.email", "case.notes"
    customer_id_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, masked: str | list[str] | tuple[str, ...] | None, key: str | bytes | None) -> PrivacySettings:
        if isinstance(masked, str):
            masked = [part.strip() for part in masked.split(",")]
        paths = tuple(p for p in (masked or ()) if p)
        raw_key = key.encode() if isinstance(key, str) else key
        return cls(paths, raw_key or None)

    def customer_ref(self, customer_id: str | None) -> str | None:
        """The customer id as stored: itself, or `hmac:` + a keyed SHA-256 when a key is configured."""
        if customer_id is None or self.customer_id_key is None:
            return customer_id
        digest = hmac.new(self.customer_id_key, customer_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return "hmac:" + digest[:40]

    def protect(self, body: Any) -> tuple[Any, list[str]]:
        """The request as stored, and the paths masked in it (only those actually present)."""
        if not isinstance(body, dict) or (not self.masked_fields and self.customer_id_key is None):
            return body, []
        stored = copy.deepcopy(body)
        masked = [path for path in self.masked_fields if _mask(stored, path.split("."))]
        customer = stored.get("customer")
        if self.customer_id_key is not None and isinstance(customer, dict) and isinstance(customer.get("id"), str):
            customer["id"] = self.customer_ref(customer["id"])
        return stored, sorted(masked)


def _mask(data: Any, path: list[str]) -> bool:
    for key in path[:-1]:
        if not isinstance(data, dict) or not isinstance(data.get(key), dict):
            return False
        data = data[key]
    if isinstance(data, dict) and path[-1] in data:
        data[path[-1]] = MASK
        return True
    return False
