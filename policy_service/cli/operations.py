"""Operations: API keys, the log's database (upgrade, grants) and the audit of the chain (verify, export)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from policy_service import config
from policy_service.cli import (
    DATABASE_HELP,
    KEYS_HELP,
    POLICIES_HELP,
    existing_store,
    key_file_path,
    main,
    open_store,
    policies_dir,
)


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
    _check_scope_names(policies_dir(policies_option), agent, team, max_tier)
    try:
        secret = create_key(key_file_path(keys_option), name, roles, trusted_tier, scope=scope)
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
        records = list_keys(key_file_path(keys_option))
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
        removed = revoke_key(key_file_path(keys_option), name)
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
    store = open_store(database, migrate=True)
    click.echo(f"decision log schema at version {store.schema_version()} ({store.dialect})")


@db.command()
@click.argument("role")
@click.option("--database", help=DATABASE_HELP)
def grant(role: str, database: str | None) -> None:
    """PostgreSQL: let ROLE read and append to the log, and nothing else (no UPDATE, DELETE, TRUNCATE)."""
    from policy_service.errors import StoreError

    store = open_store(database)
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
    report = auditing.verify(existing_store(database), noted, key.encode() if key else None)
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
    store = existing_store(database)
    try:
        loaded = auditing.ExportSchema().load({**args, "format": output, "excel_es": excel_es})
        if loaded.get("rule") is not None:  # only then are the policies read (a bare id is resolved in them)
            from policy_service.authoring.loader import load_policy_set
            from policy_service.service.auditing import with_rule_resolved

            loaded = with_rule_resolved(loaded, load_policy_set(policies_dir(policies_option)).policy_set, store)
    except ValidationError as exc:
        raise click.UsageError(f"bad filter: {exc.messages}") from None
    privacy = PrivacySettings.from_config(None, config.settings().customer_id_key)
    rows = store.stream(auditing.log_filter(loaded, privacy), loaded.get("kind"))
    units = auditing.ActionUnits(store)  # from the log's stored revisions: the policies are not read
    chunks = auditing.jsonl_export(rows, units) if output == "jsonl" else auditing.csv_export(rows, excel_es, units)
    with click.open_file(target or "-", "w", encoding="utf-8") as sink:  # "-": stdout, left open
        for chunk in chunks:
            sink.write(chunk)
