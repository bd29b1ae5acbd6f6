"""The package's rooms and the one direction their imports point (README "How it works")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "policy_service"

# Lowest first: a module may import its own room and any room of a lower rank, never one above.
RANKS = {
    "errors": 0, "config": 0,
    "model": 1, "telemetry": 1,
    "deciding": 2,
    "authoring": 3,
    "decisionlog": 4,
    "service": 5,
    "policytest": 6,
    "web": 7, "console": 7,  # faces side by side; SIDEWAYS says which of each other's modules they use
    "assistants": 7,  # the MCP server: a face beside web, over the same service functions
    "serving": 8,
    "cli": 9,
    "": 10,  # the package itself: create_app
}

# One seam per outside thing: which rooms may import it.
SEAMS = {
    "durable": {"deciding.engine"},
    "durable_rules_engine": {"deciding.engine"},  # the C extension the engine module drives directly
    "flask": {"web", "console"},
    "flask_wtf": {"console"},  # the console's CSRF tokens; the JSON API needs none
    "werkzeug": {"web", "console"},
    "click": {"cli"},
    "gunicorn": {"serving"},
    "sqlalchemy": {"decisionlog"},
    "alembic": {"decisionlog"},
    "prometheus_client": {"telemetry", "web", "serving"},
    # The MCP SDK and what it runs on: only the MCP server's room.
    "mcp": {"assistants"},
    "mcp_types": {"assistants"},
    "starlette": {"assistants"},
    "uvicorn": {"assistants"},
    "anyio": {"assistants"},
}


# Imports between rooms of one rank, module by module: the factory registers the console; the console
# asks web who is calling (and marks its pages for web's key check) and reads the live service state.
SIDEWAYS = {
    "web.app": {"console.app"},
    "console": {"web.access", "web.state"},
}

# Rooms that may import only some of the rooms below them: the console is a face over the service's
# use cases, so it reads the decision log and policy files only through the service room.
ONLY = {
    "console": {"console", "service", "deciding", "model", "telemetry", "config", "errors", "web"},
    "assistants": {"assistants", "service", "deciding", "model", "telemetry", "config", "errors"},
}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found.append((".".join(p for p in parts if p != "__init__"), path))
    return found


def _room(module: str) -> str:
    return module.split(".")[0] if module else ""


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; the package uses absolute ones"
            names.append(node.module or "")
            if node.module == "policy_service":
                names.extend(f"policy_service.{alias.name}" for alias in node.names if alias.name in RANKS)
    return names


MODULES = _modules()


def test_every_module_lives_in_a_known_room() -> None:
    """A new top-level module or room must take its place in the order before it can land."""
    unknown = {module for module, _ in MODULES if _room(module) not in RANKS}
    assert not unknown


@pytest.mark.parametrize("module, path", MODULES, ids=[m or "policy_service" for m, _ in MODULES])
def test_imports_point_down(module: str, path: Path) -> None:
    """No module imports a room above its own (e.g. nothing under deciding/ imports service or web)."""
    room = _room(module)
    upward = []
    for name in _imports(path):
        if not name.startswith("policy_service.") or "migrations" in module:
            continue
        target_module = name.removeprefix("policy_service.")
        target = _room(target_module)
        if target != room and RANKS[target] == RANKS[room] and _sideways(module, target_module):
            continue
        if target != room and RANKS[target] >= RANKS[room]:
            upward.append(name)
    assert not upward, f"{module} imports upward: {upward}"


def _sideways(module: str, target: str) -> bool:
    """Whether SIDEWAYS lets `module` import `target` (a module of a room of the same rank)."""
    return any((module == source or module.startswith(source + ".")) and target in targets
               for source, targets in SIDEWAYS.items())


@pytest.mark.parametrize("module, path", [(m, p) for m, p in MODULES if _room(m) in ONLY],
                         ids=[m for m, _ in MODULES if _room(m) in ONLY])
def test_a_face_imports_only_the_rooms_it_is_allowed(module: str, path: Path) -> None:
    """The console reaches the decision log, the policy files and the tests' runner only through service."""
    allowed = ONLY[_room(module)]
    outside = [name for name in _imports(path) if name.startswith("policy_service.")
               and _room(name.removeprefix("policy_service.")) not in allowed]
    assert not outside, f"{module} imports {outside}"


def test_sideways_imports_name_real_modules() -> None:
    """A SIDEWAYS entry for a module that no longer exists would silently allow a new one of that name."""
    known = {module for module, _ in MODULES}
    named = set(SIDEWAYS) | {target for targets in SIDEWAYS.values() for target in targets}
    assert named <= known | {_room(m) for m in known}


@pytest.mark.parametrize("module, path", MODULES, ids=[m or "policy_service" for m, _ in MODULES])
def test_outside_libraries_enter_through_their_seam(module: str, path: Path) -> None:
    """Only the engine imports durable_rules, only web Flask, only the decision log SQLAlchemy, ..."""
    misplaced = []
    for name in _imports(path):
        library = name.split(".")[0]
        allowed = SEAMS.get(library)
        if allowed is not None and not any(module == seam or module.startswith(seam + ".") for seam in allowed):
            misplaced.append(name)
    assert not misplaced, f"{module} imports {misplaced} outside its seam"


# One pipeline: who may call its parts (outside tests and benchmarks).
PIPELINE = {
    "usage_for": {"deciding.budgets"},  # only Budgets asks the ledger
    "build_request": {"deciding.request", "deciding.runtime"},  # everyone else calls PolicyRuntime.read
}


@pytest.mark.parametrize("function", sorted(PIPELINE))
def test_the_pipeline_exists_once(function: str) -> None:
    """Every decision is read and decided through PolicyRuntime; nobody re-implements a step."""
    callers = {module for module, path in MODULES
               if any(isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == function
                      for node in ast.walk(ast.parse(path.read_text())))}
    assert callers <= PIPELINE[function], callers - PIPELINE[function]
