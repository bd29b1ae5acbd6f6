"""The MCP server's four tools through the SDK's own client, in memory (policy_service/assistants)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, EXAMPLE_POLICIES, small_refund
from mcp_client import connected, entries, mcp_state, structured, text_of, tool_args

from policy_service.service.state import ServiceState

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state(tmp_path: Path) -> ServiceState:
    return mcp_state(EXAMPLE_POLICIES, f"sqlite:///{tmp_path / 'log.db'}")


def _objects(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every object schema inside `schema`, with where it is."""
    found = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append((path or "arguments", schema))
        for key, value in schema.items():
            found += _objects(value, f"{path}.{key}" if path else key)
    elif isinstance(schema, list):
        for item in schema:
            found += _objects(item, path)
    return found


async def test_the_four_tools_have_closed_schemas_from_the_organisation_and_explicit_annotations(state: ServiceState) -> None:
    """tools/list: every input object is closed, actions and declared fields come with their types, and
    every annotation is stated."""
    async with connected(state, "ag-101") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert list(tools) == ["evaluate_exception", "get_my_authority", "get_decision", "report_outcome"]
    org = state.runtime.policy_set.organization
    evaluate = tools["evaluate_exception"].input_schema
    assert set(evaluate["properties"]) == {"customer", "case", "proposal", "locale", "idempotency_key"}
    assert evaluate["properties"]["proposal"]["properties"]["action"]["enum"] == list(org.actions)
    assert evaluate["properties"]["customer"]["properties"]["tier"]["enum"] == ["standard", "gold", "platinum"]
    declared = evaluate["properties"]["case"]["properties"]["attributes"]["properties"]
    assert declared["is_final_sale"] == {"type": "boolean"}
    assert declared["days_late"]["type"] == "integer"
    assert evaluate["properties"]["customer"]["properties"]["attributes"]["properties"]["open_invoices"]["type"] == "integer"
    for tool in tools.values():
        for where, obj in _objects(tool.input_schema):
            assert obj.get("additionalProperties") is False, f"{tool.name}: {where} is open"
        # No tool takes an agent or a tier, anywhere in its arguments.
        assert not {"agent", "agent_id", "tier"} & set(tool.input_schema["properties"])
        annotations = tool.annotations
        assert annotations is not None and None not in (annotations.read_only_hint, annotations.destructive_hint,
                                                         annotations.idempotent_hint, annotations.open_world_hint)
        assert annotations.open_world_hint is False and annotations.destructive_hint is False
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
    assert [tools[name].annotations.read_only_hint for name in tools] == [False, True, True, False]  # type: ignore[union-attr]
    assert tools["evaluate_exception"].annotations.idempotent_hint is False  # type: ignore[union-attr]
    description = tools["evaluate_exception"].description or ""
    assert "BEFORE" in description and "not an error" in description and "idempotency_key" in description


async def test_an_escalation_is_an_answer_with_options_and_words_in_the_locale_asked(state: ServiceState) -> None:
    """The decision object of POST /v1/decisions, in Spanish by default and in English when asked,
    recorded with caller mcp:<agent>."""
    async with connected(state, "ag-101") as client:
        spanish = structured(await client.call_tool("evaluate_exception", tool_args(BODY)))
        english_result = await client.call_tool("evaluate_exception", {**tool_args(BODY), "locale": "en"})
    english = structured(english_result)
    assert spanish["outcome"] == "escalate" and english["outcome"] == "escalate"
    assert spanish["agent"] == {"id": "ag-101", "tier": "agent"}
    assert spanish["escalation"]["to_tier"] == "supervisor"
    assert spanish["options"][0]["action"] == "store_credit" and "crédito" in spanish["options"][0]["say"]
    assert "Supervisor" in spanish["escalation"]["say"] and "reembolso de 120,00" in spanish["escalation"]["say"]
    assert "store credit" in english["options"][0]["say"] and "refund" in english["escalation"]["say"]
    assert english_result.is_error is False and "escalate" in text_of(english_result)
    logged = entries(state)
    assert [(e["kind"], e["caller"], e["agent_id"]) for e in logged] == [("decision", "mcp:ag-101", "ag-101")] * 2
    assert {e["decision_id"] for e in logged} == {spanish["decision_id"], english["decision_id"]}


async def test_numbers_with_fractions_are_read_and_logged_as_the_http_api_reads_them(state: ServiceState) -> None:
    """The SDK parses a JSON number with a fraction as a float; POST /v1/decisions reads it as an exact
    decimal and logs it as text. A tool call is read and logged the same way, whichever door it used."""
    body = {**tool_args(BODY), "customer": {**BODY["customer"], "lifetime_value": 4300.75},
            "proposal": {"action": "refund", "amount": 120.5, "currency": "EUR"}}
    async with connected(state, "ag-101") as client:
        answer = structured(await client.call_tool("evaluate_exception", body))
    assert answer["proposal"]["amount"] == "120.50"
    stored = json.loads(entries(state)[-1]["request"])
    assert (stored["proposal"]["amount"], stored["customer"]["lifetime_value"]) == ("120.5", "4300.75")


