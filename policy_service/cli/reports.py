"""Reports over the decision log: what a candidate would change (replay) and where the limits are wrong (insights)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from policy_service.authoring.diagnostics import render_text
from policy_service.cli import (
    DATABASE_HELP,
    LANG_HELP,
    POLICIES_HELP,
    existing_store,
    language_for,
    main,
    policies_dir,
)


@main.command()
@click.option("--candidate", required=True, type=click.Path(file_okay=False), help="the policy directory to try")
@click.option("--since", default="30d", show_default=True, help="how far back: 30d, 12h, an ISO date, or 'all'")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--locale", default=None, help="money formats in the text report (default: the organisation's first)")
@click.option("--database", help=DATABASE_HELP)
@click.option("--lang", type=click.Choice(["es", "en"]), default=None, help=LANG_HELP)
def replay(candidate: str, since: str, output: str, locale: str | None, database: str | None, lang: str | None) -> None:
    """What a candidate policy set would have changed on past decisions (nothing is written)."""
    import json

    from policy_service.deciding.words import resolve_locale
    from policy_service.service.reloading import load_runtime
    from policy_service.service.replay import render_text as render_replay
    from policy_service.service.replay import replay as run_replay

    lang = language_for(lang, Path(candidate))
    runtime, result = load_runtime(candidate)
    if runtime is None:
        click.echo(render_text(result.diagnostics, lang), err=True)
        sys.exit(1)
    store = existing_store(database)
    report = run_replay(store, runtime, _since(since))
    if output == "json":
        click.echo(json.dumps(report.as_dict(runtime.policy_set), ensure_ascii=False, indent=2))
    else:
        click.echo(render_replay(report, runtime.policy_set, resolve_locale(locale, runtime.policy_set.organization), lang=lang))


@main.command()
@click.option("--since", default="90d", show_default=True, help="how far back: 90d, 12h, an ISO date, or 'all'")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--min-cases", type=click.IntRange(1), default=20, show_default=True,
              help="decided escalations a recommendation needs")
@click.option("--min-rate", type=click.FloatRange(0, 1), default=0.95, show_default=True,
              help="approval rate a recommendation needs")
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--database", help=DATABASE_HELP)
@click.option("--locale", default=None, help="money and number formats (default: the organisation's first locale)")
@click.option("--lang", type=click.Choice(["es", "en"]), default=None, help=LANG_HELP)
def insights(since: str, output: str, min_cases: int, min_rate: float, policies_option: str | None,
             database: str | None, locale: str | None, lang: str | None) -> None:
    """Where the limits are wrong: outcomes, verdicts, waits and money per action and tier, dead ends,
    and recommended limits with their evidence (docs/contract.md §10; the same report as GET /v1/insights)."""
    import json

    from policy_service.deciding.words import resolve_locale
    from policy_service.service.insights import insights as build_insights
    from policy_service.service.insights_advice import InsightSettings
    from policy_service.service.insights_text import render_text as render_insights
    from policy_service.service.reloading import load_runtime

    directory = policies_dir(policies_option)
    lang = language_for(lang, directory)
    runtime, result = load_runtime(str(directory))
    if runtime is None:
        click.echo(render_text(result.diagnostics, lang), err=True)
        sys.exit(1)
    window = _since(since)
    store = existing_store(database)
    report = build_insights(store, runtime.policy_set, InsightSettings(window, min_cases, min_rate))
    if output == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(render_insights(report, runtime.policy_set, resolve_locale(locale, runtime.policy_set.organization), lang))


def _since(text: str) -> Any:
    """30d / 12h / 2026-11-01 / all -> an aware datetime or None (service.replay.parse_since)."""
    from policy_service.service.replay import parse_since

    try:
        return parse_since(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
