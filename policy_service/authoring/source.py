"""Policy files as plain data with the position of every key and value.

ruamel.yaml reads YAML 1.2, where only `true`/`false` are booleans (`no`, `si`, `on` stay words), and
keeps line/column marks. We convert its nodes to plain dicts, lists and scalars (floats become exact
Decimals) and keep a side index from each path to its position, so validation can work on plain data
and still report `file:line:col`.
"""

from __future__ import annotations

import re
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
        return None, [_syntax_error(exc, text, name)]
    source = SourceFile(name=name, text=text, data=None)
    source.data = _plain(node, (), source)
    return source, []


# The parser's words for the mistakes authors make most, as (what it says, plain message, hint). The
# parser's own text stays for the rest: it is precise, only not written for people.
_SYNTAX: tuple[tuple[str, str, str], ...] = (
    ("cannot start any token", "a tab in the indentation", "YAML indents with spaces, not tabs"),
    ("expected <block end>", "this line is not indented like the lines around it",
     "check this line's indentation against the line above: keys of one mapping start in the same column"),
    ("mapping values are not allowed here", 'a key ("name:") where only a value can be',
     "check this line's indentation against the line above, or put a text that holds \": \" in quotes"),
    ("while parsing a flow", "a [ or { is not closed", "close it with ] or }, or write one item per line with -"),
    ("while scanning a quoted scalar", "a quote is not closed", "end the text with the same quote it starts with"),
)


def _syntax_error(exc: MarkedYAMLError, text: str, name: str) -> Diagnostic:
    """One PS001 at the line the mistake is most likely on, in plain words where we know them."""
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    said = f"{exc.context or ''} {problem}"
    message, hint = next(((plain, why) for words, plain, why in _SYNTAX if words in said), (problem, None))
    if duplicate := re.search(r'duplicate key "(.*?)"', problem):
        message, hint = f'the key "{duplicate.group(1)}" appears twice in one mapping', "a key may appear only once in a mapping"
    mark = exc.problem_mark or exc.context_mark
    if message.startswith("this line is not indented") and _first_key_is_the_odd_one(exc, text):
        mark = exc.context_mark
    if message.endswith("is not closed"):  # where it opens, not where the parser gave up looking
        mark = exc.context_mark or mark
    if message.startswith("a tab") and mark is not None:  # the tab itself, even when it follows spaces
        tab = text.splitlines()[mark.line].find("\t") if mark.line < len(text.splitlines()) else -1
        line, column = mark.line + 1, (tab if tab >= 0 else mark.column) + 1
    else:
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Diagnostic(name, line, column, "PS001", f"invalid YAML: {message}", "error", hint)


def _first_key_is_the_odd_one(exc: MarkedYAMLError, text: str) -> bool:
    """The parser stops on the first line that does not fit the mapping it is in; but when that mapping
    has only its first key so far, and that key sits off the file's usual step from its parent while
    the stopped line sits on it, the first key is the one out of place:

        then:
         require_tier: {refund: manager}   <- the mistake
          say: {es: ...}                   <- where the parser stops
    """
    start, stop = exc.context_mark, exc.problem_mark
    if start is None or stop is None or "block mapping" not in (exc.context or "") or stop.column <= start.column:
        return False
    lines = text.splitlines()
    indents = [(i, len(t) - len(t.lstrip(" "))) for i, t in enumerate(lines) if t.strip() and not t.lstrip().startswith("#")]
    if any(i for i, indent in indents if start.line < i < stop.line and indent == start.column):
        return False  # the mapping already has a second key in its column: the stopped line is the odd one
    parent = next((indent for i, indent in reversed(indents) if i < start.line and indent < start.column), None)
    if parent is None:
        return False
    before = [indent for i, indent in indents if i < start.line]  # the file's habit, before the mistake
    steps = [b - a for a, b in zip(before, before[1:], strict=False) if b > a]
    step = max(sorted(set(steps)), key=steps.count) if steps else 2
    return bool(start.column - parent != step and stop.column - parent == step)


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
