"""The documents the code cites are in the repository and agree with it."""

from __future__ import annotations

import re
from pathlib import Path

from policy_service.authoring.diagnostics import CODES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _headings(document: Path) -> set[str]:
    """Section numbers of a document's headings: "4", "3.3", "7b"."""
    return {m.group(1) for m in re.finditer(r"^#{2,4} (\d+[a-z]?(?:\.\d+)?)[. ]", document.read_text(), re.M)}


def test_every_contract_and_engine_reference_in_the_code_names_a_section_that_exists() -> None:
    """A comment citing docs/contract.md §N or docs/engine.md §N points at a real heading."""
    sections = {name: _headings(DOCS / name) for name in ("contract.md", "engine.md")}
    missing = []
    for path in [*ROOT.glob("policy_service/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py")]:
        for name, number in re.findall(r"docs/(contract\.md|engine\.md) §(\d+[a-z]?(?:\.\d+)?)", path.read_text()):
            if number not in sections[name]:
                missing.append(f"{path.relative_to(ROOT)}: docs/{name} §{number}")
    assert not missing


def test_the_diagnostic_codes_table_is_the_catalogue() -> None:
    """docs/authoring.md lists exactly the codes of CODES, with the same meaning."""
    table = dict(re.findall(r"^\| (PS\d{3}) \| (.+?) \|$", (DOCS / "authoring.md").read_text(), re.M))
    assert table == CODES


def test_every_code_in_the_catalogue_is_emitted_and_every_emitted_code_is_in_it() -> None:
    """A code nothing reports, or a code reported without an entry, is a documentation bug."""
    emitted: set[str] = set()
    for path in ROOT.glob("policy_service/**/*.py"):
        if path.name != "diagnostics.py":
            emitted |= set(re.findall(r'"(PS\d{3})"', path.read_text()))
    assert emitted == set(CODES)
