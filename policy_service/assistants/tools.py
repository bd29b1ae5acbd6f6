"""The four tools of docs/contract.md §11: what a model reads about them (descriptions, annotations,
closed schemas) and what each call does, through the same service functions as the HTTP API.

Each call first follows policy reloads (LivePolicies.sync), then translates: its arguments become the
body the API would receive, with the seat's agent filled in (a tool argument can never name one); the
service's answer becomes `structuredContent` and text; a domain error becomes an `isError` result whose
text names each field, as the API's 422/409/404 would. Calls are plain blocking functions: the server
runs them in a worker thread, so a slow database never stalls the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import mcp.types as types
from marshmallow import ValidationError

from policy_service.assistants import schemas
from policy_service.errors import (
    ConflictError,
    DecisionNotFoundError,
    FieldError,
    IdempotencyConflictError,
    NotPermittedError,
    StoreError,
)
from policy_service.model import PolicySet
from policy_service.service.approvals import record_outcome
from policy_service.service.authority import AuthoritySchema, my_authority
from policy_service.service.events import decision_with_events
from policy_service.service.keys import AgentScope
from policy_service.service.problems import field_errors
from policy_service.service.recording import decide_and_record
from policy_service.service.responses import DecisionSchema, DecisionWithEventsSchema, EventSchema
from policy_service.service.state import ServiceState


@dataclass(frozen=True)
class Seat:
    """The one agent a connection acts for: fixed by `--agent` over stdio, by the bearer key over HTTP."""
    agent_id: str

    @property
    def caller(self) -> str:
        return f"mcp:{self.agent_id}"  # the log's caller for every entry this seat makes

    @property
    def scope(self) -> AgentScope:
        return AgentScope(agent=self.agent_id)


EVALUATE = """Ask before you promise. Call this BEFORE offering a customer anything beyond the standard process \
(a refund, store credit, compensation, a fee waiver, a reshipment, a payment extension), with the customer's \
and the case's facts and what you propose to grant. The answer is what you may do now, with words for the \
customer in `say` (in `locale`):
- allow: go ahead; once the customer has it, call report_outcome with what was granted.
- escalate: you may not grant it yourself. Relay `say` and `escalation.say` to the customer, offer the \
`options` you may grant now, and follow the approval with get_decision (a supervisor decides it).
- deny: tell the customer, in the words of `say`, and offer any `options`.
- handoff: another team handles it (`handoff` says which and how to reach it).
A deny or an escalate is an answer to relay, not an error: do not change the facts to get another answer, \
and never promise more than was allowed. Propose what the customer needs as one request: never split one \
exception into smaller ones to stay under a limit. Every call is recorded as a decision of your agent, and an \
allow holds its amount against the customer's and your caps until report_outcome says what was granted: \
report `declined: true` when the customer does not take it, and do not ask again to re-check the same \
proposal (get_my_authority outlines your limits without recording anything). When retrying after a \
timeout, send the same idempotency_key so it is not recorded twice. An isError result means the request \
itself was wrong: its text names each field to correct."""

AUTHORITY = """What you may grant without asking, per action: `limit`, your tier's limit when no special \
circumstance applies; `limit_now`, that limit under the caps left for you (and for the customer, when you give \
customer_id); and what each of those caps has left. Use it to plan a conversation or explain your limits. It \
is an outline, not an answer for a case: a case's facts can raise, lower or forbid a limit, so call \
evaluate_exception before promising anything. Records nothing."""

DECISION = """One of your decisions as it was answered, with its `events` (approvals, outcomes) and `state`, \
where it stands now. Call it to follow an escalation: `state.approval` is pending, approved (with \
`approved_amount`, which may be lower than proposed) or rejected. The answer's own `approval.status` stays \
`pending` as it was given; read `state`. Only decisions your agent made. Records nothing."""

OUTCOME = """Record what the customer actually got, once they have it: `action` and `amount` (the proposed \
action up to what was allowed or approved, or one of the decision's options up to its max), or \
`declined: true` when the customer took nothing. This settles the budget the decision held, so report each \
allowed or approved decision once; repeating the same report (a retry) answers as the first did. Refused \
(isError, nothing recorded) when it is more than was allowed, approved or offered, when an escalation still \
awaits its approval (follow it with get_decision), or when another outcome is already recorded."""


def _annotations(title: str, *, read_only: bool, idempotent: bool) -> types.ToolAnnotations:
    # Stated explicitly, every hint: nothing here deletes or overwrites (the log is append-only), and
    # every tool works on this service's own closed world, never the open web.
    return types.ToolAnnotations(title=title, read_only_hint=read_only, destructive_hint=False,
                                 idempotent_hint=idempotent, open_world_hint=False)


