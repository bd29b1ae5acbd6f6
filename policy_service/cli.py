"""The `policy-service` command line (docs/contract.md §7). The only module that imports click."""

from __future__ import annotations

import os
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


def _policies_dir(value: str | None) -> Path:
    return Path(value or config.settings().policies)


def _language(requested: str | None, directory: Path) -> str:
    """--lang, else the organisation's first locale (read even from a set that does not load), else $LANG."""
    from policy_service.authoring.loader import read_documents
    from policy_service.authoring.translations import language

    locales: list[str] = []
    if requested is None and directory.is_dir():
        organisations = [data for _, kind, data in read_documents(directory, tests=False)[0] if kind == "Organization"]
        locales = list(organisations[0]["locales"]) if organisations else []
    return language(requested, locales)


def _keys_file(value: str | None) -> Path:
    return Path(value or config.settings().keys_file)


def _open_store(database: str | None, *, migrate: bool = False) -> Any:
    from policy_service.decisionlog import DecisionStore
    from policy_service.errors import StoreError

    try:
        log_key = config.settings().log_key
        store = DecisionStore(database or config.settings().log_url, log_key.encode() if log_key else None)
        store.upgrade() if migrate else store.prepare()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    return store


def _existing_store(database: str | None) -> Any:
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

    path = _policies_dir(directory or policies_option)
    result = load_policy_set(path)
    lang = _language(lang, path)
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

    path = _policies_dir(directory or policies_option)
    runtime, result = load_runtime(path)
    lang = _language(lang, path)
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

    result = load_policy_set(_policies_dir(directory or policies_option))
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

    path = _policies_dir(directory or policies_option)
    lang = _language(lang, path)
    result = load_policy_set(path)
    if result.policy_set is None:
        click.echo(render_text(result.diagnostics, lang), err=True)
        sys.exit(1)
    rows = list_fields(result.policy_set)
    click.echo(json.dumps([row.as_dict() for row in rows], ensure_ascii=False, indent=2) if output == "json"
               else render_fields(rows, lang))


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

    lang = _language(lang, Path(candidate))
    runtime, result = load_runtime(candidate)
    if runtime is None:
        click.echo(render_text(result.diagnostics, lang), err=True)
        sys.exit(1)
    store = _existing_store(database)
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

    directory = _policies_dir(policies_option)
    lang = _language(lang, directory)
    runtime, result = load_runtime(str(directory))
    if runtime is None:
        click.echo(render_text(result.diagnostics, lang), err=True)
        sys.exit(1)
    window = _since(since)
    store = _existing_store(database)
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


@main.command()
@click.option("--dev", is_flag=True, help="no API keys, every caller trusted; binds to loopback only")
@click.option("--bind", default=None, help="HOST:PORT (default 127.0.0.1:8080)")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: 2 x CPUs + 1, at most 8)")
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--database", help=DATABASE_HELP)
@click.option("--keys", "keys_option", help=KEYS_HELP)
@click.option("--watch", is_flag=True, help="reload the policies when their files change (off by default)")
@click.option("--shadow", "shadow_option", type=click.Path(file_okay=False), help="a candidate policy directory to evaluate beside the live one")
@click.option("--allow-failing-tests", is_flag=True, help="start and reload even when the policies' own test cases fail")
def serve(dev: bool, bind: str | None, workers: int | None, policies_option: str | None, database: str | None,
          keys_option: str | None, watch: bool, shadow_option: str | None, allow_failing_tests: bool) -> None:
    """Serve the HTTP API with gunicorn."""
    from policy_service.errors import KeyFileError
    from policy_service.service.keys import KeyRing
    from policy_service.serving.serve import run_gunicorn

    bind = bind or config.settings().bind
    host = bind.rsplit(":", 1)[0].strip("[]")
    if dev and host not in ("127.0.0.1", "localhost", "::1"):
        raise click.UsageError(f"--dev runs without API keys and binds to loopback only; got {bind}")
    if dev:
        click.secho("*** DEVELOPMENT MODE: no API keys, every caller may set an agent's tier. "
                    f"Listening on {bind} only. Never expose this. ***", fg="red", bold=True, err=True)
    else:
        keys_file = _keys_file(keys_option)
        try:
            ring = KeyRing.load(keys_file)
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
        count = len(ring)
        for name in ring.legacy_names():
            click.secho(f"warning: key {name} acts for any agent (it predates key scopes); recreate it with "
                        "--agent, --team/--max-tier or --any-agent", fg="yellow", err=True)
        if count == 0:
            raise click.ClickException(f"no API keys in {keys_file}: nobody could call the service. Create one with "
                                       "`policy-service keys create NAME --role agent_tool --agent ID`, or use --dev locally.")
        os.environ["POLICY_SERVICE_KEYS"] = str(keys_file)
    if policies_option:
        os.environ["POLICY_SERVICE_POLICIES"] = policies_option
    if database:
        os.environ["POLICY_SERVICE_DATABASE_URL"] = database
    os.environ["POLICY_SERVICE_DEV"] = "1" if dev else "0"
    if watch:
        os.environ["POLICY_SERVICE_WATCH"] = "1"
    if shadow_option:
        os.environ["POLICY_SERVICE_SHADOW_POLICIES"] = shadow_option
    if allow_failing_tests:
        os.environ["POLICY_SERVICE_ALLOW_FAILING_TESTS"] = "1"
    # Migrate once, here, before gunicorn forks: workers then find the schema current.
    _open_store(database).dispose()
    run_gunicorn(bind, workers)



