"""POST /v1/simulations: the answer an agent would get for a proposal, recorded nowhere (docs/contract.md §9)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from policy_service.service.responses import SimulationSchema
from policy_service.service.simulation import simulate
from policy_service.web.access import caller, requires
from policy_service.web.operations import documented, read_json_body
from policy_service.web.state import service_state

blueprint = Blueprint("simulations", __name__)


@blueprint.post("/v1/simulations")
@requires("policy_admin", "auditor")
@documented("Answer a proposal as POST /v1/decisions would, against the live policies and the log's cap usage, "
            "recording nothing (no decision id, time or approval)", {200: SimulationSchema}, body="DecisionRequest")
def create_simulation() -> Any:
    state = service_state()
    return simulate(state.runtime, state.store, read_json_body(), trusted_tier=caller().trusted_tier,
                    privacy=state.privacy)
