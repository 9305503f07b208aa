"""The project's own .pre-commit-config.yaml, run by the real pre-commit in a snapshot of this checkout."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from precommit_support import PRE_COMMIT, run


def _own_env(env: dict[str, str], repo: Path) -> dict[str, str]:
    # The hooks are `language: system` and run `python -m docucode_hook`: this interpreter, the snapshot's source.
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "PYTHONPATH": str(repo / "src")}


def test_own_check_hook_runs_and_finds_nothing_stale(env, hook_repo) -> None:
    """The check hook runs on the package's own code; anything it reports is a missing docstring, never a stale one."""
    repo, _ = hook_repo
    done = run([*PRE_COMMIT, "run", "docucode-check", "--all-files"], repo, _own_env(env, repo), check=False)
    output = done.stdout + done.stderr
    assert "docucode (check docstrings)" in output, output
    findings = [line for line in output.splitlines() if ": DCU" in line]
    assert all(": DCU100 " in line and line.startswith("src/docucode_hook/") for line in findings), output
    assert done.returncode == (1 if findings else 0), output


def test_own_check_hook_passes(env, hook_repo) -> None:
    """`pre-commit run --all-files` passes on this project: every public definition is documented."""
    repo, _ = hook_repo
    done = run([*PRE_COMMIT, "run", "--all-files"], repo, _own_env(env, repo), check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_own_fix_hook_runs_only_on_demand(env, hook_repo) -> None:
    """The fix hook is in the manual stage: a plain run never writes to the project's files."""
    repo, _ = hook_repo
    done = run([*PRE_COMMIT, "run", "docucode", "--all-files"], repo, _own_env(env, repo), check=False)
    assert "No hook with id `docucode` in stage `pre-commit`" in done.stdout + done.stderr
    assert run(["git", "status", "--porcelain"], repo, env).stdout == ""
