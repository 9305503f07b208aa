"""The hook through the real ``pre-commit`` executable and real git: stop the commit, then let it through."""

from __future__ import annotations

from pathlib import Path

from precommit_support import PRE_COMMIT, TEMPLATE_CONFIG, run as _run, user_repo

from docucode_hook.docstrings.verify import assert_only_docstrings_changed

UNDOCUMENTED = "def area(width: float, height: float) -> float:\n    return width * height\n"


def test_commit_stops_with_docstrings_then_goes_through(tmp_path, env, hook_repo):
    # The default config: the shipped model, from the package pre-commit installed.
    repo = user_repo(tmp_path / "user", env, hook_repo, config="[tool.docucode]\n")
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
    repo = user_repo(tmp_path / "user", env, hook_repo, hook_id="docucode-check")
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


def test_try_repo_on_this_checkout(tmp_path, env, hook_repo):
    repo = tmp_path / "user"
    repo.mkdir()
    _run(["git", "init", "-q"], repo, env)
    (repo / "pyproject.toml").write_text(TEMPLATE_CONFIG)
    (repo / "geometry.py").write_text(UNDOCUMENTED)
    _run(["git", "add", "-A"], repo, env)
    # The snapshot of this checkout at its commit: the same (repo, rev) as the other tests, so
    # pre-commit reuses their hook environment instead of building one more.
    repo_path, rev = hook_repo
    done = _run([*PRE_COMMIT, "try-repo", str(repo_path), "docucode", "--ref", rev, "--all-files"], repo, env, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_only_docstrings_changed(UNDOCUMENTED, (repo / "geometry.py").read_text())
