"""Smoke runs of bench/check_speed.py on a small tree: the table, the coverage figures and the ratio."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
from pathlib import Path

import pytest

from docucode_hook.config import Config
from docucode_hook.finder import scan_source
from docucode_hook.pipeline import PARALLEL_CHECK_FILES, check_paths, scan_file

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "check_speed.py"
INTERROGATE = REPO / ".venv-bench" / "bin" / "interrogate"

TREE = {
    "pkg/__init__.py": '"""A package."""\n',
    # 4 counted definitions (module, class, two methods), 2 documented.
    "pkg/core.py": '"""Core."""\n\n\nclass Box:\n    def put(self, x):\n        """Store x."""\n        return x\n\n'
                   "    def take(self):\n        return 1\n",
    # A test file: counted by both, since the benchmark turns docucode's test skipping off.
    "pkg/tests/test_core.py": "def test_put():\n    assert True\n",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small package with a test file and a non-Python file."""
    for name, text in TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pkg" / "notes.txt").write_text("not python\n", encoding="utf-8")
    return tmp_path / "pkg"


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.skipif(not INTERROGATE.is_file(), reason="interrogate venv missing: see bench/check_speed.py")
def test_prints_table_with_both_tools_on_the_same_files_and_a_ratio(tree: Path) -> None:
    """Both tools see the same three files and agree on coverage; the ratio line follows the table."""
    done = _bench("--tree", str(tree), "--repeat", "2")
    assert done.returncode == 0, done.stderr
    assert "tree: 3 *.py files" in done.stdout
    rows = {line.split("|")[1].strip(): line.split("|")[2:6] for line in done.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| tool")}
    assert set(rows) == {"docucode --check", "interrogate -v"}
    for files, coverage, median, fastest in rows.values():
        assert int(files) == 3  # the same file set, the test file included
        assert float(median) >= float(fastest) > 0
    # Both count the three modules, the class, two methods and one test function: 3 of 7 documented.
    assert [float(row[1]) for row in rows.values()] == [42.9, 42.9]
    for measure in ("wall", "CPU"):
        assert re.search(rf"^ratio interrogate/docucode \(median {measure}\): \d+\.\d\dx$", done.stdout, re.M)
    assert done.stderr.count(" run ") == 4  # two cold runs of each tool


def test_missing_interrogate_is_a_one_line_error(tree: Path, tmp_path: Path) -> None:
    """No interrogate venv: exit 2 with the command that installs it."""
    done = _bench("--tree", str(tree), "--interrogate", str(tmp_path / "nowhere" / "interrogate"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"check_speed: error: {tmp_path / 'nowhere' / 'interrogate'}: interrogate not found "
        "(install it with: python3 -m venv .venv-bench && .venv-bench/bin/pip install interrogate)"
    ]


def test_missing_tree_is_a_one_line_error(tmp_path: Path) -> None:
    """A tree that does not exist: exit 2, one line."""
    done = _bench("--tree", str(tmp_path / "absent"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"check_speed: error: {tmp_path / 'absent'}: no such directory to benchmark on"


# The speed work behind the benchmark must not change what --check reports.
MODULES = [
    'def f(a):\n    """Do.\n\n    Args:\n        b: wrong name.\n    """\n    return a\n',
    "class C:\n    def m(self, x):\n        yield x\n",
    "def broken(:\n",  # a syntax error is a per-file error, in order
    '"""Doc."""\n\n\ndef g():\n    raise ValueError(1)\n',
]


def test_parallel_check_reports_what_a_serial_scan_reports(tmp_path: Path) -> None:
    """Enough files for worker processes: same results, same order, errors included."""
    paths = []
    for index in range(2 * PARALLEL_CHECK_FILES + 3):
        path = tmp_path / f"m{index:03}.py"
        path.write_text(MODULES[index % len(MODULES)], encoding="utf-8")
        paths.append(path)
    (tmp_path / "m005.py").write_bytes(b"x = '\xff'\n")  # not UTF-8
    config = Config(include_classes=True)
    parallel = check_paths(paths, tmp_path, config)
    serial = [scan_file(path, tmp_path, config)[2] for path in paths]
    assert parallel == serial
    assert [r.error is not None for r in parallel].count(True) > 2
    assert all(scan_file(p, tmp_path, config, targets=False)[2] == r for p, r in zip(paths[:8], serial))


@pytest.mark.parametrize("source", MODULES[:2] + MODULES[3:])
def test_scan_without_targets_keeps_findings_and_counts(source: str) -> None:
    """``targets=False`` drops the contexts only."""
    config = Config(include_classes=True, include_modules=True, refresh_stale=True)
    full = scan_source(source, "m.py", config)
    lean = scan_source(source, "m.py", config, targets=False)
    assert full.targets and lean.targets == ()
    assert (lean.findings, lean.documented, lean.total, lean.skipped) == (
        full.findings, full.documented, full.total, full.skipped)


def test_a_scan_leaves_no_reference_cycles() -> None:
    """Each file's AST is freed by reference counting, not left for the cyclic collector."""
    source = (
        "class A:\n    class B:\n        def m(self, x):\n"
        '            """Do.\n\n            Args:\n                x\n            """\n            return x\n'
        '\n\ndef f(a):\n    """Do.\n\n    :param b: thing\n    :returns: more\n    """\n    return a\n'
    )
    config = Config(include_classes=True, include_modules=True)
    gc.collect()
    gc.disable()
    try:
        scan = scan_source(source, "m.py", config)
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert any(f.code == "DCU101" for f in scan.findings)  # found through the any-style parse


@pytest.mark.parametrize("module_name", ["argparse", "asyncio.base_events", "contextlib", "email.message", "typing", "zipfile"])
def test_statement_walk_finds_what_the_full_walk_finds(module_name: str) -> None:
    """The stale checks' flow (returns, raises; yields only where the text has the word) agrees
    with the full body walk on every function of real modules."""
    import ast
    import importlib
    import inspect

    from docucode_hook.code.syntax import flow_facts, iter_definitions, may_yield, yield_lines

    source = inspect.getsource(importlib.import_module(module_name))
    functions = [s for s in iter_definitions(ast.parse(source)) if not isinstance(s.node, ast.ClassDef)]
    assert len(functions) > 20
    lines = yield_lines(source)
    for scope in functions:
        facts = scope.facts
        for flow in (flow_facts(scope, may_yield=True), flow_facts(scope, may_yield=False)):
            assert (flow.returns_value, flow.raises) == (facts.returns_value, facts.raises), scope.qualname
        flow = flow_facts(scope, may_yield(lines, scope.node))
        assert (flow.returns_value, flow.is_generator, flow.raises) == (
            facts.returns_value, facts.is_generator, facts.raises), scope.qualname
    assert any(scope.facts.raises for scope in functions)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_yield_lines_are_the_parser_s_lines(newline: str) -> None:
    """A generator is found wherever its yield is, whatever the file's line breaks."""
    import ast

    from docucode_hook.code.syntax import may_yield, yield_lines

    source = newline.join(["def f():", "    return 1", "", "def g():", '    """Doc."""', "    x = 1", "    yield x", ""])
    tree = ast.parse(source)
    lines = yield_lines(source)
    # With "\r" in the file, lines are not counted: every definition gets the full walk.
    expected = [False, True] if newline == "\n" else [True, True]
    assert [may_yield(lines, node) for node in tree.body] == expected
    assert yield_lines("def f():\n    return 1\n") == []


TABBED = [
    'def f(a):\n    """Do.\n\n    Other\tParameters:\n        b: B.\n    """\n    return a\n',  # a title only after expandtabs
    'def f(a):\n\t"""Do.\n\n\tArgs:\n\t\tb: B.\n\t"""\n\treturn a\n',
    'def f(a):\n    """Do.\n\n    Just prose on a second line.\n    """\n    return a\n',
    'def g():\n    """Do.\n\n    Returns:\n        int: one.\n    """\n    yield 1\n',
    'def h(x):\n    """Do.\n\n    Raises:\n        KeyError: never.\n    """\n    try:\n        pass\n'
    '    except (ValueError, os.error):\n        raise\n',
]


@pytest.mark.parametrize("source", MODULES + TABBED)
def test_check_pre_filters_do_not_change_findings(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary-only test before cleandoc and the yield test on the text only save time."""
    from docucode_hook import finder

    config = Config(include_classes=True, include_modules=True)
    try:
        fast = scan_source(source, "m.py", config, targets=False)
    except SyntaxError:
        return
    monkeypatch.setattr(finder, "may_have_sections", lambda text: True)
    real_flow = finder.flow_facts
    monkeypatch.setattr(finder, "flow_facts", lambda scope, may_yield: real_flow(scope, True))
    assert scan_source(source, "m.py", config, targets=False) == fast
