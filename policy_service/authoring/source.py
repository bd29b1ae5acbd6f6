"""Policy files as plain data with the position of every key and value.

ruamel.yaml reads YAML 1.2, where only `true`/`false` are booleans (`no`, `si`, `on` stay words), and
keeps line/column marks. We convert its nodes to plain dicts, lists and scalars (floats become exact
Decimals) and keep a side index from each path to its position, so validation can work on plain data
and still report `file:line:col`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.reader import ReaderError

from policy_service.authoring.diagnostics import Diagnostic

PathKey = tuple[Any, ...]


@dataclass
class SourceFile:
    """One YAML document: its plain data and where each piece of it was written."""

    name: str  # as shown in messages: relative to the policy directory
    text: str
    data: Any
    value_positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """Position (1-based) of the value at `path`, or its key, or the nearest enclosing one."""
        index = self.key_positions if key else self.value_positions
        probe = tuple(path)
        while probe:
            if probe in index:
                return index[probe]
            if not key and probe in self.key_positions:
                return self.key_positions[probe]
            probe = probe[:-1]
        return (1, 1)

    def diagnostic(
        self, path: PathKey, code: str, message: str, *, hint: str | None = None,
        key: bool = False, severity: str = "error",
    ) -> Diagnostic:
        line, column = self.at(path, key=key)
        return Diagnostic(self.name, line, column, code, message, severity, hint)  # type: ignore[arg-type]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    return yaml


def read_source(path: Path, name: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Parse one file; an unreadable file (permissions, invalid UTF-8, a NUL, a syntax error) is one
    positioned diagnostic, never an exception: a reload, SIGHUP or start must not die of a file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Diagnostic(name, 1, 1, "PS001", f"the file cannot be read: {exc.strerror or exc}", "error")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        line, column = _position(before, len(before))
        return None, [Diagnostic(name, line, column, "PS001", f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                                 "error", "save the file as UTF-8")]
    return parse_source(text, name)


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def parse_source(text: str, name: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    try:
        node = _yaml().load(text)
    except ReaderError as exc:  # a character YAML forbids (NUL, most control characters)
        line, column = _position(text, exc.position)
        return None, [Diagnostic(name, line, column, "PS001", f"invalid YAML: {exc.reason} (U+{exc.character:04X})", "error",
                                 "remove the character, or write it as an escape inside a double-quoted string")]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        hint = "a key may appear only once in a mapping" if "duplicate key" in problem else None
        return None, [Diagnostic(name, line, column, "PS001", f"invalid YAML: {problem}", "error", hint)]
    source = SourceFile(name=name, text=text, data=None)
    source.data = _plain(node, (), source)
    return source, []


def _plain(node: Any, path: PathKey, source: SourceFile) -> Any:
    if isinstance(node, CommentedMap):
        result = {}
        for key in node:
            line, column = node.lc.key(key)
            source.key_positions[path + (key,)] = (line + 1, column + 1)
            vline, vcolumn = node.lc.value(key)
            source.value_positions[path + (key,)] = (vline + 1, vcolumn + 1)
            result[str(key) if not isinstance(key, (int, bool)) else key] = _plain(node[key], path + (key,), source)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            line, column = node.lc.item(index)
            source.value_positions[path + (index,)] = (line + 1, column + 1)
            items.append(_plain(item, path + (index,), source))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        # repr gives the shortest text that reads back as the same float: 112.5 -> Decimal("112.5").
        return Decimal(repr(float(node)))
    if isinstance(node, str):
        return str(node)
    return node


def find_policy_files(directory: Path) -> Iterator[Path]:
    """YAML files under `directory`, in path order; skips `_*`, `.*` and anything under such folders."""
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(("_", ".")) for part in relative.parts):
            continue
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            yield path
