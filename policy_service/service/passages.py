"""A stored policy revision's files cut into passages, each rule's lines apart under its key
(`policy/rule`), so a page can anchor every rule and a decision can quote the rules it fired from the
exact revision that decided it (docs/contract.md §6, §9).

Reads the files' text only: nothing is compiled or validated again, and a file that no longer parses
is shown whole, without anchors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy_service.authoring.source import SourceFile, parse_source
from policy_service.decisionlog import DecisionStore


@dataclass(frozen=True)
class Passage:
    """Consecutive lines of one file; `rule` is set when they are one rule's."""
    first_line: int  # 1-based
    text: str
    rule: str | None = None  # policy/rule
    effects: tuple[str, ...] = ()  # the keys of the rule's `then` (require_tier, offer, say, ...)


@dataclass(frozen=True)
class RevisionFile:
    path: str
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class StoredRevision:
    revision: str
    stored_at: str  # ISO 8601, UTC
    files: tuple[RevisionFile, ...]


def stored_revision(store: DecisionStore, revision: str) -> StoredRevision | None:
    """A revision the log stored (GET /v1/policies/revisions/{revision}), cut into passages; None when unknown."""
    stored = store.revision(revision)
    if stored is None:
        return None
    return StoredRevision(stored["revision"], stored["stored_at"], tuple(revision_files(stored["files"])))


def revision_files(files: Mapping[str, str]) -> list[RevisionFile]:
    """Every file of a revision in path order, its rules cut out as passages of their own."""
    return [RevisionFile(path, _cut(path, files[path])) for path in sorted(files)]


def rule_passages(files: Mapping[str, str]) -> dict[str, Passage]:
    """Each rule's passage in a revision, by `policy/rule`."""
    return {p.rule: p for f in revision_files(files) for p in f.passages if p.rule is not None}


def _rule_spans(source: SourceFile) -> list[tuple[int, int, str, tuple[str, ...]]]:
    """(first line, last line, policy/rule, effects) of each rule of a Policy file, in file order."""
    data: Any = source.data
    if not isinstance(data, dict) or data.get("kind") != "Policy" or not isinstance(data.get("rules"), list):
        return []
    tops = sorted(line for (key, *rest), (line, _) in source.key_positions.items() if not rest)
    starts = []
    for index, rule in enumerate(data["rules"]):
        if isinstance(rule, dict) and isinstance(rule.get("id"), str) and ("rules", index) in source.value_positions:
            then = rule.get("then")
            effects = tuple(str(k) for k in then) if isinstance(then, dict) else ()
            starts.append((source.value_positions[("rules", index)][0], f"{data.get('id')}/{rule['id']}", effects))
    lines = source.text.splitlines()
    spans = []
    for n, (start, key, effects) in enumerate(starts):
        after = starts[n + 1][0] if n + 1 < len(starts) else next((t for t in tops if t > start), len(lines) + 1)
        end = max(start, after - 1)
        # Blank lines and column-0 comments before the next key belong to what follows, not to this rule.
        while end > start and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1
        spans.append((start, end, key, effects))
    # Rules written on one line (flow style) share it: such a file is shown without rule passages.
    if any(spans[i][1] >= spans[i + 1][0] for i in range(len(spans) - 1)):
        return []
    return spans


def _cut(path: str, text: str) -> tuple[Passage, ...]:
    source, _ = parse_source(text, path)
    spans = _rule_spans(source) if source is not None else []
    lines = text.splitlines()
    passages, line = [], 1
    for start, end, key, effects in spans:
        if start > line:
            passages.append(Passage(line, "\n".join(lines[line - 1:start - 1])))
        passages.append(Passage(start, "\n".join(lines[start - 1:end]), key, effects))
        line = end + 1
    if line <= len(lines) or not passages:
        passages.append(Passage(line, "\n".join(lines[line - 1:])))
    return tuple(passages)
