"""Wall time of ``docucode --check`` against ``interrogate`` on one copy of a large tree, and the ratio.

interrogate lives in its own virtual environment so that it never touches the project's::

    python3 -m venv .venv-bench && .venv-bench/bin/pip install interrogate
    .venv/bin/python bench/check_speed.py                      # the installed transformers, 3 runs each
    .venv/bin/python bench/check_speed.py --tree PATH --repeat 5

The tree is copied (``*.py`` only) into a temporary directory, so that no ``.gitignore`` or
``pyproject.toml`` of this repository plays a role and both tools walk the same files. Each
run is a cold process, as in CI; the table gives the median and the minimum of whole-command
wall times. Both tools print a per-file table, as they would in a CI log: ``interrogate -v``
its own, ``docucode -v`` its plain-text one (its stderr is a pipe here, not a terminal).
Results are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]

# Count what interrogate counts by default (every module, class, function and method, tests
# included), so that docucode's skip rules do not buy it speed or coverage.
FAIR_CONFIG = """\
skip_tests = false
skip_private = false
skip_dunder = false
skip_nested = false
skip_overload = false
skip_property_setters = false
include_classes = true
include_modules = true
"""

_DOCUCODE_COVERAGE = re.compile(r"docucode: coverage ([\d.]+)%")
_INTERROGATE_COVERAGE = re.compile(r"actual: ([\d.]+)%")


@dataclass(frozen=True)
class Args:
    tree: Path
    repeat: int
    interrogate: Path
    docucode: Path


@dataclass(frozen=True)
class Timing:
    tool: str
    command: tuple[str, ...]
    files: int
    coverage: float
    seconds: tuple[float, ...]
    cpu_seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        """Median wall seconds: one slow run on a busy machine does not move it."""
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        """Median CPU seconds (user + system, worker processes included): the work, whatever the load."""
        return statistics.median(self.cpu_seconds)


class BenchError(Exception):
    """A missing tool or tree, or a run that failed; reported as one line, exit 2."""


def _default_tree() -> Path:
    spec = importlib.util.find_spec("transformers")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return Path("transformers-not-installed")
    return Path(spec.origin).parent


def _parse_args(argv: Sequence[str] | None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=_default_tree(), help="package directory to check")
    parser.add_argument("--repeat", type=int, default=3, help="cold runs of each tool")
    parser.add_argument("--interrogate", type=Path, default=REPO / ".venv-bench" / "bin" / "interrogate")
    parser.add_argument("--docucode", type=Path, default=Path(sys.executable).with_name("docucode"))
    ns = parser.parse_args(argv)
    if ns.repeat < 1:
        parser.error("--repeat must be at least 1")
    return Args(ns.tree, ns.repeat, ns.interrogate.absolute(), ns.docucode.absolute())


def _require(args: Args) -> None:
    if not args.tree.is_dir():
        raise BenchError(f"{args.tree}: no such directory to benchmark on")
    hint = "python3 -m venv .venv-bench && .venv-bench/bin/pip install interrogate"
    if not args.interrogate.is_file():
        raise BenchError(f"{args.interrogate}: interrogate not found (install it with: {hint})")
    if not args.docucode.is_file():
        raise BenchError(f"{args.docucode}: docucode not found (pip install -e . in this venv)")


def _copy_python_files(source: Path, target: Path) -> int:
    """Copy every ``*.py`` below ``source``; hidden folders are kept (neither tool is asked to skip them)."""
    def not_python(directory: str, names: list[str]) -> list[str]:
        return [n for n in names if n == "__pycache__" or (not n.endswith(".py") and not Path(directory, n).is_dir())]

    shutil.copytree(source, target, ignore=not_python)
    return sum(1 for _ in target.rglob("*.py"))


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: Sequence[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall and CPU seconds of one cold run, and the run; exit 0 or 1 (findings) is success."""
    cpu, start = _cpu_of_children(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - start, _cpu_of_children() - cpu
    if done.returncode not in (0, 1):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BenchError(f"{' '.join(command)}: exit {done.returncode}: {tail[0]}")
    return seconds, cpu, done


def _interrogate_files(output: str) -> int:
    """Rows of interrogate's ``-v`` table, less its header and TOTAL rows."""
    rows = [line for line in output.splitlines() if line.startswith("| ")]
    return sum(1 for row in rows if not row.startswith(("| Name ", "| TOTAL ")))


def _docucode_files(args: Args, config: Path, tree: Path) -> int:
    """docucode's own file count, from one untimed ``--format json`` run."""
    _, _, done = _run([str(args.docucode), "--check", "--config", str(config), "--format", "json", "."], tree)
    return len(json.loads(done.stdout)["files"])


def _coverage(pattern: re.Pattern[str], output: str, tool: str) -> float:
    match = pattern.search(output)
    if match is None:
        raise BenchError(f"{tool}: no coverage figure in its output")
    return float(match.group(1))


@dataclass(frozen=True)
class _Runs:
    seconds: tuple[float, ...] = ()
    cpu_seconds: tuple[float, ...] = ()
    output: str = ""  # the last run's stdout and stderr


def _time(commands: dict[str, Sequence[str]], tree: Path, repeat: int) -> dict[str, _Runs]:
    """Run the tools in turns, so that a change in machine load falls on both alike."""
    runs = {tool: _Runs() for tool in commands}
    for index in range(repeat):
        for tool, command in commands.items():
            elapsed, cpu, done = _run(command, tree)
            before = runs[tool]
            runs[tool] = _Runs(before.seconds + (elapsed,), before.cpu_seconds + (cpu,), done.stdout + done.stderr)
            print(f"  {tool} run {index + 1}/{repeat}: {elapsed:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr)
    return runs


def measure(args: Args, workdir: Path) -> tuple[int, list[Timing]]:
    """Copy the tree into ``workdir`` and time both tools on it, one tool after the other in turns."""
    tree = workdir / "tree"
    copied = _copy_python_files(args.tree, tree)
    config = workdir / "docucode.toml"  # outside the tree: the tree itself holds no config
    config.write_text(FAIR_CONFIG, encoding="utf-8")
    docucode = (str(args.docucode), "--check", "-v", "--config", str(config), ".")
    interrogate = (str(args.interrogate), "-v", "--fail-under", "0", ".")
    runs = _time({"docucode": docucode, "interrogate": interrogate}, tree, args.repeat)
    d_runs, i_runs = runs["docucode"], runs["interrogate"]
    timings = [
        Timing("docucode --check", docucode, _docucode_files(args, config, tree),
               _coverage(_DOCUCODE_COVERAGE, d_runs.output, "docucode"), d_runs.seconds, d_runs.cpu_seconds),
        Timing("interrogate -v", interrogate, _interrogate_files(i_runs.output),
               _coverage(_INTERROGATE_COVERAGE, i_runs.output, "interrogate"), i_runs.seconds, i_runs.cpu_seconds),
    ]
    return copied, timings


def markdown(copied: int, timings: Sequence[Timing]) -> str:
    """The results table and the interrogate/docucode ratios of the medians."""
    lines = [
        f"tree: {copied} *.py files",
        "",
        "| tool | files | coverage % | wall s median | wall s min | CPU s median |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {t.tool} | {t.files} | {t.coverage:.1f} | {t.median:.2f} | {min(t.seconds):.2f} | {t.cpu_median:.2f} |"
        for t in timings
    ]
    docucode, interrogate = timings
    lines += [
        "",
        f"ratio interrogate/docucode (median wall): {interrogate.median / docucode.median:.2f}x",
        f"ratio interrogate/docucode (median CPU): {interrogate.cpu_median / docucode.cpu_median:.2f}x",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the Markdown table and the ratio; exit 2 with one line when a tool or run fails."""
    args = _parse_args(argv)
    try:
        _require(args)
        with tempfile.TemporaryDirectory(prefix="check-speed-") as workdir:
            copied, timings = measure(args, Path(workdir))
    except BenchError as exc:
        print(f"check_speed: error: {exc}", file=sys.stderr)
        return 2
    print(markdown(copied, timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
