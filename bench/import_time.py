"""What the hook's default path imports, and how long that takes: ``python -X importtime`` on a real run.

The hook runs once over a file with two undocumented functions, with the shipped model on
CTranslate2 (converted beforehand, untimed, as on any run after the first). The table sums
``-X importtime``'s own time of each module by top-level package; torch and transformers
must be absent::

    python bench/import_time.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Sequence

SOURCE = '''import json


def load_settings(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def is_empty(items: list) -> bool:
    return not items
'''
# "import time: self [us] | cumulative | imported package", indented by nesting depth.
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")
HEAVY = ("torch", "transformers")


def seconds_by_package(stderr: str) -> dict[str, float]:
    """Import seconds per top-level package: the "self" time of every module in it, wherever imported."""
    seconds: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if match := _LINE.match(line):
            seconds[match.group(4).split(".")[0]] += int(match.group(1)) / 1e6
    return dict(seconds)


def all_imports(stderr: str) -> set[str]:
    return {match.group(4).split(".")[0] for line in stderr.splitlines() if (match := _LINE.match(line))}


def run_once(project: Path, env: dict) -> tuple[dict[str, float], set[str]]:
    (project / "settings.py").write_text(SOURCE)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "docucode_hook", "--no-cache", "settings.py"],
                          cwd=project, env=env, capture_output=True, text=True)
    if done.returncode != 1 or "docucode: warning" in done.stderr:
        raise SystemExit(f"unexpected hook result ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds_by_package(done.stderr), all_imports(done.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="docucode-imports-"))
    env = {**os.environ, "DOCUCODE_CACHE_DIR": str(work / "cache")}
    (work / "project").mkdir()
    (work / "project" / "pyproject.toml").write_text("[tool.docucode]\n")
    run_once(work / "project", env)  # converts the shipped model: once per machine, untimed
    runs = [run_once(work / "project", env) for _ in range(args.repeat)]
    shutil.rmtree(work, ignore_errors=True)

    imported = set.union(*(names for _, names in runs))
    heavy = [name for name in HEAVY if name in imported]
    totals = [sum(seconds.values()) for seconds, _ in runs]
    print(f"docucode over 2 functions, shipped model: all imports {statistics.median(totals):.3f} s "
          f"(median of {args.repeat}: {', '.join(f'{t:.3f}' for t in totals)}); torch/transformers imported: "
          f"{', '.join(heavy) or 'neither'}\n")
    packages = {name: statistics.median(seconds.get(name, 0.0) for seconds, _ in runs) for name in runs[0][0]}
    print("| package | seconds, median |\n|---|---:|")
    for name, value in sorted(packages.items(), key=lambda item: -item[1])[:12]:
        print(f"| {name} | {value:.3f} |")
    return 1 if heavy else 0


if __name__ == "__main__":
    raise SystemExit(main())
