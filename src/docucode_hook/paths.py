"""Turn command-line paths into the Python files to process, honouring include/exclude and test globs."""

from __future__ import annotations

import subprocess
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterable, Sequence

from docucode_hook.config import Config


def git_files(directory: Path, *options: str) -> list[Path] | None:
    """Files git lists under ``directory`` (relative to it), or None when it is not in a git work tree."""
    try:
        result = subprocess.run(
            ["git", "ls-files", "-z", *options],
            cwd=directory,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:  # git is not installed
        return None
    if result.returncode != 0:
        return None
    return [directory / name for name in result.stdout.decode("utf-8", errors="surrogateescape").split("\0") if name]


def _walk(directory: Path) -> list[Path]:
    listed = git_files(directory, "--cached", "--others", "--exclude-standard")
    if listed is not None:
        return sorted(listed)
    # Outside git there is no ignore file to read; hidden folders (.venv, .tox) are never source.
    return sorted(
        p for p in directory.rglob("*.py") if not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def _relative_posix(path: Path, resolved_root: Path) -> str:
    try:
        return path.resolve().relative_to(resolved_root).as_posix()
    except ValueError:  # outside the project: match on the path as given
        return path.as_posix()


def _matches(relative: str, patterns: Iterable[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch(relative, pattern) or fnmatch(name, pattern) for pattern in patterns)


def _wanted(path: Path, resolved_root: Path, config: Config) -> bool:
    relative = _relative_posix(path, resolved_root)
    if not _matches(relative, config.include) or _matches(relative, config.exclude):
        return False
    return not (config.skip_tests and _matches(relative, config.test_globs))


def _candidates(args: Sequence[str], root: Path) -> tuple[list[Path], list[str]]:
    if not args:
        tracked = git_files(root)
        if tracked is None:
            return [], [f"{root}: not a git repository; pass the files or directories to process"]
        return tracked, []
    found: list[Path] = []
    errors: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found += _walk(path)
        elif path.is_file():
            found.append(path)
        else:
            errors.append(f"{arg}: no such file or directory")
    return found, errors


def select_paths(args: Sequence[str], root: Path, config: Config) -> tuple[list[Path], list[str]]:
    """The Python files to process and one error message per unusable argument.

    No ``args``: every tracked file of the git repository at ``root``. Globs are matched on
    the POSIX path relative to ``root`` and on the bare file name, also for files named
    explicitly (pre-commit passes filenames, and excludes must still hold).
    """
    candidates, errors = _candidates(args, root)
    # Only .py: a .pyi stub has no bodies to document; tracked files may be deleted on disk.
    resolved_root = root.resolve()  # once, not once per file (a realpath walk each time)
    selected = [p for p in candidates if p.suffix == ".py" and p.is_file() and _wanted(p, resolved_root, config)]
    return list(dict.fromkeys(selected)), errors
