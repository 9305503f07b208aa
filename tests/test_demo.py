"""`make demo` runs the hook where its closing advice can be followed: a throw-away git repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def test_demo_leaves_a_repository_where_git_diff_add_and_commit_work(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "DOCUCODE_CACHE_DIR": str(tmp_path / "cache")}
    command = f"{sys.executable} -m docucode_hook --backend template"
    done = subprocess.run(["sh", str(CHECKOUT / "examples" / "demo.sh"), command, str(demo)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert "docucode: review the changes (git diff), then git add and commit again" in done.stderr
    assert f"make demo: {demo} is a git repository" in done.stdout
    # The diff it printed is the repository's own: the docstrings against the committed example.
    diff = subprocess.run(["git", "diff"], cwd=demo, env=env, capture_output=True, text=True, check=True).stdout
    assert diff and diff in done.stdout and '+    """Load the inventory.' in diff
    # ... and the advice can be followed there.
    subprocess.run(["git", "add", "inventory.py"], cwd=demo, env=env, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-q", "-m", "docstrings"],
                   cwd=demo, env=env, check=True)
    log = subprocess.run(["git", "log", "--oneline"], cwd=demo, env=env, capture_output=True, text=True).stdout
    assert len(log.splitlines()) == 2


def test_the_makefile_demo_runs_the_script() -> None:
    makefile = (CHECKOUT / "Makefile").read_text(encoding="utf-8")
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "examples/demo.sh" in demo and "$(VENV)/bin/docucode" in demo
