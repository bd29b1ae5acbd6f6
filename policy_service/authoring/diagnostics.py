"""Problems found in policy files, as values.

The loader collects every problem in every file and returns them; the CLI and the HTTP API only render
them. Codes are stable (documented in docs/authoring.md); wording is pinned by golden tests.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from policy_service.authoring.translations import translate

Severity = Literal["error", "warning"]

# Code catalogue: one line per code. tests/test_docs.py holds it equal to the table in docs/authoring.md
# and to the codes the authoring modules emit, so neither can drift.
CODES: dict[str, str] = {
    "PS001": "the file is not valid YAML",
    "PS002": "apiVersion or kind is missing or unknown",
    "PS003": "a required key is missing",
    "PS004": "a key is not part of the format",
    "PS005": "a value has the wrong type or form",
    "PS010": "there must be exactly one Organization",
    "PS011": "an id is defined twice",
    "PS012": "an action is governed by two policies",
    "PS013": "unknown tier",
    "PS014": "unknown action",
    "PS015": "unknown team",
    "PS016": "unknown policy",
    "PS017": "unknown agent",
    "PS018": "unknown cap",
    "PS019": "unknown rule",
    "PS020": "unknown field",
    "PS021": "unknown operator",
    "PS022": "the value does not fit the field's type",
    "PS023": "the operator does not apply to the field's type",
    "PS024": "the value is not one the field allows",
    "PS025": "an alternative is not an action of the same policy",
    "PS030": "unknown placeholder in words",
    "PS031": "words are missing for a locale",
    "PS040": "limits fall as tiers rise",
    "PS041": "the rule can never match",
    "PS042": "no policy governs this action",
    "PS050": "a test case of the set fails",
}


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one position. Lines and columns are 1-based, as editors show them."""

    file: str
    line: int
    column: int
    code: str
    message: str
    severity: Severity = "error"
    hint: str | None = None

    def render(self, lang: str = "en") -> str:
        text = f"{self.file}:{self.line}:{self.column}: {translate(self.severity, lang)}[{self.code}]: {translate(self.message, lang)}"
        if self.hint:
            text += f"\n  {translate('hint', lang)}: {translate(self.hint, lang)}"
        return text

    def to_json(self, lang: str = "en") -> dict[str, object]:
        """`severity` stays a keyword (error, warning); message and hint are in `lang`."""
        data = asdict(self)
        data["message"] = translate(self.message, lang)
        data["hint"] = translate(self.hint, lang) if self.hint else self.hint
        return data


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f'did you mean "{matches[0]}"?' if matches else None


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def render_text(diagnostics: Iterable[Diagnostic], lang: str = "en") -> str:
    items = sorted(diagnostics)
    lines = [d.render(lang) for d in items]
    errors = sum(1 for d in items if d.severity == "error")
    warnings = len(items) - errors
    lines.append(translate(f"{errors} error(s), {warnings} warning(s)", lang))
    return "\n".join(lines)


def render_json(diagnostics: Iterable[Diagnostic], lang: str = "en") -> str:
    items = sorted(diagnostics)
    return json.dumps(
        {
            "errors": sum(1 for d in items if d.severity == "error"),
            "warnings": sum(1 for d in items if d.severity == "warning"),
            "diagnostics": [d.to_json(lang) for d in items],
        },
        ensure_ascii=False,
        indent=2,
    )