@main.command(name="mcp")
@click.option("--agent", help="stdio: the agent of the directory this server acts as (required without --http)")
@click.option("--http", "over_http", is_flag=True, help="Streamable HTTP at /mcp; each request acts as its bearer key's bound agent")
@click.option("--bind", default=None, help="--http: HOST:PORT (default 127.0.0.1:8765)")
@click.option("--allowed-host", "allowed_hosts", multiple=True, help="--http: a Host header clients use (HOST:PORT); the bind address is allowed")
@click.option("--allowed-origin", "allowed_origins", multiple=True, help="--http: a browser Origin to accept (none by default)")
@click.option("--policies", "policies_option", help=POLICIES_HELP)
@click.option("--database", help=DATABASE_HELP)
@click.option("--keys", "keys_option", help=KEYS_HELP + "; --http only")
@click.option("--allow-failing-tests", is_flag=True, help="start and reload even when the policies' own test cases fail")
def mcp_command(agent: str | None, over_http: bool, bind: str | None, allowed_hosts: tuple[str, ...],
                allowed_origins: tuple[str, ...], policies_option: str | None, database: str | None,
                keys_option: str | None, allow_failing_tests: bool) -> None:
    """Serve the tools for AI assistants over the Model Context Protocol (docs/contract.md §11): over
    stdio as one agent (--agent ID), or over Streamable HTTP where a key bound to an agent decides who it is."""
    from policy_service.errors import KeyFileError, PolicyServiceError
    from policy_service.policytest.gate import failing_cases
    from policy_service.service.keys import KeyRing
    from policy_service.service.state import open_state
    from policy_service.telemetry.logs import configure_logging

    if over_http == bool(agent):
        raise click.UsageError("give --agent ID (stdio) or --http, not both: over HTTP the key decides the agent")
    settings = config.settings()
    if over_http:
        from policy_service.assistants.http import Listening, run_http

        try:
            listening = Listening.parse(bind or "127.0.0.1:8765", allowed_hosts, allowed_origins)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--bind") from None
        keys_file = _keys_file(keys_option)
        try:
            if not KeyRing.load(keys_file).bound_agents(role="agent_tool"):
                raise click.ClickException(f"no agent_tool key bound to an agent in {keys_file}: create one with "
                                           "`policy-service keys create NAME --role agent_tool --agent ID`")
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
    configure_logging()  # JSON lines on stderr: over stdio, stdout carries only the protocol
    try:
        state = open_state(_policies_dir(policies_option), database or settings.log_url, log_key=settings.log_key,
                           gate=None if allow_failing_tests or settings.allow_failing_tests else failing_cases,
                           masked_fields=settings.masked_fields, customer_id_key=settings.customer_id_key,
                           shadow_policies=settings.shadow_policies)
        if over_http:
            click.echo(f"MCP over Streamable HTTP at http://{listening.allowed_hosts[0]}/mcp", err=True)
            run_http(state, keys_file, listening)
        else:
            from policy_service.assistants.server import run_stdio

            run_stdio(state, agent or "")
    except PolicyServiceError as exc:
        raise click.ClickException(str(exc)) from None

@main.group()
def keys() -> None:
    """API keys: each has a name, roles and optionally trusted_tier; only its hash is stored."""


