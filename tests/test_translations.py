"""Diagnostics and the CLI's messages in Spanish and English (authoring/translations.py): every PS code
and every message and hint the package emits has its Spanish; `--lang` chooses, and the default is the
organisation's first locale, else $LANG."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from click.testing import CliRunner
from helpers import EXAMPLE_POLICIES, ROOT, break_refunds

from policy_service.authoring.diagnostics import CODES
from policy_service.authoring.translations import CODES_ES, catalogued, translate
from policy_service.cli import main

PACKAGE = ROOT / "policy_service"


def _sample(node: ast.AST) -> list[str]:
    """The texts a message or hint expression can produce, each varying part written as "x"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):  # only varying parts: a composition of other messages, not a message
        literal = any(isinstance(v, ast.Constant) for v in node.values)
        return ["".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)] if literal else []
    if isinstance(node, ast.IfExp):
        return _sample(node.body) + _sample(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _sample(value)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [left + right for left in _sample(node.left) or ["x"] for right in _sample(node.right) or ["x"]]
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "did_you_mean":
        return ['did you mean "x"?']
    return []


def _emitted() -> list[tuple[str, str]]:
    """(where, text) for every message and hint passed beside a PS code anywhere in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            codes = [i for i, a in enumerate(node.args) if isinstance(a, ast.Constant) and str(a.value).startswith("PS0")]
            if not codes:
                continue
            parts = node.args[codes[0] + 1:codes[0] + 3] + [k.value for k in node.keywords if k.arg == "hint"]
            found += [(f"{path.relative_to(ROOT)}:{node.lineno}", text) for part in parts for text in _sample(part)
                      if text not in ("error", "warning")]
    return found


def test_every_code_has_its_meaning_in_spanish() -> None:
    """CODES (English, docs/authoring.md) and CODES_ES name the same codes, none left empty."""
    assert set(CODES_ES) == set(CODES) and all(CODES_ES.values())


def test_every_message_and_hint_the_package_emits_has_its_spanish() -> None:
    """A new diagnostic without a catalogue entry would print in English under --lang es."""
    missing = [f"{where}: {text}" for where, text in _emitted() if not catalogued(text)]
    assert len(_emitted()) > 60 and not missing


def test_validate_speaks_the_organisations_first_locale_by_default_and_lang_chooses(policies_copy: Path) -> None:
    """The example organisation's first locale is es: Spanish by default; --lang en gives English."""
    break_refunds(policies_copy)
    spanish = CliRunner().invoke(main, ["validate", str(policies_copy)])
    assert spanish.exit_code == 1
    assert 'error[PS020]: campo desconocido "customer.tierr"\n  pista: ¿quiso decir "customer.tier"?' in spanish.output
    assert spanish.output.endswith("1 error(es), 0 aviso(s)\n")
    english = CliRunner().invoke(main, ["validate", "--lang", "en", "--format", "json", str(policies_copy)])
    [diagnostic] = json.loads(english.output)["diagnostics"]
    assert (diagnostic["message"], diagnostic["hint"]) == ('unknown field "customer.tierr"', 'did you mean "customer.tier"?')
    assert "ok: 4 políticas, revisión sha256:" in CliRunner().invoke(main, ["validate", str(EXAMPLE_POLICIES)]).output


def test_without_an_organisation_the_language_comes_from_lang(tmp_path: Path) -> None:
    """Nothing to read a locale from: $LANG decides (es_ES.UTF-8 -> Spanish), else English."""
    missing = str(tmp_path / "nowhere")
    spanish = CliRunner(env={"LANG": "es_ES.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}).invoke(main, ["validate", missing])
    assert "no se encontró el directorio de políticas" in spanish.output
    english = CliRunner(env={"LANG": "C.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}).invoke(main, ["validate", missing])
    assert "policy directory not found" in english.output


def test_test_reports_in_spanish(policies_copy: Path) -> None:
    """`test --lang es`: FALLA, esperado/obtenido and the tally in Spanish."""
    path = policies_copy / "fees_test.yaml"
    path.write_text(path.read_text().replace("    expect: {outcome: allow}\n", "    expect: {outcome: deny}\n", 1))
    output = CliRunner().invoke(main, ["test", "--lang", "es", str(policies_copy)]).output
    assert "FALLA fees_test.yaml:5 un asesor condona un cargo de 10 €" in output
    assert "esperado" in output and "obtenido" in output and "correctos, 1 fallido\n" in output


def test_the_spanish_tally_agrees_in_number() -> None:
    """One case is "1 correcto" / "1 fallido", never "1 fallidos"; any other count takes the plural."""
    assert translate("17 passed, 1 failed", "es") == "17 correctos, 1 fallido"
    assert translate("1 passed, 0 failed", "es") == "1 correcto, 0 fallidos"


def test_a_failing_case_inside_a_refused_reload_is_translated_whole() -> None:
    """Lists of failures and the hints inside a message are translated part by part."""
    text = 'test case "c" fails: outcome: expected deny, got allow; to_tier: expected a, got None'
    assert translate(text, "es") == ('el caso de prueba "c" falla: outcome: se esperaba deny, se obtuvo allow; '
                                     "to_tier: se esperaba a, se obtuvo None")
    assert translate(text, "en") == text


def test_the_plain_words_for_yaml_mistakes_and_misplaced_keys_have_their_spanish() -> None:
    """The parser problems reworded for people, and the "belongs under then:" hints, all read in Spanish."""
    from policy_service.authoring.source import _SYNTAX

    texts = [text for _, message, hint in _SYNTAX for text in (message, hint)]
    texts += [f'"say" belongs under {where}' for where in ("then:, indented below it", "a rule's then:")]
    texts += ['"when" belongs to the rule, beside then: (not under it)',
              '"when" belongs to a rule, under rules: (- id: ..., when: ..., then: ...)']
    assert [text for text in texts if not catalogued(text)] == []
