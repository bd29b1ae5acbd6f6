"""GET /v1/insights: where the limits are wrong, from the log (docs/contract.md §10)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from policy_service.service.insights import insights
from policy_service.service.insights_advice import InsightSettings
from policy_service.service.insights_schemas import InsightsQuerySchema, InsightsSchema
from policy_service.web.access import requires
from policy_service.web.operations import documented, query_args
from policy_service.web.state import service_state

blueprint = Blueprint("insights", __name__)


@blueprint.get("/v1/insights")
@requires("policy_admin", "auditor")
@documented("Per action and tier: outcomes, escalations and their verdicts, approval rates, waits and money; "
            "answers with no option left; and recommended limits with their evidence and the one-line change",
            {200: InsightsSchema}, query=InsightsQuerySchema)
def get_insights() -> Any:
    args = query_args(InsightsQuerySchema())
    state = service_state()
    return insights(state.store, state.runtime.policy_set,
                    InsightSettings(args["since"], args["min_cases"], args["min_rate"]))
