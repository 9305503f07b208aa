"""Running git and the real ``pre-commit`` from tests (the fixtures that use this live in conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

CHECKOUT = Path(__file__).resolve().parents[1]
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
TEMPLATE_CONFIG = '[tool.docucode]\nbackend = "template"\n'


def run(args: Sequence[str], cwd: Path, env: Mapping[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run ``args`` in ``cwd``; with ``check``, fail with both outputs on a non-zero exit."""
    done = subprocess.run(list(args), cwd=cwd, env=dict(env), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def user_repo(root: Path, env: Mapping[str, str], hook_repo: tuple[Path, str], hook_id: str = "docucode",
              config: str = TEMPLATE_CONFIG) -> Path:
    """A git repository at ``root`` whose pre-commit config runs ``hook_id`` from ``hook_repo`` (path, rev)."""
    repo_path, rev = hook_repo
    root.mkdir()
    run(["git", "init", "-q"], root, env)
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo_path}\n    rev: {rev}\n    hooks:\n      - id: {hook_id}\n"
    )
    (root / "pyproject.toml").write_text(config)
    return root
