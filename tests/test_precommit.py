"""The hook through the real ``pre-commit`` executable and real git: stop the commit, then let it through."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docucode_hook.verify import assert_only_docstrings_changed

CHECKOUT = Path(__file__).resolve().parents[1]
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
UNDOCUMENTED = "def area(width: float, height: float) -> float:\n    return width * height\n"
CONFIG = '[tool.docucode]\nbackend = "template"\n'


def _run(args, cwd, env, check=True):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("precommit-home")
    return {
        **os.environ,
        "PRE_COMMIT_HOME": str(home / "cache"),
        "DOCUCODE_CACHE_DIR": str(home / "docucode-cache"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, env):
    """A git repo holding this checkout's working tree (committed or not), as pre-commit fetches it."""
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], CHECKOUT, env).stdout.split("\0")
    for name in filter(None, listed):
        source = CHECKOUT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    _run(["git", "init", "-q"], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "snapshot"], repo, env)
    rev = _run(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()
    return repo, rev


def _user_repo(root: Path, env, hook_repo, hook_id="docucode", config=CONFIG) -> Path:
    repo_path, rev = hook_repo
    root.mkdir()
    _run(["git", "init", "-q"], root, env)
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo_path}\n    rev: {rev}\n    hooks:\n      - id: {hook_id}\n"
    )
    (root / "pyproject.toml").write_text(config)
    return root


def test_commit_stops_with_docstrings_then_goes_through(tmp_path, env, hook_repo):
    # The default config: the shipped model, from the package pre-commit installed.
    repo = _user_repo(tmp_path / "user", env, hook_repo, config="[tool.docucode]\n")
    _run([*PRE_COMMIT, "install"], repo, env)
    (repo / "geometry.py").write_text(UNDOCUMENTED)
    _run(["git", "add", "-A"], repo, env)

    first = _run(["git", "commit", "-m", "add geometry"], repo, env, check=False)
    assert first.returncode != 0, first.stdout
    assert "files were modified by this hook" in first.stdout + first.stderr
    output = first.stdout + first.stderr
    assert "docucode: wrote 1 docstring(s) in geometry.py" in output  # the hook's own output is shown...
    assert "warning" not in output  # ...and it has no template fallback: the shipped model ran
    fixed = (repo / "geometry.py").read_text()
    assert_only_docstrings_changed(UNDOCUMENTED, fixed)
    assert '"""' in fixed and "width" in fixed
    assert _run(["git", "log", "--oneline"], repo, env, check=False).returncode != 0  # no commit yet

    _run(["git", "add", "geometry.py"], repo, env)
    _run(["git", "commit", "-m", "add geometry"], repo, env)
    assert _run(["git", "show", "HEAD:geometry.py"], repo, env).stdout == fixed


def test_run_all_files_backfills_and_check_hook_reports(tmp_path, env, hook_repo):
    repo = _user_repo(tmp_path / "user", env, hook_repo, hook_id="docucode-check")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "a.py").write_text(UNDOCUMENTED)
    (repo / "pkg" / "b.py").write_text(UNDOCUMENTED.replace("area", "perimeter"))
    _run(["git", "add", "-A"], repo, env)

    check = _run([*PRE_COMMIT, "run", "--all-files"], repo, env, check=False)
    assert check.returncode == 1
    assert "pkg/a.py:1:1: DCU100 missing docstring" in check.stdout

    config = (repo / ".pre-commit-config.yaml").read_text()
    (repo / ".pre-commit-config.yaml").write_text(config.replace("docucode-check", "docucode"))
    backfill = _run([*PRE_COMMIT, "run", "--all-files"], repo, env, check=False)
    assert backfill.returncode == 1
    for name in ("a.py", "b.py"):
        assert '"""' in (repo / "pkg" / name).read_text()
    assert _run([*PRE_COMMIT, "run", "--all-files"], repo, env, check=False).returncode == 0


def test_try_repo_on_this_checkout(tmp_path, env):
    repo = tmp_path / "user"
    repo.mkdir()
    _run(["git", "init", "-q"], repo, env)
    (repo / "pyproject.toml").write_text(CONFIG)
    (repo / "geometry.py").write_text(UNDOCUMENTED)
    _run(["git", "add", "-A"], repo, env)
    done = _run([*PRE_COMMIT, "try-repo", str(CHECKOUT), "docucode", "--all-files"], repo, env, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_only_docstrings_changed(UNDOCUMENTED, (repo / "geometry.py").read_text())
