"""The console's words (policy_service/console/texts.py): every text in both languages, every text a
template asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from policy_service.console.texts import LANGUAGES, TEXTS

TEMPLATES = Path(__file__).resolve().parents[2] / "policy_service" / "console" / "templates"


def test_every_text_is_in_every_language_with_the_same_placeholders() -> None:
    """A page in English never falls back to Spanish, and no placeholder is missing in one language."""
    for key, texts in TEXTS.items():
        assert set(texts) == set(LANGUAGES), key
        fields = {language: {name for _, name, _, _ in string.Formatter().parse(text) if name} for language, text in texts.items()}
        assert fields["es"] == fields["en"], key


def test_every_text_a_template_names_exists() -> None:
    """`t("...")` in a template names a key of the catalogue."""
    named = {match for path in TEMPLATES.rglob("*.html") for match in re.findall(r"""\bt\(["']([a-z_]+)["']\s*[,)]""", path.read_text())}
    assert named and named <= set(TEXTS), named - set(TEXTS)
