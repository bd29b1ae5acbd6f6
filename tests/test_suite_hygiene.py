"""Rules for the test suite itself: shared code lives in tests/helpers.py, not in test modules."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                names.append(node.module)
            if node.level or not node.module:  # `from . import test_x` names the modules themselves
                names.extend(alias.name for alias in node.names)
    return names


def test_no_module_imports_a_test_module() -> None:
    """No tests/*.py file imports a `test_*` module; what tests share comes from helpers.py."""
    offenders = [f"{path.name}: {name}"
                 for path in sorted(TESTS.glob("*.py"))
                 for name in _imported_modules(ast.parse(path.read_text(), filename=str(path)))
                 if any(part.startswith("test_") for part in name.split("."))]
    assert offenders == []
