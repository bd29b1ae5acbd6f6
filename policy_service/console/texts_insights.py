"""The Insights page's words (docs/contract.md §9, §10), in Spanish and English; merged into
console.texts.TEXTS, kept apart so the page's texts have one owner."""

from __future__ import annotations

INSIGHT_TEXTS: dict[str, dict[str, str]] = {
    "insights": {"es": "Perspectivas", "en": "Insights"},
    "insights_intro": {"es": "Dónde están mal los límites, según el registro: qué escala, cuánto se aprueba, cuánto se "
                                "espera y qué cambio de límite lo evitaría, con sus pruebas.",
                       "en": "Where the limits are wrong, read from the log: what escalates, how much is approved, how "
                             "long people wait, and which limit change would avoid it, with its evidence."},
    "insights_window": {"es": "Periodo", "en": "Window"},
    "insights_window_hint": {"es": "90d, 12h, una fecha ISO (2026-11-01) o all",
                             "en": "90d, 12h, an ISO date (2026-11-01) or all"},
    "insights_show": {"es": "Mostrar", "en": "Show"},
    "insights_since": {"es": "{decisions} decisiones desde {date}", "en": "{decisions} decisions since {date}"},
    "insights_all": {"es": "{decisions} decisiones de todo el registro", "en": "{decisions} decisions in the whole log"},
    "insights_rates": {"es": "Escalados y aprobaciones por acción y nivel", "en": "Escalations and approvals by action and tier"},
    "insights_rates_desc": {"es": "Barras: porcentaje de decisiones escaladas y porcentaje de escalados aprobados.",
                            "en": "Bars: share of decisions escalated and share of escalations approved."},
    "insights_escalated": {"es": "Escaladas", "en": "Escalated"},
    "insights_approved_share": {"es": "Aprobadas", "en": "Approved"},
    "insights_waits": {"es": "Espera hasta el veredicto", "en": "Wait for a verdict"},
    "insights_waits_desc": {"es": "Barras: mediana y percentil 90 de la espera, en minutos.",
                            "en": "Bars: median and 90th percentile of the wait, in minutes."},
    "insights_median": {"es": "Mediana", "en": "Median"},
    "insights_minutes": {"es": "{n} min", "en": "{n} min"},
    "insights_table": {"es": "Cifras por acción y nivel", "en": "Figures by action and tier"},
    "insights_band": {"es": "Acción y nivel", "en": "Action and tier"},
    "insights_decisions": {"es": "Decisiones", "en": "Decisions"},
    "insights_pending": {"es": "Pendientes", "en": "Pending"},
    "insights_rate": {"es": "Aprobación (cota inferior)", "en": "Approval (lower bound)"},
    "insights_proposed": {"es": "Propuesto", "en": "Proposed"},
    "insights_granted": {"es": "Concedido", "en": "Granted"},
    "insights_recommendations": {"es": "Recomendaciones", "en": "Recommendations"},
    "insights_no_recommendations": {"es": "Ninguna: ningún nivel reúne los casos y la tasa de aprobación exigidos.",
                                    "en": "None: no tier has the required cases and approval rate."},
    "insights_raise": {"es": "{action}, {tier}: subir el límite de {current} a {suggested}",
                       "en": "{action}, {tier}: raise the limit from {current} to {suggested}"},
    "insights_evidence": {"es": "{cases} escalados decididos hasta {suggested}: {approved} aprobados ({rate}). Se "
                                "evitarían {avoided} escalados; {released} aprobados quedarían al alcance del agente; "
                                "{rejected} rechazados pasarían a permitirse; {pending} escalados aún sin veredicto también.",
                          "en": "{cases} decided escalations up to {suggested}: {approved} approved ({rate}). "
                                "{avoided} escalations avoided; {released} approved would be within the agent's reach; "
                                "{rejected} rejected would be allowed; so would {pending} escalations still without a verdict."},
    "insights_candidate": {"es": "Cambio en {file}:", "en": "Change in {file}:"},
    "insights_behind": {"es": "Ver los escalados de {action} en el registro", "en": "See the {action} escalations in the log"},
    "insights_dead_ends": {"es": "Sin salida (denegado y sin ninguna opción)", "en": "Dead ends (denied with no option at all)"},
    "insights_rules": {"es": "Reglas que se aplicaron", "en": "Rules that fired"},
    "insights_no_dead_ends": {"es": "Ninguna respuesta sin salida.", "en": "No dead end."},
    "insights_empty": {"es": "No hay decisiones en este periodo.", "en": "No decisions in this window."},
    "insights_replay_link": {"es": "Ver qué cambiaría: la revisión del registro con este cambio",
                             "en": "See what would change: the log replayed with this change"},
    "insights_replay_title": {"es": "Revisión de una recomendación", "en": "A recommendation replayed"},
    "insights_replay_back": {"es": "Volver a Perspectivas", "en": "Back to Insights"},
    "insights_replay_check": {"es": "La recomendación prevé {expected} escaladas que pasarían a permitidas; la revisión "
                                    "del registro con el cambio da {allowed}.",
                              "en": "The recommendation expects {expected} escalations to become allowed; replaying "
                                    "the log with the change gives {allowed}."},
    "insights_no_such_recommendation": {"es": "Esa recomendación no está en el informe de este periodo.",
                                        "en": "That recommendation is not in this window's report."},
}
