"""The shape of the code: rooms by stage, small modules, no reach into another module's privates, no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "docucode_hook"
TRAIN = ROOT / "train"
MAX_LINES = 450
CLI = "docucode_hook.cli"
# The hook's rooms from the bottom up: a folder per stage, the entry points and the pipeline on
# top. A module imports from its own room and the rooms below it, never above, at load time or
# inside a function, so the tree reads top to bottom and no stage reaches back into a later one.
ROOMS = (
    "docucode_hook",  # the package itself: __version__
    "docucode_hook.code",  # reading Python
    "docucode_hook.config",
    "docucode_hook.cpus",
    "docucode_hook.fileio",
    "docucode_hook.paths",  # which files: the style of a repository reads them too
    "docucode_hook.docstrings",  # docstrings as text
    "docucode_hook.backends",  # context -> raw text
    "docucode_hook.precision",  # raw text -> what may be said
    "docucode_hook.precommit",
    "docucode_hook.finder",
    "docucode_hook.comments",
    "docucode_hook.pipeline",
    "docucode_hook.flake8_plugin",
    "docucode_hook.cli",
    "docucode_hook.__main__",
)


def _module_name(path: Path) -> str:
    base = ROOT / "src" if path.is_relative_to(PACKAGE) else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for root in (PACKAGE, TRAIN) for path in sorted(root.rglob("*.py"))}
# Test modules import each other by their file names (tests/ is on the path).
TEST_MODULES = {path.stem: path for path in sorted((ROOT / "tests").glob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), str(path))
         for name, path in {**MODULES, **TEST_MODULES}.items()}


def _resolve(name: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` in module ``name`` reads from."""
    if not node.level:
        return node.module or ""
    package = name if MODULES.get(name, Path()).name == "__init__.py" else name.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _imports(name: str, nodes: list[ast.AST] | None = None) -> list[tuple[int, str, str | None, str]]:
    """(line, module, name or None, local name) for each import in ``nodes`` (default: all of module ``name``)."""
    found = []
    for node in nodes if nodes is not None else ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, None, alias.asname or alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node)
            for alias in node.names:
                local = alias.asname or alias.name
                # ``from pkg import mod`` imports a module, not a name of pkg.
                if f"{module}.{alias.name}" in MODULES:
                    found.append((node.lineno, f"{module}.{alias.name}", None, local))
                else:
                    found.append((node.lineno, module, alias.name, local))
    return found


def _load_time_nodes(statements: list[ast.stmt]) -> list[ast.AST]:
    """The nodes that run when a module loads: function bodies and ``if TYPE_CHECKING:`` blocks left out."""
    nodes: list[ast.AST] = []
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
            nodes.extend(_load_time_nodes(statement.orelse))
            continue
        nodes.append(statement)
        for block in ("body", "orelse", "handlers", "finalbody"):
            nodes.extend(_load_time_nodes(getattr(statement, block, None) or []))
        if isinstance(statement, ast.ExceptHandler):
            nodes.extend(_load_time_nodes(statement.body))
    return nodes


def _module_level_imports(name: str) -> set[str]:
    """Project modules that ``name`` imports when it is loaded."""
    nodes = _load_time_nodes(TREES[name].body)
    return {module for _, module, _, _ in _imports(name, nodes) if module in MODULES and module != name}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("docucode_hook")))
def test_no_hook_module_is_over_the_line_limit(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)}: {lines} lines (split it along its jobs)"


def _room(module: str) -> int | None:
    """The position in ``ROOMS`` of the room ``module`` sits in, or None outside them."""
    for position, room in reversed(list(enumerate(ROOMS))):
        if module == room or (room != ROOMS[0] and module.startswith(room + ".")):
            return position
    return None


HOOK = sorted(name for name in MODULES if name.startswith("docucode_hook"))


def test_every_hook_module_has_a_room() -> None:
    assert [name for name in HOOK if _room(name) is None] == []


def test_no_hook_module_imports_from_a_room_above_its_own() -> None:
    upward = [f"{MODULES[name].relative_to(ROOT)}:{line}: {module} ({ROOMS[_room(module)]} is above {ROOMS[_room(name)]})"
              for name in HOOK for line, module, _, _ in _imports(name)
              if module in MODULES and _room(module) is not None and _room(module) > _room(name)]
    assert upward == []


def test_the_room_rule_catches_an_upward_import() -> None:
    assert _room("docucode_hook.code.syntax") < _room("docucode_hook.precision.grounding") < _room(CLI)
    assert _room("docucode_hook") == 0 and _room("docucode_hook.backends") == _room("docucode_hook.backends.ct2")
    assert _room("train.mine") is None


def test_one_name_per_idea() -> None:
    """No two hook modules share a name, and none is another's plural (``context`` beside ``contexts``)."""
    stems = [MODULES[name].stem for name in HOOK if MODULES[name].stem != "__init__"]
    clashes = sorted({a for a in stems if stems.count(a) > 1 or a + "s" in stems})
    assert clashes == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_imports_another_module_s_private_names() -> None:
    """Neither the code nor its tests: a helper worth testing on its own is part of a module's job."""
    ours = {**MODULES, **TEST_MODULES}
    reaches = []
    for name, path in ours.items():
        imports = _imports(name)
        where = path.relative_to(ROOT)
        reaches += [f"{where}:{line}: {module}.{imported}" for line, module, imported, _ in imports
                    if imported and _private(imported) and module in ours]
        project_modules = {local for _, module, imported, local in imports if imported is None and module in ours}
        reaches += [f"{where}:{node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(TREES[name])
                    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in project_modules and _private(node.attr)]
    assert reaches == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph``, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == 1:
                return path[path.index(child):] + [child]
            if child not in state and (found := visit(child)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle() -> None:
    graph = {name: _module_level_imports(name) for name in MODULES}
    # A package's __init__ is loaded before its modules: an edge into it is no circle by itself.
    graph = {name: {m for m in targets if not name.startswith(m + ".")} for name, targets in graph.items()}
    assert _cycle(graph) is None


def test_the_hook_never_imports_train() -> None:
    reaches = [f"{MODULES[name].relative_to(ROOT)}:{line}: {module}"
               for name in MODULES if name.startswith("docucode_hook")
               for line, module, _, _ in _imports(name) if module == "train" or module.startswith("train.")]
    assert reaches == []


def test_nothing_imports_the_cli() -> None:
    """The CLI is the outermost layer: ``__main__`` and the console script start it, nothing builds on it."""
    users = [name for name in MODULES if name not in (CLI, "docucode_hook.__main__")
             for _, module, _, _ in _imports(name) if module == CLI]
    assert users == []
