"""Find the ruff executable the tests run: the one installed beside this Python by the test extra."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def ruff_executable() -> Path:
    """``$DOCUCODE_RUFF``, ruff beside this Python, or ruff on the PATH; fails the test (never skips) when missing."""
    override = os.environ.get("DOCUCODE_RUFF")
    candidates = [Path(override)] if override else [Path(sys.executable).with_name("ruff")]
    if not override and (found := shutil.which("ruff")):
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(
        "ruff not found beside this Python or on the PATH; install the test extra (pip install -e '.[test]')"
        " or set DOCUCODE_RUFF to a ruff executable",
        pytrace=False,
    )
