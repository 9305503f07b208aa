"""Run pydoclint from its own virtual environment: installed in ours it would replace docstring_parser."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

PYDOCLINT_VENV = Path(__file__).resolve().parents[1] / ".venv-pydoclint"
SETUP_HINT = "python3 -m venv .venv-pydoclint && .venv-pydoclint/bin/pip install pydoclint"
_VIOLATION = re.compile(r"^\s*\d+: DOC\d+: .*$", re.MULTILINE)


def pydoclint_executable() -> Path:
    """``$DOCUCODE_PYDOCLINT`` or the venv's pydoclint; fails the test (never skips) when missing."""
    override = os.environ.get("DOCUCODE_PYDOCLINT")
    executable = Path(override) if override else PYDOCLINT_VENV / "bin" / "pydoclint"
    if not executable.is_file():
        pytest.fail(
            f"pydoclint not found at {executable}; create its venv from the repository root: {SETUP_HINT}"
            " (or set DOCUCODE_PYDOCLINT to a pydoclint executable)",
            pytrace=False,
        )
    return executable


def run_pydoclint(path: Path, style: str, options: dict[str, bool]) -> list[str]:
    """The violation lines pydoclint reports for ``path`` (empty when it is clean)."""
    flags = [f"--{name}={value}" for name, value in options.items()]
    # Run in the file's directory so that no pyproject.toml of ours configures it.
    result = subprocess.run(
        [str(pydoclint_executable()), "--quiet", f"--style={style}", *flags, path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    violations = [line.strip() for line in _VIOLATION.findall(output)]
    if result.returncode not in (0, 1) or (result.returncode == 1 and not violations):
        raise RuntimeError(f"pydoclint failed (exit {result.returncode}):\n{output}")
    return violations
