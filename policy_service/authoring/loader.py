"""Load a policy directory into a PolicySet, or explain every reason it cannot be loaded.

`load_policy_set` never raises for anything in the files: it returns the set (None when any error was
found) and every diagnostic, sorted by position. A caller that already serves a set keeps it when the
result has errors; that is what "a broken file never replaces the policies that work" rests on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy_service.authoring.build import build_agents, build_organization, build_policy, check_set
from policy_service.authoring.diagnostics import Diagnostic, has_errors
from policy_service.authoring.file_schemas import SCHEMAS, HeaderSchema, validate_shape
from policy_service.authoring.source import SourceFile, find_policy_files, parse_source, read_source
from policy_service.model import Agent, Organization, Policy, PolicySet

TEST_SUFFIXES = ("_test.yaml", "_test.yml")


@dataclass(frozen=True)
class LoadResult:
    policy_set: PolicySet | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.policy_set is not None


def is_test_file(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIXES)


def read_documents(directory: Path, *, tests: bool) -> tuple[list[tuple[SourceFile, str, dict[str, Any]]], list[Diagnostic]]:
    """Every policy (or, with tests=True, test) file with its kind and shape-checked data."""
    documents, problems = [], []
    for path in find_policy_files(directory):
        if is_test_file(path) != tests:
            continue
        source, errors = read_source(path, path.relative_to(directory).as_posix())
        problems.extend(errors)
        if source is None:
            continue
        if not isinstance(source.data, dict):
            problems.append(source.diagnostic((), "PS002", "a policy file is a mapping starting with apiVersion and kind"))
            continue
        header, errors = validate_shape(source, HeaderSchema(), source.data)
        if errors:
            problems.extend(d if d.code != "PS005" else _as_header_error(d) for d in errors)
            continue
        data, errors = validate_shape(source, SCHEMAS[header["kind"]](), source.data)
        problems.extend(errors)
        if data is not None:
            documents.append((source, header["kind"], data))
    return documents, problems


def _as_header_error(diagnostic: Diagnostic) -> Diagnostic:
    return Diagnostic(diagnostic.file, diagnostic.line, diagnostic.column, "PS002", diagnostic.message, hint='start the file with "apiVersion: policy-service/v1" and a kind')


def load_policy_set(directory: Path | str) -> LoadResult:
    directory = Path(directory)
    if not directory.is_dir():
        return LoadResult(None, (Diagnostic(str(directory), 1, 1, "PS010", "policy directory not found"),))
    documents, problems = read_documents(directory, tests=False)
    # An unreadable file's content is unknown: set-wide checks for something missing (an Organization,
    # a policy governing an action) would only blame the other files for what it may hold.
    unreadable = any(d.code == "PS001" for d in problems)
    orgs = [(source, data) for source, kind, data in documents if kind == "Organization"]
    if len(orgs) != 1:
        where = [source.diagnostic((), "PS010", "a second Organization file") for source, _ in orgs[1:]]
        if not orgs and not unreadable:
            where = [Diagnostic(str(directory), 1, 1, "PS010", "no Organization file found", hint="add one file with kind: Organization")]
        return LoadResult(None, tuple(sorted(problems + where)))
    org_source, org_data = orgs[0]
    org, errors = build_organization(org_source, org_data)
    problems.extend(errors)
    if org is None:
        return LoadResult(None, tuple(sorted(problems)))

    agents: dict[str, Agent] = {}
    policies: list[tuple[SourceFile, Policy]] = []
    for source, kind, data in documents:
        if kind == "AgentDirectory":
            problems.extend(build_agents(source, data, org, agents))
        elif kind == "Policy":
            policy, errors = build_policy(source, data, org)
            problems.extend(errors)
            policies.append((source, policy))
        elif kind == "PolicyTest":
            problems.append(source.diagnostic(("kind",), "PS002", "a PolicyTest file must be named *_test.yaml", hint=f"rename it to {Path(source.name).stem}_test.yaml"))
    problems.extend(check_set(org, policies))
    if not unreadable:
        problems.extend(_ungoverned_actions(org, org_source, policies))
    problems = sorted(set(problems))
    if has_errors(problems):
        return LoadResult(None, tuple(problems))
    files = {source.name: source.text for source, _, _ in documents}
    policy_set = PolicySet(org, agents, tuple(p for _, p in policies), revision_of(files), files)
    return LoadResult(policy_set, tuple(problems))


def _ungoverned_actions(org: Organization, source: SourceFile, policies: list[tuple[SourceFile, Policy]]) -> list[Diagnostic]:
    governed = {a for _, p in policies for a in p.actions}
    return [
        source.diagnostic(("actions", a), "PS042", f'no policy governs action "{a}": nobody may grant it', key=True, severity="warning")
        for a in org.actions if a not in governed
    ]


def revision_units(files: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """The currency and each action's unit (money, days, count, flag) as a stored revision's
    Organization file declares them, without building the set: what the log's exports need to say
    what each amount counts, as the policies of the time had it. (None, {}) when no file declares them."""
    for name in sorted(files):
        source, _ = parse_source(files[name], name)
        data = None if source is None else source.data
        if isinstance(data, dict) and data.get("kind") == "Organization" and isinstance(data.get("actions"), dict):
            units = {str(action): str(spec["unit"]) for action, spec in data["actions"].items()
                     if isinstance(spec, dict) and isinstance(spec.get("unit"), str)}
            currency = data.get("currency")
            return (currency if isinstance(currency, str) else None), units
    return None, {}


def revision_of(files: dict[str, str]) -> str:
    """Content revision: the same files give the same revision on every machine, whatever their mtime."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return "sha256:" + digest.hexdigest()
