"""The round-trip bench on a small tree, and regressions for the bugs its full run found."""

from __future__ import annotations

import codecs
import sys
from pathlib import Path

import pytest

from docucode_hook.cli import main as docucode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import roundtrip  # noqa: E402  (a script directory, not a package)

CONFIG = '[tool.docucode]\nbackend = "template"\nskip_tests = false\n'

# Each of these made the fix mode write a docstring that its own second pass (and --check) called stale.
FIX_THEN_CLEAN = {
    "optional_return_none": "def find(key: str) -> int | None:\n    return None\n",
    "annotated_but_raises": "from typing import Any\n\n\ndef state() -> Any:\n    raise TypeError('no')\n",
    "generator_returns": (
        "from typing import Generator\n\n\n"
        "def protocol(item: int) -> Generator[None, object, object]:\n    return (yield)\n"
    ),
    "property_none": "class A:\n    @property\n    def colno(self) -> int | None:\n        return None\n",
}


@pytest.mark.parametrize("source", FIX_THEN_CLEAN.values(), ids=FIX_THEN_CLEAN.keys())
def test_fixed_file_passes_its_own_check(tmp_path, monkeypatch, capsys, source) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG + "include_classes = true\n")
    (tmp_path / "mod.py").write_text(source)
    assert docucode(["mod.py"]) == 1, capsys.readouterr().err
    assert '"""' in (tmp_path / "mod.py").read_text()
    assert docucode(["--check", "mod.py"]) == 0, capsys.readouterr().out
    assert docucode(["mod.py"]) == 0


def test_a_type_with_a_colon_is_left_out_of_the_google_line(tmp_path, monkeypatch, capsys) -> None:
    """hypothesis/database.py::_db_for_path: ``Literal[":memory:"]`` cut the ``name (type): text`` line in two."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG + "skip_private = false\n")
    (tmp_path / "mod.py").write_text(
        "from typing import Literal\n\n\n"
        "def _db_for_path(path: str | Literal[\":memory:\"] | None = None) -> \"ExampleDatabase\":\n"
        "    if path == \":memory:\":\n        raise HypothesisException(path)\n    return make(path)\n"
    )
    assert docucode(["mod.py"]) == 1, capsys.readouterr().err
    fixed = (tmp_path / "mod.py").read_text()
    assert "    path: The path. Defaults to None.\n" in fixed
    assert docucode(["mod.py"]) == 0 and docucode(["--check", "mod.py"]) == 0, capsys.readouterr()


def _tree(root: Path) -> None:
    """A handful of files of every awkward kind the bench must get through cleanly."""
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_bytes(b"")
    (root / "pkg" / "crlf.py").write_bytes(b"def f(a, b):\r\n    # keep me\r\n    return a + b\r\n")
    (root / "pkg" / "bom.py").write_bytes(codecs.BOM_UTF8 + "def g(x):\n    return 'é' * x\n".encode())
    (root / "pkg" / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\ndef h():\n    return '\xe9'\n")
    (root / "pkg" / "broken.py").write_bytes(b"def oops(:\n    pass\n")
    (root / "pkg" / "undecodable.py").write_bytes(b"def k():\n    return '\xff'\n")
    for name, source in FIX_THEN_CLEAN.items():
        (root / "pkg" / f"{name}.py").write_text(source)


def test_bench_on_a_small_tree_counts_everything(tmp_path, capsys) -> None:
    _tree(tmp_path)
    assert roundtrip.main([str(tmp_path), "--jobs", "1", "--chunk", "3"]) == 0
    out = capsys.readouterr().out
    assert "files                 10" in out
    assert "failures              0" in out
    assert "skipped (original unusable) 2" in out
    assert "syntax error" in out and "not valid" in out


def test_corruption_check_catches_a_changed_body(tmp_path) -> None:
    path = tmp_path / "m.py"
    original = b"def f():\r\n    # why\r\n    return 1\r\n"
    path.write_bytes(b'def f():\r\n    """Doc."""\r\n    # why\r\n    return 1\r\n')
    assert roundtrip.corruption(original, path) is None
    path.write_bytes(b"def f():\n    # why\n    return 1\n")
    assert "newline" in roundtrip.corruption(original, path)
    path.write_bytes(b"def f():\r\n    return 1\r\n")
    assert roundtrip.corruption(original, path) == "comments changed"
    path.write_bytes(b"def f():\r\n    # why\r\n    return 2\r\n")
    assert "code other than docstrings changed" in roundtrip.corruption(original, path)


@pytest.mark.slow
def test_real_project_backfill_keeps_its_own_tests_passing() -> None:
    import realproject

    assert realproject.main(["more-itertools==11.2.1"]) == 0  # needs PyPI for the sdist and the hook env
