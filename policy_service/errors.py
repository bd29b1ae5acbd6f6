"""Every error the service raises on purpose, as one tree, so a caller can catch them all or one kind.

    PolicyServiceError
    ├── StartupError            the service cannot start: the policies cannot be served (service.reloading)
    ├── KeyFileError            the API key file cannot be read or written (service.keys)
    ├── EngineError             the rules engine gave no complete verdict (deciding.engine)
    ├── StoreError              the decision log cannot record or read (decisionlog)
    ├── DecisionNotFoundError   no decision has this id
    ├── ConflictError           the log's state forbids it: decided twice, more than was allowed
    │   └── IdempotencyConflictError   an Idempotency-Key reused with another body
    ├── FieldError              a field of the request is wrong for this decision; names the field
    │   └── NotPermittedError   the caller's agent may not do this (an approver below the tier)
    ├── PolicyCaseError         a policy test case failed (pytest plugin)
    ├── ShapeError              an answer that does not fit its declared schema: a bug (service.responses)
    └── ProblemError            an HTTP problem the web layer answers as it is (web.errors)

The service layer raises these and knows nothing of HTTP; only the web room gives them statuses
(web/errors.py: 404, 409, 422, 403, 503; EngineError and ShapeError are bugs: a logged 500). Bad request bodies are marshmallow's ValidationError, keyed by field, as everywhere.
"""

from __future__ import annotations


class PolicyServiceError(Exception):
    """The root: anything policy-service raises on purpose."""


class StartupError(PolicyServiceError):
    """The service cannot start: the message says why (with every policy problem, positioned)."""


class KeyFileError(PolicyServiceError):
    """The API key file is missing a field, malformed, or cannot be written."""


class EngineError(PolicyServiceError):
    """The engine did not give a complete verdict; the request must fail rather than be answered."""


class StoreError(PolicyServiceError):
    """The log could not record or read; callers answer 503, never a made-up success."""


class DecisionNotFoundError(PolicyServiceError):
    """No decision has this id."""


class ConflictError(PolicyServiceError):
    """The log's state forbids it: decided twice, more than allowed or offered."""


class IdempotencyConflictError(ConflictError):
    """The Idempotency-Key was used in the last 24 h with another body."""


class FieldError(PolicyServiceError):
    """A field of the request is wrong for this decision (an unknown approver, an amount too high)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class NotPermittedError(FieldError):
    """The agent the field names may not do this (an approver below the escalation's tier or limit)."""


class ShapeError(PolicyServiceError):
    """An answer that does not fit its declared schema: a bug in the code that built it (a 500)."""


class PolicyCaseError(PolicyServiceError):
    """A policy test case failed; carries its result for the report."""

    def __init__(self, result: object) -> None:
        super().__init__(getattr(result, "failures", result))
        self.result = result
