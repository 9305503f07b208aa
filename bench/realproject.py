"""A published project end to end: its sdist in git, ``pre-commit run --all-files`` with the hook, its tests.

    python bench/realproject.py more-itertools           # pip download --no-binary :all: --no-deps
    python bench/realproject.py path/to/pkg-1.0.tar.gz   # an sdist already on disk

The project's own test suite runs before and after the backfill; the pytest summary line
(passed/failed/skipped counts) must be identical. Exit status 0 when it is, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Sequence

CHECKOUT = Path(__file__).resolve().parents[1]
_SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|error).*?) in [\d.]+s", re.MULTILINE)


def _run(args: Sequence[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        tail = f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{tail}")
    return done


def git_env(home: Path) -> dict[str, str]:
    """An environment with its own pre-commit home and a throwaway git identity."""
    return {
        **os.environ, "PRE_COMMIT_HOME": str(home / "pre-commit"), "DOCUCODE_CACHE_DIR": str(home / "docucode"),
        "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com", "GIT_CONFIG_GLOBAL": os.devnull,
    }


def snapshot_hook_repo(target: Path, env: dict[str, str]) -> str:
    """This checkout's working tree as a git repo pre-commit can fetch; returns its revision."""
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], CHECKOUT, env).stdout.split("\0")
    for name in filter(None, listed):
        if (CHECKOUT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(CHECKOUT / name, target / name)
    for args in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "snapshot"]):
        _run(args, target, env)
    return _run(["git", "rev-parse", "HEAD"], target, env).stdout.strip()


def fetch_sdist(spec: str, directory: Path) -> Path:
    """``spec`` if it is a file, else the sdist pip downloads for that requirement."""
    if Path(spec).is_file():
        return Path(spec)
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", str(directory)]
    subprocess.run([*pip, spec], check=True)
    return next(directory.glob("*.tar.gz"))


def project_repo(sdist: Path, directory: Path, hook: tuple[Path, str], env: dict[str, str]) -> Path:
    """The unpacked sdist as a committed git repo configured to use the hook (template backend)."""
    with tarfile.open(sdist) as archive:
        archive.extractall(directory, filter="data")
    repo = next(p for p in directory.iterdir() if p.is_dir())
    with open(repo / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[tool.docucode]\nbackend = "template"\n')
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook[0]}\n    rev: {hook[1]}\n    hooks:\n      - id: docucode\n"
    )
    for args in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "sdist"]):
        _run(args, repo, env)
    return repo


def suite_summary(repo: Path, env: dict[str, str]) -> str:
    """The project's own pytest summary ("765 passed, ..."), without the timing."""
    done = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], repo, env, check=False)
    found = _SUMMARY.findall(done.stdout)
    return found[-1] if found else f"no summary (exit {done.returncode})"


def run(spec: str, workdir: Path) -> dict[str, object]:
    """Backfill the project and compare its test results; the numbers for docs/reliability.md."""
    env = git_env(workdir)
    hook_dir, project_dir = workdir / "hook", workdir / "project"
    hook_dir.mkdir()
    project_dir.mkdir()
    hook = (hook_dir, snapshot_hook_repo(hook_dir, env))
    repo = project_repo(fetch_sdist(spec, workdir), project_dir, hook, env)
    before = suite_summary(repo, env)
    backfill = _run([sys.executable, "-m", "pre_commit", "run", "--all-files"], repo, env, check=False)
    changed = _run(["git", "diff", "--numstat"], repo, env).stdout.splitlines()
    again = _run([sys.executable, "-m", "pre_commit", "run", "--all-files"], repo, env, check=False)
    after = suite_summary(repo, env)
    return {
        "project": repo.name, "tests_before": before, "tests_after": after,
        "backfill_exit": backfill.returncode, "second_run_exit": again.returncode,
        "files_changed": len(changed), "lines_added": sum(int(line.split()[0]) for line in changed),
        "lines_removed": sum(int(line.split()[1]) for line in changed),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the result; exit 1 unless the tests match and the second run is clean."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default="more-itertools", help="requirement or sdist path")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="docucode-realproject-"))
    try:
        result = run(args.spec, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for key, value in result.items():
        print(f"{key:<18}{value}")
    same = result["tests_before"] == result["tests_after"]
    clean = result["backfill_exit"] in (0, 1) and result["second_run_exit"] == 0
    return 0 if same and clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