def list_tools(policy_set: PolicySet) -> list[types.Tool]:
    """The tools with input schemas built from this policy set (the live one, when called per request)."""
    return [
        types.Tool(name="evaluate_exception", title="Ask before you promise", description=EVALUATE,
                   input_schema=schemas.evaluate_input(policy_set), output_schema=schemas.output_schema(DecisionSchema),
                   # Not idempotent: each call records a decision and may reserve budget (unless it
                   # repeats an idempotency_key).
                   annotations=_annotations("Ask before you promise", read_only=False, idempotent=False)),
        types.Tool(name="get_my_authority", title="My limits and caps left", description=AUTHORITY,
                   input_schema=schemas.authority_input(policy_set), output_schema=schemas.output_schema(AuthoritySchema),
                   annotations=_annotations("My limits and caps left", read_only=True, idempotent=True)),
        types.Tool(name="get_decision", title="Follow a decision", description=DECISION,
                   input_schema=schemas.decision_input(),
                   output_schema=schemas.output_schema(DecisionWithEventsSchema),
                   annotations=_annotations("Follow a decision", read_only=True, idempotent=True)),
        types.Tool(name="report_outcome", title="Report what was granted", description=OUTCOME,
                   input_schema=schemas.outcome_input(policy_set), output_schema=schemas.output_schema(EventSchema),
                   # Idempotent in effect: a second report of the same decision is refused and changes nothing.
                   annotations=_annotations("Report what was granted", read_only=False, idempotent=True)),
    ]


# Tool argument names a model might try to claim authority with: named in the refusal, so it learns why.
_AUTHORITY_CLAIMS = {"agent", "agent_id", "tier", "agent_tier", "trusted_tier", "approver_id"}


def _unknown(arguments: dict[str, Any] | None, allowed: set[str], seat: Seat) -> dict[str, list[str]]:
    """Messages for arguments that are not the tool's own: closed, like its schema."""
    return {name: [f"no tool takes an agent or a tier: this server acts for agent {seat.agent_id} only"
                   if name in _AUTHORITY_CLAIMS else "Unknown field."]
            for name in (arguments or {}) if name not in allowed}


def _arguments(arguments: dict[str, Any] | None, allowed: set[str], seat: Seat) -> dict[str, Any]:
    """The arguments, refused (ValidationError) when any is not one of the tool's own."""
    unknown = _unknown(arguments, allowed, seat)
    if unknown:
        raise ValidationError(unknown)
    return dict(arguments or {})


