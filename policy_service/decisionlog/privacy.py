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

from policy_service.decisionlog.chain import canonical_json

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

    def body_fingerprint(self, body: Any, stored: Any, stored_text: str) -> str:
        """What the idempotency index keeps of a body, to tell a retry from another request.

        It must not reveal what masking removed (an unkeyed hash of the raw body gave the masked
        lifetime value and the customer id back to a brute force in 111 s): with a customer-id key, an
        HMAC of the raw body under a key derived from it; without one, a hash of the body as stored,
        which tells nothing the log does not already show (two bodies that differ only in a masked
        field then count as the same request)."""
        if self.customer_id_key is None:
            return hashlib.sha256(stored_text.encode("utf-8")).hexdigest()
        raw_text = stored_text if stored is body else canonical_json(body)
        key = hmac.new(self.customer_id_key, b"policy-service idempotency", hashlib.sha256).digest()
        return hmac.new(key, raw_text.encode("utf-8"), hashlib.sha256).hexdigest()

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