async def test_a_request_the_api_would_refuse_is_a_tool_error_naming_each_field(state: ServiceState) -> None:
    """422 material is isError with every bad field named, and nothing is recorded."""
    args = tool_args(BODY)
    bad = {**args, "case": {**args["case"], "days_since_purchase": "forty", "fault": "nobody"},
           "customer": {**args["customer"], "colour": "blue"}}
    async with connected(state, "ag-101") as client:
        result = await client.call_tool("evaluate_exception", bad)
        decimals = await client.call_tool("evaluate_exception", {**args, "proposal": {"action": "refund", "amount": "10.005"}})
        unknown_action = await client.call_tool("evaluate_exception", {"proposal": {"action": "refundd", "amount": "5"}})
        not_an_object = await client.call_tool("evaluate_exception", {"proposal": "refund 5 EUR"})
    assert result.is_error is True and result.structured_content is None
    text = text_of(result)
    for field in ("case.days_since_purchase", "case.fault", "customer.colour"):
        assert f"- {field}: " in text, text
    assert decimals.is_error and "- proposal.amount: has more decimals than EUR allows" in text_of(decimals)
    assert unknown_action.is_error and "- proposal.action: Must be one of" in text_of(unknown_action)
    assert not_an_object.is_error and "- proposal: " in text_of(not_an_object)
    assert entries(state) == []


async def test_no_tool_argument_changes_the_agent_or_its_tier(state: ServiceState) -> None:
    """A model that claims a manager's id or tier is refused, nothing is recorded, and a plain request
    still decides with the seat's own agent and tier."""
    args = tool_args(BODY)
    attempts = [
        {**args, "agent": {"id": "mgr-1", "tier": "manager"}},
        {**args, "tier": "manager"},
        {**args, "agent_id": "mgr-1"},
        {**args, "proposal": {**args["proposal"], "tier": "manager"}},
        {**args, "customer": {**args["customer"], "agent": {"tier": "manager"}}},
    ]
    async with connected(state, "ag-101") as client:
        results = [await client.call_tool("evaluate_exception", attempt) for attempt in attempts]
        authority = await client.call_tool("get_my_authority", {"agent_id": "mgr-1"})
        plain = structured(await client.call_tool("evaluate_exception", args))
        read = await client.call_tool("get_decision", {"decision_id": plain["decision_id"], "agent": {"id": "mgr-1"}})
        report = await client.call_tool("report_outcome", {"decision_id": plain["decision_id"], "declined": True,
                                                           "tier": "manager"})
    for result in [*results, authority, read, report]:
        assert result.is_error is True, text_of(result)
    assert "acts for agent ag-101 only" in text_of(results[0]) and "- agent: " in text_of(results[0])
    assert "- tier: " in text_of(results[1]) and "- proposal.tier: " in text_of(results[3])
    assert plain["agent"] == {"id": "ag-101", "tier": "agent"} and plain["outcome"] == "escalate"
    assert len(entries(state)) == 1


async def test_an_idempotency_key_has_the_headers_semantics(state: ServiceState) -> None:
    """Same key and arguments: the first decision again and one log entry; same key, other arguments:
    a tool error naming idempotency_key; another key: a new decision."""
    args = {**tool_args(small_refund("30.00")), "idempotency_key": "retry-1"}
    async with connected(state, "ag-101") as client:
        first = structured(await client.call_tool("evaluate_exception", args))
        again = structured(await client.call_tool("evaluate_exception", args))
        other = await client.call_tool("evaluate_exception", {**args, "proposal": {"action": "refund", "amount": "31.00"}})
        fresh = structured(await client.call_tool("evaluate_exception", {**args, "idempotency_key": "retry-2"}))
    assert first == again and first["outcome"] == "allow"
    assert other.is_error and "- idempotency_key: already used" in text_of(other)
    assert fresh["decision_id"] != first["decision_id"]
    assert [e["decision_id"] for e in entries(state)] == [first["decision_id"], fresh["decision_id"]]


async def test_my_authority_is_the_tiers_limits_and_the_caps_left(state: ServiceState) -> None:
    """Per action: the tier's limit with no rule fired, and what this customer's and agent's caps have
    left, which an allowed refund then reduces."""
    async with connected(state, "ag-101") as client:
        before = structured(await client.call_tool("get_my_authority", {"customer_id": "cu-1"}))
        structured(await client.call_tool("evaluate_exception", tool_args(small_refund("30.00"))))
        after = structured(await client.call_tool("get_my_authority", {"action": "refund", "customer_id": "cu-1"}))
        unknown = await client.call_tool("get_my_authority", {"action": "refundd"})
    assert before["agent"] == {"id": "ag-101", "tier": "agent", "team": "care"}
    limits = {row["action"]: row["limit"] for row in before["actions"]}
    assert limits["refund"] == "50.00" and limits["store_credit"] == "75.00" and limits["reshipment"] is True
    [refund] = after["actions"]
    caps = {cap["id"]: cap for cap in refund["caps"]}
    assert caps["refunds/customer_goodwill_90d"]["remaining"] == "270.00"
    assert caps["refunds/customer_goodwill_90d"]["remaining_count"] == 2
    assert caps["refunds/agent_daily_refunds"]["remaining"] == "370.00"
    assert refund["limit_now"] == "50.00"
    assert unknown.is_error and "- action: unknown action" in text_of(unknown)


