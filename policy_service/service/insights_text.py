"""The insights report for people (`policy-service insights`): the same data as --format json and
GET /v1/insights, in Spanish or English, with the organisation's labels for actions and tiers (never
ids) and money, numbers and waits formatted for the locale as CLDR writes them ("1.234,50 €")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from babel.dates import format_timedelta
from babel.numbers import format_decimal, format_percent

from policy_service.deciding.request import parse_quantity
from policy_service.deciding.words import action_label, format_amount, label
from policy_service.model import PolicySet

TEXTS: Mapping[str, Mapping[str, str]] = {
    "es": {
        "title": "Perspectivas del registro: {decisions} decisiones {window}",
        "since": "desde {date} (UTC)", "all": "de todo el registro",
        "thresholds": "Para recomendar: al menos {cases} escalados decididos y {rate} de aprobación.",
        "empty": "No hay decisiones en este periodo.",
        "by_tier": "Por acción y nivel del agente",
        "by_kind": "Por acción y tipo de agente",
        "decisions": "{n} decisiones: {allow} permitidas, {escalate} escaladas, {handoff} derivadas, {deny} denegadas",
        "escalations": "escalados: {approved} aprobados, {rejected} rechazados, {pending} pendientes",
        "rate": "aprobación {rate} (cota inferior {lower})",
        "wait": "espera hasta el veredicto: mediana {median}, p90 {p90}",
        "money": "importes: propuesto {proposed}, permitido {allowed}, aprobado {approved}, concedido {granted}",
        "granted": "concedido {granted}",
        "kind.human": "personas", "kind.ai": "asistentes de IA", "kind.unknown": "agentes fuera del directorio",
        "dead_ends": "Sin salida (denegado y sin ninguna opción)",
        "dead_end": "{action}: {n} respuestas; reglas: {rules}",
        "no_rules": "ninguna",
        "recommendations": "Recomendaciones",
        "none": "Ninguna: ningún nivel reúne los casos y la tasa de aprobación exigidos.",
        "raise": "{action}, {tier}: subir el límite de {current} a {suggested}",
        "evidence": "{cases} escalados decididos hasta {suggested}: {approved} aprobados ({rate}, cota inferior {lower})",
        "avoided": "se evitarían {avoided} escalados y {released} aprobados quedarían al alcance del agente; espera mediana {wait}",
        "rejected": "{count} rechazados ({amount}) pasarían a permitirse; {pending} escalados aún sin veredicto también",
        "candidate": "cambio en {file}: {candidate}",
        "no_wait": "—",
    },
    "en": {
        "title": "Insights from the log: {decisions} decisions {window}",
        "since": "since {date} (UTC)", "all": "over the whole log",
        "thresholds": "To recommend: at least {cases} decided escalations and {rate} approved.",
        "empty": "No decisions in this window.",
        "by_tier": "By action and agent tier",
        "by_kind": "By action and agent kind",
        "decisions": "{n} decisions: {allow} allowed, {escalate} escalated, {handoff} handed off, {deny} denied",
        "escalations": "escalations: {approved} approved, {rejected} rejected, {pending} pending",
        "rate": "approval {rate} (lower bound {lower})",
        "wait": "wait for a verdict: median {median}, p90 {p90}",
        "money": "amounts: proposed {proposed}, allowed {allowed}, approved {approved}, granted {granted}",
        "granted": "granted {granted}",
        "kind.human": "people", "kind.ai": "AI assistants", "kind.unknown": "agents outside the directory",
        "dead_ends": "Dead ends (denied with no option at all)",
        "dead_end": "{action}: {n} answers; rules: {rules}",
        "no_rules": "none",
        "recommendations": "Recommendations",
        "none": "None: no tier has the required cases and approval rate.",
        "raise": "{action}, {tier}: raise the limit from {current} to {suggested}",
        "evidence": "{cases} decided escalations up to {suggested}: {approved} approved ({rate}, lower bound {lower})",
        "avoided": "{avoided} escalations avoided and {released} approved would be within the agent's reach; median wait {wait}",
        "rejected": "{count} rejected ({amount}) would be allowed; so would {pending} escalations still without a verdict",
        "candidate": "change in {file}: {candidate}",
        "no_wait": "—",
    },
}


def render_text(report: Mapping[str, Any], policy_set: PolicySet, locale: str, lang: str) -> str:
    """`report` as service.insights.insights returns it; words in `lang`, formats for `locale`."""
    org = policy_set.organization
    texts = TEXTS.get(lang, TEXTS["en"])

    def say(key: str, **values: Any) -> str:
        return texts[key].format(**values)

    def number(value: int) -> str:
        return format_decimal(value, locale=locale.replace("-", "_"))

    def share(value: float | None) -> str:
        return texts["no_wait"] if value is None else format_percent(value, locale=locale.replace("-", "_"), decimal_quantization=False)

    def wait(seconds: int | None) -> str:
        if seconds is None:
            return texts["no_wait"]
        return format_timedelta(timedelta(seconds=seconds), threshold=2, locale=locale.replace("-", "_"))

    def amount(action: str, value: Any, unit: str | None = None) -> str:
        unit = unit or (org.actions[action].unit if action in org.actions else "count")
        if value is None:
            return texts["no_wait"]
        return format_amount(org, unit, parse_quantity(value, unit, org), locale) or texts["no_wait"]

    def action_name(action: str) -> str:
        return action_label(org.actions[action], locale, org) if action in org.actions else action

    def tier_name(tier: str | None) -> str:
        found = next((t for t in org.tiers if t.id == tier), None)
        return label(found.label, locale, org, found.id) if found else (tier or "?")

    window = say("since", date=report["since"][:16].replace("T", " ")) if report["since"] else say("all")
    lines = [say("title", decisions=number(report["decisions"]), window=window),
             say("thresholds", cases=number(report["min_cases"]), rate=share(report["min_rate"]))]
    if not report["decisions"]:
        return "\n".join([*lines, say("empty")])
    sections: list[tuple[str, str, Callable[[Any], str]]] = [
        ("by_tier", "tier", tier_name), ("by_kind", "agent_kind", lambda kind: texts[f"kind.{kind}"])]
    for title, key, name in sections:
        lines += ["", say(title)]
        rows = report["by_tier" if key == "tier" else "by_agent_kind"]
        for action in dict.fromkeys(row["action"] for row in rows):
            lines.append(f"  {action_name(action)}")
            for row in (r for r in rows if r["action"] == action):
                lines.append(f"    {name(row[key])}: " + say("decisions", n=number(row["decisions"]),
                                                             **{k: number(v) for k, v in row["outcomes"].items()}))
                lines.append("      " + say("escalations", **{k: number(v) for k, v in row["escalations"].items()}))
                if row["approval_rate"] is not None:
                    lines.append("      " + say("rate", rate=share(row["approval_rate"]), lower=share(row["approval_rate_lower_bound"]))
                                 + "; " + say("wait", median=wait(row["wait_seconds"]["median"]), p90=wait(row["wait_seconds"]["p90"])))
                money = {k: amount(action, v, "money") for k, v in row["money"].items()}
                lines.append("      " + (say("money", **money) if row["unit"] == "money" else say("granted", granted=money["granted"])))
    if report["dead_ends"]:
        lines += ["", say("dead_ends")]
        for end in report["dead_ends"]:
            rules = ", ".join(f"{r['rule']} ({number(r['decisions'])})" for r in end["rules"]) or texts["no_rules"]
            lines.append("  " + say("dead_end", action=action_name(end["action"]), n=number(end["decisions"]), rules=rules))
    lines += ["", say("recommendations")]
    if not report["recommendations"]:
        lines.append("  " + say("none"))
    for rec in report["recommendations"]:
        action = rec["action"]
        lines += [
            "  " + say("raise", action=action_name(action), tier=tier_name(rec["tier"]),
                       current=amount(action, rec["current_limit"]), suggested=amount(action, rec["suggested_limit"])),
            "    " + say("evidence", cases=number(rec["cases"]), suggested=amount(action, rec["suggested_limit"]),
                         approved=number(rec["approved"]), rate=share(rec["approval_rate"]),
                         lower=share(rec["approval_rate_lower_bound"])),
            "    " + say("avoided", avoided=number(rec["escalations_avoided"]), released=amount(action, rec["money_released"]),
                         wait=wait(rec["median_wait_seconds"])),
            "    " + say("rejected", count=number(rec["rejected_now_allowed"]["count"]),
                         amount=amount(action, rec["rejected_now_allowed"]["amount"]), pending=number(rec["pending_now_allowed"])),
            "    " + say("candidate", file=rec["file"], candidate=rec["candidate"]),
        ]
    return "\n".join(lines)
