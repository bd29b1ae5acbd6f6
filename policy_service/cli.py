"""The `policy-service` command line (SPEC §7). The only module that imports click."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .diagnostics import has_errors, render_json, render_text

POLICIES_HELP = "policy directory (default: $POLICY_SERVICE_POLICIES, else ./policies)"


def _policies_dir(value: str | None) -> Path:
    return Path(value or os.environ.get("POLICY_SERVICE_POLICIES") or "policies")


@click.group()
@click.version_option(package_name="policy-service")
def main() -> None:
    """Evaluate customer-service exceptions against declarative policies."""


@main.command()
@click.argument("directory", required=False)
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="treat warnings as errors")
def validate(directory: str | None, policies_option: str | None, output: str, strict: bool) -> None:
    """Check every policy file and test suite; exit 1 on errors."""
    from .loader import load_policy_set
    from .testing import collect_cases

    path = _policies_dir(directory or policies_option)
    result = load_policy_set(path)
    diagnostics = list(result.diagnostics)
    if result.policy_set is not None:
        diagnostics += collect_cases(path, result.policy_set)[1]
    click.echo(render_json(diagnostics) if output == "json" else render_text(diagnostics))
    failed = has_errors(diagnostics) or (strict and bool(diagnostics))
    if output == "text" and not failed and result.policy_set is not None:
        click.echo(f"ok: {len(result.policy_set.policies)} policies, revision {result.policy_set.revision}")
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("directory", required=False)
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--junit", type=click.Path(dir_okay=False, writable=True), help="also write JUnit XML here")
def test(directory: str | None, policies_option: str | None, junit: str | None) -> None:
    """Run every *_test.yaml suite; exit 1 when any case fails."""
    from .runtime import load_runtime
    from .testing import run_suites
    from .test_report import junit_xml, render_results

    path = _policies_dir(directory or policies_option)
    runtime, result = load_runtime(path)
    if runtime is None:
        click.echo(render_text(result.diagnostics), err=True)
        sys.exit(1)
    results, problems = run_suites(path, runtime)
    if problems:
        click.echo(render_text(problems), err=True)
    click.echo(render_results(results))
    if junit:
        Path(junit).write_text(junit_xml(results), encoding="utf-8")
    failed = has_errors(problems) or not results or not all(r.passed for r in results)
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--dev", is_flag=True, help="no API keys, every caller trusted; binds to loopback only")
@click.option("--bind", default=None, help="HOST:PORT (default 127.0.0.1:8080)")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: 2 x CPUs + 1, at most 8)")
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--database", help="SQLAlchemy URL (default: $POLICY_SERVICE_DATABASE_URL, else sqlite under ./var/)")
def serve(dev: bool, bind: str | None, workers: int | None, policies_option: str | None, database: str | None) -> None:
    """Serve the HTTP API with gunicorn."""
    from .serving import run_gunicorn

    bind = bind or "127.0.0.1:8080"
    host = bind.rsplit(":", 1)[0].strip("[]")
    if dev and host not in ("127.0.0.1", "localhost", "::1"):
        raise click.UsageError(f"--dev runs without API keys and binds to loopback only; got {bind}")
    if dev:
        click.secho("*** DEVELOPMENT MODE: no API keys, every caller may set an agent's tier. "
                    f"Listening on {bind} only. Never expose this. ***", fg="red", bold=True, err=True)
    else:
        click.secho("API keys are not implemented yet: without --dev no caller is trusted to set a tier.", fg="yellow", err=True)
    if policies_option:
        os.environ["POLICY_SERVICE_POLICIES"] = policies_option
    if database:
        os.environ["POLICY_SERVICE_DATABASE_URL"] = database
    os.environ["POLICY_SERVICE_DEV"] = "1" if dev else "0"
    run_gunicorn(bind, workers)