async def test_get_decision_reads_only_this_agents_decisions(state: ServiceState) -> None:
    """Its own decision with events and state; another agent's, or an unknown id, is not found."""
    async with connected(state, "ag-101") as client:
        made = structured(await client.call_tool("evaluate_exception", tool_args(BODY)))
        mine = structured(await client.call_tool("get_decision", {"decision_id": made["decision_id"]}))
        unknown = await client.call_tool("get_decision", {"decision_id": "dec_nothing"})
    async with connected(state, "ag-102") as other:
        theirs = await other.call_tool("get_decision", {"decision_id": made["decision_id"]})
    assert mine["events"] == [] and mine["state"]["approval"] == "pending"
    assert {k: v for k, v in mine.items() if k not in ("events", "state")} == made
    assert theirs.is_error and f'no decision "{made["decision_id"]}" among the decisions of agent ag-102' in text_of(theirs)
    assert unknown.is_error and "- decision_id: " in text_of(unknown)


async def test_report_outcome_settles_once_and_never_more_than_allowed(state: ServiceState) -> None:
    """An allowed refund is reported once (a retry of the same report answers the same); more than allowed,
    another report, or a declined outcome with an amount are tool errors, and to another agent the decision
    does not exist. An escalation awaiting approval says so rather than "not offered"."""
    async with connected(state, "ag-101") as client:
        allowed = structured(await client.call_tool("evaluate_exception", tool_args(small_refund("30.00"))))
        decision_id = allowed["decision_id"]
        too_much = await client.call_tool("report_outcome", {"decision_id": decision_id, "action": "refund", "amount": "31.00"})
        mixed = await client.call_tool("report_outcome", {"decision_id": decision_id, "declined": True, "amount": "1.00"})
        async with connected(state, "ag-102") as other:
            borrowed = await other.call_tool("report_outcome", {"decision_id": decision_id, "declined": True})
        event = structured(await client.call_tool("report_outcome", {"decision_id": decision_id, "action": "refund", "amount": "25.00"}))
        retried = await client.call_tool("report_outcome", {"decision_id": decision_id, "action": "refund", "amount": "25"})
        twice = await client.call_tool("report_outcome", {"decision_id": decision_id, "declined": True})
        state_now = structured(await client.call_tool("get_decision", {"decision_id": decision_id}))["state"]
    assert too_much.is_error and "31.00 is more than the 30.00 allowed" in text_of(too_much)
    assert mixed.is_error and "- declined: " in text_of(mixed)
    assert borrowed.is_error and "among the decisions of agent ag-102" in text_of(borrowed)
    assert event["kind"] == "outcome" and event["amount"] == "25.00" and event["declined"] is False
    # A retry of the same report (after a timeout) answers as the first did; another report is refused.
    assert not retried.is_error and structured(retried) == event
    assert twice.is_error and "an outcome is already recorded" in text_of(twice)
    assert state_now["outcome"] == "granted" and state_now["granted"] == {"action": "refund", "amount": "25.00"}
    assert [(e["kind"], e["caller"]) for e in entries(state)] == [("decision", "mcp:ag-101"), ("outcome", "mcp:ag-101")]
    async with connected(state, "ag-101") as client:
        escalated = structured(await client.call_tool("evaluate_exception", tool_args(BODY)))
        early = await client.call_tool("report_outcome", {"decision_id": escalated["decision_id"], "action": "refund",
                                                          "amount": "120.00"})
    assert early.is_error and "awaits approval: refund can be reported once it is approved" in text_of(early)


async def test_an_unknown_tool_is_a_tool_error_listing_the_tools(state: ServiceState) -> None:
    """A model that invents a tool (say, an approval) learns which exist."""
    async with connected(state, "ag-101") as client:
        result = await client.call_tool("approve_decision", {"decision_id": "dec_x"})
    assert result.is_error and "evaluate_exception, get_my_authority, get_decision, report_outcome" in text_of(result)


async def test_a_log_that_cannot_record_is_a_tool_error_and_nothing_is_decided(tmp_path: Path) -> None:
    """With the database unreachable the server still starts (from its own policy directory) and a
    decision is a tool error telling the model nothing was decided, never an answer it could promise."""
    state = mcp_state(EXAMPLE_POLICIES, "postgresql://policy@127.0.0.1:1/unreachable")
    async with connected(state, "ag-101") as client:
        result = await client.call_tool("evaluate_exception", tool_args(BODY))
    assert result.is_error and result.structured_content is None
    assert "nothing was decided or recorded" in text_of(result) and "same idempotency_key" in text_of(result)
