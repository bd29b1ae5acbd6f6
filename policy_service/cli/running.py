"""What runs a server: the HTTP service and console (serve), and the MCP server for one agent (mcp)."""

from __future__ import annotations

import os

import click

from policy_service import config
from policy_service.cli import (
    DATABASE_HELP,
    KEYS_HELP,
    POLICIES_HELP,
    key_file_path,
    main,
    open_store,
    policies_dir,
)


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
        keys_file = key_file_path(keys_option)
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
    open_store(database).dispose()
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
        keys_file = key_file_path(keys_option)
        try:
            if not KeyRing.load(keys_file).bound_agents(role="agent_tool"):
                raise click.ClickException(f"no agent_tool key bound to an agent in {keys_file}: create one with "
                                           "`policy-service keys create NAME --role agent_tool --agent ID`")
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
    configure_logging()  # JSON lines on stderr: over stdio, stdout carries only the protocol
    try:
        state = open_state(policies_dir(policies_option), database or settings.log_url, log_key=settings.log_key,
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
