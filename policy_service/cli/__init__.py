"""The `policy-service` command line (docs/contract.md §7); the only room that imports click.

Here: the group, the helpers every command shares, and the commands on a policy directory (validate,
test, matrix, fields). Beside it: reports over the log (reports.py: replay, insights), what runs a
server (running.py: serve, mcp) and operations (operations.py: keys, db, audit)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from policy_service import config
from policy_service.authoring.diagnostics import has_errors, render_json, render_text

POLICIES_HELP = "policy directory (default: $POLICY_SERVICE_POLICIES, else ./policies)"
DATABASE_HELP = "SQLAlchemy URL (default: $POLICY_SERVICE_DATABASE_URL, else sqlite under ./var/)"
KEYS_HELP = "API key file (default: $POLICY_SERVICE_KEYS, else ./var/keys.json)"
LANG_HELP = "language of diagnostics and messages (default: the organisation's first locale, else $LANG)"


def policies_dir(value: str | None) -> Path:
    return Path(value or config.settings().policies)


def language_for(requested: str | None, directory: Path) -> str:
    """--lang, else the organisation's first locale (read even from a set that does not load), else $LANG."""
    from policy_service.authoring.loader import read_documents
    from policy_service.authoring.translations import language

    locales: list[str] = []
    if requested is None and directory.is_dir():
        organisations = [data for _, kind, data in read_documents(directory, tests=False)[0] if kind == "Organization"]
        locales = list(organisations[0]["locales"]) if organisations else []
    return language(requested, locales)


def key_file_path(value: str | None) -> Path:
    return Path(value or config.settings().keys_file)


def open_store(database: str | None, *, migrate: bool = False) -> Any:
    from policy_service.decisionlog import DecisionStore
    from policy_service.errors import StoreError

    try:
        log_key = config.settings().log_key
        store = DecisionStore(database or config.settings().log_url, log_key.encode() if log_key else None)
        store.upgrade() if migrate else store.prepare()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    return store


def existing_store(database: str | None) -> Any:
    """The log at `database` for commands that only read it (audit, replay): never created or migrated
    here, so a wrong folder or URL is exit 2 saying so, not an empty log that verifies."""
    from policy_service.decisionlog import DecisionStore

    log_key = config.settings().log_key
    store = DecisionStore(database or config.settings().log_url, log_key.encode() if log_key else None)
    problem = store.missing_log()
    if problem is not None:
        store.dispose()
        click.echo(f"Error: {problem}. Only `policy-service serve` and `policy-service db upgrade` create a log; "
                   "pass --database or set POLICY_SERVICE_DATABASE_URL.", err=True)
        sys.exit(2)
    return store


@click.group()
@click.version_option(package_name="policy-service")
def main() -> None:
    """Evaluate customer-service exceptions against declarative policies."""


@main.command()
@click.argument("directory", required=False)
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="treat warnings as errors")
@click.option("--lang", type=click.Choice(["es", "en"]), default=None, help=LANG_HELP)
def validate(directory: str | None, policies_option: str | None, output: str, strict: bool, lang: str | None) -> None:
    """Check every policy file and test suite, and run the cases as a reload would; exit 1 on errors."""
    from policy_service.authoring.loader import load_policy_set
    from policy_service.authoring.translations import translate
    from policy_service.policytest.gate import failing_cases
    from policy_service.policytest.runner import collect_cases

    path = policies_dir(directory or policies_option)
    result = load_policy_set(path)
    lang = language_for(lang, path)
    diagnostics = list(result.diagnostics)
    if result.policy_set is not None:
        diagnostics += collect_cases(path, result.policy_set)[1]
        if not has_errors(diagnostics):  # what a reload would refuse, validate says first: failing cases
            diagnostics += [d for d in failing_cases(path, result.policy_set) if d.code == "PS050"]
    click.echo(render_json(diagnostics, lang) if output == "json" else render_text(diagnostics, lang))
    failed = has_errors(diagnostics) or (strict and bool(diagnostics))
    if output == "text" and not failed and result.policy_set is not None:
        click.echo(translate(f"ok: {len(result.policy_set.policies)} policies, revision {result.policy_set.revision}", lang))
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("directory", required=False)
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--junit", type=click.Path(dir_okay=False, writable=True), help="also write JUnit XML here")
@click.option("--coverage", "show_coverage", is_flag=True, help="list every rule, cap and matrix cell no case exercised")
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None,
              help="exit 1 when the total coverage (rules, caps and cells) is below N %% (implies --coverage)")
@click.option("--lang", type=click.Choice(["es", "en"]), default=None, help=LANG_HELP)
def test(directory: str | None, policies_option: str | None, junit: str | None, show_coverage: bool,
         min_coverage: float | None, lang: str | None) -> None:
    """Run every *_test.yaml suite; exit 1 when any case fails."""
    from policy_service.policytest.coverage import measure, render_coverage
    from policy_service.policytest.report import junit_xml, render_results
    from policy_service.policytest.runner import run_suites
    from policy_service.service.reloading import load_runtime

    path = policies_dir(directory or policies_option)
    runtime, result = load_runtime(path)
    lang = language_for(lang, path)
    if runtime is None:
        click.echo(render_text(result.diagnostics, lang), err=True)
        sys.exit(1)
    results, problems = run_suites(path, runtime)
    if problems:
        click.echo(render_text(problems, lang), err=True)
    click.echo(render_results(results, lang))
    if junit:
        Path(junit).write_text(junit_xml(results), encoding="utf-8")
    failed = has_errors(problems) or not results or not all(r.passed for r in results)
    if show_coverage or min_coverage is not None:
        coverage = measure(results, runtime.policy_set)
        click.echo(render_coverage(coverage))
        if min_coverage is not None and coverage.total_percent < min_coverage:
            click.echo(f"coverage {coverage.total_percent:.1f} % is below --min-coverage {min_coverage:g} %", err=True)
            failed = True
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("directory", required=False)
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--locale", default=None, help="language of labels and money formats (default: the organisation's first)")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def matrix(directory: str | None, policies_option: str | None, locale: str | None, output: str) -> None:
    """The empowerment matrix: what every tier may grant of each action, and what can change it."""
    import json

    from policy_service.authoring.loader import load_policy_set
    from policy_service.service.matrix import matrix_json, matrix_text

    result = load_policy_set(policies_dir(directory or policies_option))
    if result.policy_set is None:
        click.echo(render_text(result.diagnostics), err=True)
        sys.exit(1)
    click.echo(json.dumps(matrix_json(result.policy_set, locale), ensure_ascii=False, indent=2) if output == "json"
               else matrix_text(result.policy_set, locale))


@main.command()
@click.argument("directory", required=False)
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--lang", type=click.Choice(["es", "en"]), default=None, help=LANG_HELP)
def fields(directory: str | None, policies_option: str | None, output: str, lang: str | None) -> None:
    """The fields rules may read: built-in and declared, their types, and where each travels in a request."""
    import json

    from policy_service.authoring.loader import load_policy_set
    from policy_service.service.fields import list_fields, render_fields

    path = policies_dir(directory or policies_option)
    lang = language_for(lang, path)
    result = load_policy_set(path)
    if result.policy_set is None:
        click.echo(render_text(result.diagnostics, lang), err=True)
        sys.exit(1)
    rows = list_fields(result.policy_set)
    click.echo(json.dumps([row.as_dict() for row in rows], ensure_ascii=False, indent=2) if output == "json"
               else render_fields(rows, lang))


# The other commands register themselves on `main` when imported.
from policy_service.cli import operations, reports, running  # noqa: E402,F401
