"""Smoke runs of bench/check_speed.py on a small tree: the table, the coverage figures and the ratio."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    for name, text in TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pkg" / "notes.txt").write_text("not python\n", encoding="utf-8")
    return tmp_path / "pkg"


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.skipif(not INTERROGATE.is_file(), reason="interrogate venv missing: see bench/check_speed.py")
def test_prints_table_with_both_tools_on_the_same_files_and_a_ratio(tree: Path) -> None:
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
    assert re.search(r"^ratio interrogate/docucode \(median wall\): \d+\.\d\dx$", done.stdout, re.M)
    assert done.stderr.count(" run ") == 4  # two cold runs of each tool


def test_missing_interrogate_is_a_one_line_error(tree: Path, tmp_path: Path) -> None:
    done = _bench("--tree", str(tree), "--interrogate", str(tmp_path / "nowhere" / "interrogate"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"check_speed: error: {tmp_path / 'nowhere' / 'interrogate'}: interrogate not found "
        "(install it with: python3 -m venv .venv-bench && .venv-bench/bin/pip install interrogate)"
    ]


def test_missing_tree_is_a_one_line_error(tmp_path: Path) -> None:
    done = _bench("--tree", str(tmp_path / "absent"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"check_speed: error: {tmp_path / 'absent'}: no such directory to benchmark on"
