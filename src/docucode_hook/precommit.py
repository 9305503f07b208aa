"""What the hook can learn about the pre-commit run it is part of."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Sequence

_FAILED = re.compile(r"^error: patch failed: (.+):\d+$", re.M)


def _store() -> Path:
    """pre-commit's cache directory, found the way pre-commit finds it."""
    if home := os.environ.get("PRE_COMMIT_HOME"):
        return Path(home)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pre-commit"


def stash_conflicts(written: Sequence[str], root: Path) -> list[str]:
    """The files of ``written`` whose fixes pre-commit will roll back after the hook.

    With unstaged edits, pre-commit saves them as a patch in its cache directory (named
    ``patch<time>-<pid of pre-commit>``), runs the hooks on the staged content, then applies
    the patch again. When the patch no longer applies over a hook's edit, pre-commit undoes
    the hook's edits. ``git apply --check`` of that patch says now whether that will happen.
    Outside pre-commit, or with no unstaged edits, there is nothing to find.
    """
    if os.environ.get("PRE_COMMIT") != "1" or not written:
        return []
    try:
        patches = sorted(_store().glob(f"patch*-{os.getppid()}"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return []
    if not patches:
        return []
    patch = str(patches[-1])
    stderr = ""
    # pre-commit retries with autocrlf off when the first attempt fails; so does this check.
    for options in ((), ("-c", "core.autocrlf=false")):
        done = subprocess.run(["git", *options, "apply", "--check", "--whitespace=nowarn", patch],
                              cwd=root, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return []
        stderr += done.stderr
    failed = set(_FAILED.findall(stderr))
    if not failed:  # git said something else: blame the written files the patch touches
        text = Path(patch).read_text(encoding="utf-8", errors="replace")
        failed = {path for path in written if f"\n+++ b/{path}\n" in text}
    return [path for path in written if path in failed]


__all__ = ["stash_conflicts"]
