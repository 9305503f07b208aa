"""Path selection on real directories and a real git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from docucode_hook.config import Config
from docucode_hook.paths import select_paths

FILES = (
    "pkg/__init__.py",
    "pkg/core.py",
    "pkg/stub.pyi",
    "pkg/tests/test_core.py",
    "pkg/tests/helpers.py",
    "tests/test_top.py",
    "tests/conftest.py",
    "pkg/core_test.py",
    "scripts/tool.py",
    "README.md",
    "build/generated.py",
)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in FILES:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def repo(tree: Path) -> Path:
    _git(tree, "init", "-q")
    (tree / ".gitignore").write_text("build/\n", encoding="utf-8")
    (tree / "untracked.py").write_text("y = 2\n", encoding="utf-8")
    _git(tree, "add", *[name for name in FILES if not name.startswith("build/")], ".gitignore")
    return tree


def _names(paths: list[Path], root: Path) -> list[str]:
    return sorted(p.resolve().relative_to(root.resolve()).as_posix() for p in paths)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ["pkg/__init__.py", "pkg/core.py", "scripts/tool.py"]),
        (
            {"skip_tests": False},
            [
                "pkg/__init__.py",
                "pkg/core.py",
                "pkg/core_test.py",
                "pkg/tests/helpers.py",
                "pkg/tests/test_core.py",
                "scripts/tool.py",
                "tests/conftest.py",
                "tests/test_top.py",
            ],
        ),
        ({"exclude": ("scripts/*",)}, ["pkg/__init__.py", "pkg/core.py"]),
        ({"exclude": ("__init__.py",)}, ["pkg/core.py", "scripts/tool.py"]),
        ({"include": ("pkg/*",)}, ["pkg/__init__.py", "pkg/core.py"]),
    ],
)
def test_no_args_selects_tracked_python_files(repo: Path, options: dict, expected: list[str]) -> None:
    paths, errors = select_paths([], repo, Config(**options))
    assert errors == []
    assert _names(paths, repo) == expected


def test_tracked_file_deleted_from_disk_is_dropped(repo: Path) -> None:
    (repo / "scripts/tool.py").unlink()
    paths, _ = select_paths([], repo, Config())
    assert _names(paths, repo) == ["pkg/__init__.py", "pkg/core.py"]


def test_no_args_outside_git_is_an_error(tree: Path) -> None:
    paths, errors = select_paths([], tree, Config())
    assert paths == []
    assert len(errors) == 1 and str(tree) in errors[0] and "not a git repository" in errors[0]


def test_directory_in_repo_respects_gitignore_and_lists_untracked(repo: Path) -> None:
    paths, errors = select_paths([str(repo)], repo, Config())
    assert errors == []
    assert _names(paths, repo) == ["pkg/__init__.py", "pkg/core.py", "scripts/tool.py", "untracked.py"]


def test_directory_outside_git_is_walked_without_hidden_folders(tree: Path) -> None:
    (tree / ".venv/lib").mkdir(parents=True)
    (tree / ".venv/lib/site.py").write_text("z = 3\n", encoding="utf-8")
    paths, errors = select_paths([str(tree / "pkg"), str(tree)], tree, Config())
    assert errors == []
    assert _names(paths, tree) == ["build/generated.py", "pkg/__init__.py", "pkg/core.py", "scripts/tool.py"]
    assert len(paths) == len(set(paths))


@pytest.mark.parametrize(
    ("name", "options", "kept"),
    [
        ("pkg/core.py", {}, True),
        ("pkg/stub.pyi", {}, False),
        ("README.md", {}, False),
        # Explicit filenames (what pre-commit passes) still honour test globs and excludes.
        ("tests/test_top.py", {}, False),
        ("pkg/tests/helpers.py", {}, False),
        ("pkg/core_test.py", {}, False),
        ("tests/conftest.py", {}, False),
        ("tests/test_top.py", {"skip_tests": False}, True),
        ("pkg/core.py", {"exclude": ("pkg/core.py",)}, False),
        ("pkg/core.py", {"exclude": ("core.py",)}, False),
        ("pkg/core.py", {"include": ("scripts/*",)}, False),
    ],
)
def test_explicit_file(repo: Path, name: str, options: dict, kept: bool) -> None:
    paths, errors = select_paths([str(repo / name)], repo, Config(**options))
    assert errors == []
    assert _names(paths, repo) == ([name] if kept else [])


def test_relative_arguments_are_matched_relative_to_root(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "pkg")
    paths, errors = select_paths(["core.py", "tests/test_core.py"], repo, Config())
    assert errors == []
    assert paths == [Path("core.py")]


def test_missing_path_is_reported_and_the_rest_processed(repo: Path) -> None:
    missing = str(repo / "nope.py")
    paths, errors = select_paths([missing, str(repo / "pkg/core.py")], repo, Config())
    assert errors == [f"{missing}: no such file or directory"]
    assert _names(paths, repo) == ["pkg/core.py"]
