"""The Policies page (docs/contract.md §9), for any signed-in role: the live revision and when it went
live, each policy's rules in words beside their YAML, the empowerment matrix with labels and amounts in
the page's locale, and the reload history with each refused attempt's positioned problems, every
revision linked to its stored text (`/console/revisions/<revision>`).

A face only: service.policy_overview, service.matrix and service.passages gather everything; this
module picks the page's language and renders.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from policy_service.console.pages import blueprint, console_page, locale, nav_entry, t
from policy_service.console.session import language, requires_console_role
from policy_service.console.texts import TEXTS
from policy_service.service.matrix import matrix_json
from policy_service.service.policy_overview import policy_views, reload_history
from policy_service.web.state import service_state

nav_entry("console.policies", "policies")  # no role named: every signed-in role


@blueprint.get("/policies")
@requires_console_role()
def policies() -> Response:
    state = service_state()
    policy_set, page_locale = state.live.runtime.policy_set, locale()
    return console_page("console/policies.html", live=state.live, policies=policy_views(policy_set, page_locale),
                        matrix=matrix_json(policy_set, page_locale),
                        history=reload_history(state.store, language()))


@blueprint.app_template_global()
def reload_source(source: str) -> str:
    """What started a load, in the page's words ("al arrancar el servicio"); a source without words as recorded."""
    return t(f"reload_source_{source}") if f"reload_source_{source}" in TEXTS else source
