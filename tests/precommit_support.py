"""Running git and the real ``pre-commit`` from tests (the fixtures that use this live in conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

CHECKOUT = Path(__file__).resolve().parents[1]
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def run(args: Sequence[str], cwd: Path, env: Mapping[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run ``args`` in ``cwd``; with ``check``, fail with both outputs on a non-zero exit."""
    done = subprocess.run(list(args), cwd=cwd, env=dict(env), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done