def _text_argument(given: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = given.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValidationError({name: ["Missing data for required field." if value is None else "must be a non-empty string"]})
    return value


def evaluate_exception(state: ServiceState, seat: Seat, arguments: dict[str, Any] | None) -> dict[str, Any]:
    given = dict(arguments or {})
    unknown = _unknown(given, {"customer", "case", "proposal", "locale", "idempotency_key"}, seat)
    key = _text_argument(given, "idempotency_key")
    if key is not None and len(key) > 200:
        raise ValidationError({"idempotency_key": ["at most 200 characters"]})
    # The body POST /v1/decisions would receive from a key bound to this agent.
    body: dict[str, Any] = {"agent": {"id": seat.agent_id}}
    body.update((name, given[name]) for name in ("customer", "case", "proposal", "locale") if name in given)
    if unknown:  # refused, but with every other bad field named too, so one correction is enough
        try:
            state.runtime.read(body, trusted_tier=False, counted=True)
        except ValidationError as error:
            messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
            raise ValidationError({**unknown, **messages}) from None
        raise ValidationError(unknown)
    recorded = decide_and_record(state.runtime, state.store, body, caller=seat.caller, trusted_tier=False,
                                 privacy=state.privacy, idempotency_key=key, shadow=state.shadow, scope=seat.scope)
    return json.loads(recorded.text)  # type: ignore[no-any-return]


def get_my_authority(state: ServiceState, seat: Seat, arguments: dict[str, Any] | None) -> dict[str, Any]:
    given = _arguments(arguments, {"action", "customer_id"}, seat)
    return my_authority(state.runtime, state.store, seat.agent_id, action=_text_argument(given, "action"),
                        customer_id=_text_argument(given, "customer_id"), privacy=state.privacy)


def _own_decision(state: ServiceState, seat: Seat, decision_id: str) -> dict[str, Any]:
    """The decision with its events and state, if this seat's agent made it. Another agent's decision
    reads as unknown: a seat learns nothing of decisions that are not its own (not even that they exist,
    which the HTTP API's 403 would confirm)."""
    decision = decision_with_events(state.store, decision_id)
    if decision is None or decision["agent"]["id"] != seat.agent_id:
        raise DecisionNotFoundError(decision_id)
    return decision


def get_decision(state: ServiceState, seat: Seat, arguments: dict[str, Any] | None) -> dict[str, Any]:
    given = _arguments(arguments, {"decision_id"}, seat)
    return _own_decision(state, seat, _text_argument(given, "decision_id", required=True) or "")


def report_outcome(state: ServiceState, seat: Seat, arguments: dict[str, Any] | None) -> dict[str, Any]:
    given = _arguments(arguments, {"decision_id", "action", "amount", "declined"}, seat)
    decision_id = _text_argument(given, "decision_id", required=True) or ""
    _own_decision(state, seat, decision_id)  # before record_outcome, whose refusals would describe it
    body = {name: value for name, value in given.items() if name != "decision_id"}
    try:
        event = record_outcome(state.runtime, state.store, decision_id, body, caller=seat.caller, scope=seat.scope)
    except ConflictError:
        # A retry of the very report already recorded (after a timeout, say) answers as the first did:
        # the annotation promises an idempotent tool. Any other report of a settled decision is refused.
        repeated = _same_outcome(_own_decision(state, seat, decision_id), body)
        if repeated is None:
            raise
        return repeated
    return json.loads(event)  # type: ignore[no-any-return]


def _same_outcome(decision: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | None:
    """The recorded outcome event `body` repeats (the same declined, or the same action and amount), if any."""
    def same_amount(recorded: Any, asked: Any) -> bool:
        try:
            return Decimal(str(recorded)) == Decimal(str(asked))
        except InvalidOperation:
            return str(recorded).lower() == str(asked).lower()
    for event in decision.get("events", []):
        if event.get("kind") != "outcome":
            continue
        if body.get("declined") is True and event.get("declined"):
            return event  # type: ignore[no-any-return]
        if not body.get("declined") and event.get("action") == body.get("action") and same_amount(event.get("amount"), body.get("amount")):
            return event  # type: ignore[no-any-return]
    return None


Handler = Callable[[ServiceState, Seat, dict[str, Any] | None], dict[str, Any]]
HANDLERS: dict[str, Handler] = {"evaluate_exception": evaluate_exception, "get_my_authority": get_my_authority,
                                "get_decision": get_decision, "report_outcome": report_outcome}


def call_tool(state: ServiceState, seat: Seat, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
    """One tool call as a result: the answer, or a tool error the model can act on."""
    handler = HANDLERS.get(name)
    if handler is None:
        return _error(f'Unknown tool "{name}"; the tools are: {", ".join(HANDLERS)}.')
    state.live.sync()  # a reload anywhere in the deployment reaches this server before it answers
    try:
        answer = handler(state, seat, _numbers_as_decimals(arguments))
    except ValidationError as error:
        return _field_error(field_errors(error.messages))
    except IdempotencyConflictError:
        return _field_error({"idempotency_key": ["already used in the last 24 h with another request; "
                                                 "use a new key for a new request"]}, "Refused, nothing recorded")
    except DecisionNotFoundError as error:
        return _field_error({"decision_id": [f'no decision "{error}" among the decisions of agent {seat.agent_id}']},
                            "Not found")
    except NotPermittedError as error:
        return _field_error({error.field: [error.message]}, "Not permitted, nothing recorded")
    except FieldError as error:
        return _field_error({error.field: [error.message]})
    except ConflictError as error:
        return _error(f"Refused (nothing recorded): {error}")
    except StoreError:
        return _error("The decision log cannot record or be read right now, so nothing was decided or recorded. "
                      "Try again shortly (with the same idempotency_key); do not promise anything meanwhile.")
    return types.CallToolResult(content=[types.TextContent(type="text", text=_summary(name, answer)),
                                         types.TextContent(type="text", text=json.dumps(answer, ensure_ascii=False))],
                                structured_content=answer)


def _numbers_as_decimals(value: Any) -> Any:
    """Arguments as POST /v1/decisions reads a body: a number with a fraction is an exact Decimal (the
    SDK's JSON parser gives a float, which the amount fields refuse and the log would spell its own
    way). A float's shortest spelling is the number the client wrote, up to 17 significant digits."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _numbers_as_decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_as_decimals(item) for item in value]
    return value


def _field_error(errors: dict[str, list[str]],
                 lead: str = "Invalid arguments, nothing recorded. Correct these fields and call again") -> types.CallToolResult:
    lines = [f"- {field}: {'; '.join(messages)}" for field, messages in sorted(errors.items())]
    return _error(f"{lead}:\n" + "\n".join(lines))


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def _summary(name: str, answer: dict[str, Any]) -> str:
    """A first line for the model: what the answer means and what to do next (the JSON follows)."""
    if name == "evaluate_exception":
        outcome = answer["outcome"]
        nexts = {"allow": "you may grant it; call report_outcome once the customer has it",
                 "escalate": "relay `say` and `escalation.say`, offer `options`, follow the approval with get_decision",
                 "deny": "relay `say` to the customer and offer any `options`",
                 "handoff": "relay `say`; `handoff` names the team that handles it"}
        return f"Decision {answer['decision_id']}: {outcome} ({nexts.get(outcome, 'relay `say`')})."
    if name == "get_decision":
        state = answer["state"]
        return (f"Decision {answer['decision_id']}: {answer['outcome']}; approval {state['approval'] or 'none'}, "
                f"outcome {state['outcome'] or 'not reported yet'}.")
    if name == "report_outcome":
        what = "declined" if answer.get("declined") else f"granted {answer['action']} {answer.get('amount')}"
        return f"Outcome recorded for {answer['decision_id']}: {what}."
    return f"Limits of agent {answer['agent']['id']} ({answer['agent']['tier']}), revision {answer['policy_revision'][:19]}."