@keys.command(name="create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(["agent_tool", "approver", "auditor", "policy_admin"]))
@click.option("--trusted-tier", is_flag=True, help="this caller may state an agent's tier in a request body")
@click.option("--agent", help="agent_tool/approver keys: act as this one agent (the body may leave its id out)")
@click.option("--team", help="agent_tool/approver keys: agents of this team")
@click.option("--max-tier", help="agent_tool/approver keys: agents at or below this tier")
@click.option("--any-agent", is_flag=True, help="agent_tool/approver keys: any agent (an integration that "
                                                 "authenticates its own users, such as a CRM plug-in)")
@click.option("--keys", "keys_option", help=KEYS_HELP)
@click.option("--policies", "policies_option", help=POLICIES_HELP + "; --agent, --team and --max-tier are checked against it")
def create_key_command(name: str, roles: tuple[str, ...], trusted_tier: bool, agent: str | None, team: str | None,
                       max_tier: str | None, any_agent: bool, keys_option: str | None, policies_option: str | None) -> None:
    """Create a key and print it once: it is not stored and cannot be shown again.

    A key with the agent_tool or approver role needs exactly one scope: --agent ID, --team and/or
    --max-tier, or --any-agent. A request naming an agent outside it is refused (403)."""
    from policy_service.errors import KeyFileError
    from policy_service.service.keys import AgentScope, create_key

    scope = AgentScope(agent=agent, team=team, max_tier=max_tier, any_agent=any_agent) \
        if (agent or team or max_tier or any_agent) else None
    _check_scope_names(_policies_dir(policies_option), agent, team, max_tier)
    try:
        secret = create_key(_keys_file(keys_option), name, roles, trusted_tier, scope=scope)
    except (KeyFileError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key {name} ({', '.join(sorted(set(roles)))}) created; copy it now, it is shown only once:", err=True)
    click.echo(secret)


def _check_scope_names(directory: Path, agent: str | None, team: str | None, max_tier: str | None) -> None:
    """A key bound to an agent, team or tier the directory does not know would authenticate and then fail
    every call with an error about a field its caller never sent (an MCP trial): refused here, with the
    closest name. Without loadable policies it cannot be checked, and says so."""
    from policy_service.authoring.diagnostics import did_you_mean
    from policy_service.authoring.loader import load_policy_set

    if not (agent or team or max_tier):
        return
    policy_set = load_policy_set(directory).policy_set
    if policy_set is None:
        click.echo(f"warning: the policies in {directory} do not load; the key's agent, team or tier is not checked", err=True)
        return
    org = policy_set.organization
    checks = [(agent, "agent", list(policy_set.agents)), (team, "team", sorted({a.team for a in policy_set.agents.values()})),
              (max_tier, "tier", [t.id for t in org.tiers])]
    for value, what, known in checks:
        if value is not None and value not in known:
            hint = did_you_mean(value, known) or f"known: {', '.join(known)}"
            raise click.ClickException(f'unknown {what} "{value}" in {directory} ({hint}); no key was created')


@keys.command(name="list")
@click.option("--keys", "keys_option", help=KEYS_HELP)
def list_keys_command(keys_option: str | None) -> None:
    """Names, roles and creation dates (never the keys or their hashes)."""
    from policy_service.errors import KeyFileError
    from policy_service.service.keys import list_keys

    try:
        records = list_keys(_keys_file(keys_option))
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    for record in records:
        trusted = "  trusted_tier" if record["trusted_tier"] else ""
        scope = f"  scope: {record['scope']}" if record["scope"] else ""
        click.echo(f"{record['name']:<24} {','.join(record['roles']):<40} {record.get('created_at', '')}{trusted}{scope}")


@keys.command(name="revoke")
@click.argument("name")
@click.option("--keys", "keys_option", help=KEYS_HELP)
def revoke_key_command(name: str, keys_option: str | None) -> None:
    """Remove a key; running workers stop accepting it within a second."""
    from policy_service.errors import KeyFileError
    from policy_service.service.keys import revoke_key

    try:
        removed = revoke_key(_keys_file(keys_option), name)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    if not removed:
        raise click.ClickException(f'no key named "{name}"')
    click.echo(f"key {name} revoked")


@main.group()
def db() -> None:
    """The decision log's schema and permissions."""


@db.command()
@click.option("--database", help=DATABASE_HELP)
def upgrade(database: str | None) -> None:
    """Create or migrate the decision log's schema to the newest version."""
    store = _open_store(database, migrate=True)
    click.echo(f"decision log schema at version {store.schema_version()} ({store.dialect})")


@db.command()
@click.argument("role")
@click.option("--database", help=DATABASE_HELP)
def grant(role: str, database: str | None) -> None:
    """PostgreSQL: let ROLE read and append to the log, and nothing else (no UPDATE, DELETE, TRUNCATE)."""
    from policy_service.errors import StoreError

    store = _open_store(database)
    try:
        store.grant_append_only(role)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{role}: SELECT and INSERT on the decision log; UPDATE, DELETE and TRUNCATE revoked")


@main.group()
def audit() -> None:
    """Verify and export the decision log."""


@audit.command()
@click.option("--database", help=DATABASE_HELP)
@click.option("--anchor", "anchors", multiple=True, help="SEQ:HASH noted from an earlier verify; catches deleted newest entries")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--key", "key_option", help="the log key (default: $POLICY_SERVICE_LOG_KEY): also catches entries "
                                            "appended by someone who could write the database but not hold the key")
def verify(database: str | None, anchors: tuple[str, ...], output: str, key_option: str | None) -> None:
    """Recompute the hash chain; name the first edited, inserted or missing entry and exit 1."""
    import json

    from policy_service.decisionlog import audit as auditing
    from policy_service.decisionlog.chain import parse_anchor
    from policy_service.service.responses import VerifySchema, dump

    try:
        noted = dict(parse_anchor(a) for a in anchors)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--anchor") from None
    key = key_option or config.settings().log_key
    report = auditing.verify(_existing_store(database), noted, key.encode() if key else None)
    if output == "json":
        click.echo(json.dumps(dump(VerifySchema, report.as_dict()), ensure_ascii=False))
    elif report.problem:
        click.echo(f"FAILED after {report.entries} good entries: {report.problem.detail}")
    else:
        click.echo(f"ok: {report.entries} entries; head {report.head_seq}:{report.head_hash} (note it as an --anchor)")
    sys.exit(0 if report.ok else 1)


@audit.command(name="export")
@click.option("--database", help=DATABASE_HELP)
@click.option("--format", "output", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--excel-es", is_flag=True, help="';' separators, decimal commas and a UTF-8 BOM for Spanish Excel")
@click.option("--output", "-o", "target", type=click.Path(dir_okay=False, writable=True), help="file (default: stdout)")
@click.option("--agent-id")
@click.option("--customer-id")
@click.option("--outcome")
@click.option("--action")
@click.option("--policy")
@click.option("--rule", help="policy/rule, or a rule id that only one policy in --policies has")
@click.option("--policies", "policies_option", help=POLICIES_HELP + "; read to resolve a bare --rule")
@click.option("--from", "since", help="ISO date or date-time, inclusive")
@click.option("--to", "until", help="ISO date or date-time, exclusive")
@click.option("--kind", type=click.Choice(["decision", "approval", "outcome"]),
              help="only entries of this kind (default: each selected decision with its approval and outcome)")
def export(database: str | None, output: str, excel_es: bool, target: str | None, policies_option: str | None,
           **filters: str | None) -> None:
    """Stream the log's entries (oldest first) as CSV or JSON lines, in constant memory: the filters
    choose decisions, and each comes with its approval and outcome entries."""
    from marshmallow import ValidationError

    from policy_service.decisionlog import audit as auditing
    from policy_service.decisionlog.privacy import PrivacySettings

    args = {("from" if k == "since" else "to" if k == "until" else k): v for k, v in filters.items() if v is not None}
    store = _existing_store(database)
    try:
        loaded = auditing.ExportSchema().load({**args, "format": output, "excel_es": excel_es})
        if loaded.get("rule") is not None:  # only then are the policies read (a bare id is resolved in them)
            from policy_service.authoring.loader import load_policy_set
            from policy_service.service.auditing import with_rule_resolved

            loaded = with_rule_resolved(loaded, load_policy_set(_policies_dir(policies_option)).policy_set, store)
    except ValidationError as exc:
        raise click.UsageError(f"bad filter: {exc.messages}") from None
    privacy = PrivacySettings.from_config(None, config.settings().customer_id_key)
    rows = store.stream(auditing.log_filter(loaded, privacy), loaded.get("kind"))
    units = auditing.ActionUnits(store)  # from the log's stored revisions: the policies are not read
    chunks = auditing.jsonl_export(rows, units) if output == "jsonl" else auditing.csv_export(rows, excel_es, units)
    with click.open_file(target or "-", "w", encoding="utf-8") as sink:  # "-": stdout, left open
        for chunk in chunks:
            sink.write(chunk)
