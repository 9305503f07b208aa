"""The ``docucode`` command: fix, ``--diff`` or ``--check`` Python files."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from docucode_hook.config import BACKENDS, ConfigError, find_project_root, load_config
from docucode_hook.pipeline import FileResult, Progress, check_paths, fix_paths

# More files than this and a backfill is under way: show progress and a summary table.
HANDFUL = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docucode", description=__doc__)
    parser.add_argument("paths", nargs="*", help="files or directories (default: every tracked *.py)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; report findings, exit 1 on any")
    mode.add_argument("--diff", action="store_true", help="print a unified diff, write nothing")
    parser.add_argument("--style", choices=["google", "numpy", "sphinx"])
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument("--model", help="model directory or hub id (default: the shipped model)")
    parser.add_argument("--adapter", help="PEFT LoRA adapter directory")
    parser.add_argument("--config", type=Path, help="TOML file (default: pyproject.toml at the project root)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--fail-under", type=float, help="minimum docstring coverage in percent")
    parser.add_argument("--no-cache", dest="cache", action="store_const", const=False)
    parser.add_argument("--offline", action="store_const", const=True, help="never reach a model hub")
    parser.add_argument("--refresh-stale", action="store_const", const=True, help="rewrite stale sections")
    parser.add_argument(
        "--comments", action=argparse.BooleanOptionalAction, help="also write inline comments above complex blocks"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings and errors only")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    keys = ("style", "backend", "model", "adapter", "batch_size", "fail_under", "cache", "offline")
    found = {key: getattr(args, key) for key in keys}
    found["refresh_stale"], found["comments"] = args.refresh_stale, args.comments
    return found


@contextmanager
def _progress(enabled: bool) -> Iterator[object]:
    """A rich progress bar (functions and functions/s) on stderr for backfills, else nothing."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("documenting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[rate]}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield bar


def _progress_factory(bar: object):
    if bar is None:
        return None

    def factory(total: int) -> Progress:
        task = bar.add_task("documenting", total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:.1f} functions/s" if speed else "")

        return advance

    return factory


def _coverage(results: Sequence[FileResult]) -> tuple[int, int, float]:
    documented = sum(r.documented for r in results)
    total = sum(r.total for r in results)
    return documented, total, 100.0 * documented / total if total else 100.0


def _summary_rows(results: Sequence[FileResult], check: bool) -> list[tuple[str, ...]]:
    """The header and one row per file: path, documented, total, findings (or written), status."""
    rows = [("file", "documented", "total", "findings" if check else "written", "status")]
    for r in results:
        status = "error" if r.error else ("changed" if r.changed else "ok")
        count = len(r.findings) if check else r.written
        rows.append((r.path, str(r.documented), str(r.total), str(count), status))
    return rows


def _plain_table(rows: Sequence[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, paths never cut: for logs and pipes."""
    widths = [max(map(len, column)) for column in zip(*rows)]
    lines = [
        "  ".join(cell.rjust(width) if 1 <= index <= 3 else cell.ljust(width)
                  for index, (cell, width) in enumerate(zip(row, widths))).rstrip()
        for row in rows
    ]
    return "\n".join(["docucode", *lines]) + "\n"


def _summary_table(results: Sequence[FileResult], check: bool) -> None:
    """The per-file table on stderr: rich on a terminal, plain text otherwise (CI logs, pipes).

    Rendering 2,912 rows with rich took about 3 s in the main process after the scan, and
    when stderr is not a terminal rich cuts long paths to 80 columns anyway.
    """
    rows = _summary_rows(results, check)
    if not sys.stderr.isatty():
        sys.stderr.write(_plain_table(rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="docucode")
    for column in rows[0]:
        table.add_column(column)
    for row in rows[1:]:
        table.add_row(*row)
    Console(stderr=True).print(table)


def _report(results: Sequence[FileResult], args: argparse.Namespace, fail_under: float, errors: list[str]) -> int:
    documented, total, coverage = _coverage(results)
    below = args.check and coverage < fail_under
    failed = bool(errors) or any(r.error for r in results)
    if args.check:
        flagged = below or any(r.findings for r in results)
    else:
        flagged = any(r.changed for r in results)
    code = 2 if failed else int(flagged)
    if args.format == "json":
        payload = {
            "files": [
                {"path": r.path, "documented": r.documented, "total": r.total, "written": r.written,
                 "comments": r.commented, "changed": r.changed, "error": r.error}
                for r in results
            ],
            "findings": [f.__dict__ for r in results for f in r.findings] if args.check else [],
            "errors": errors + [f"{r.path}: {r.error}" for r in results if r.error],
            "coverage": round(coverage, 2),
            "exit_code": code,
        }
        print(json.dumps(payload, indent=2))
        return code
    for message in errors:
        print(f"docucode: error: {message}", file=sys.stderr)
    for r in results:
        if r.error:
            print(f"{r.path}: error: {r.error}", file=sys.stderr)
        elif args.check:
            for f in r.findings:
                print(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}")
        elif args.diff:
            sys.stdout.write(r.diff)
        elif r.changed and not args.quiet:
            comments = f" and {r.commented} comment(s)" if r.commented else ""
            print(f"docucode: wrote {r.written} docstring(s){comments} in {r.path}", file=sys.stderr)
    if not args.quiet:
        if len(results) > HANDFUL:
            _summary_table(results, args.check)
        if args.check:
            print(f"docucode: coverage {coverage:.1f}% ({documented}/{total} documented)", file=sys.stderr)
    if below:
        print(f"docucode: coverage {coverage:.1f}% is below fail-under {fail_under:g}%", file=sys.stderr)
    return code


def _show_warning(message, *_args, **_kwargs) -> None:
    print(f"docucode: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    # One line per warning, and the caller's warning display restored afterwards.
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    root = find_project_root(Path.cwd())
    try:
        config = load_config(args.config, root, _overrides(args))
    except ConfigError as exc:
        parser.error(str(exc))  # exit 2

    from docucode_hook.paths import select_paths

    paths, errors = select_paths(args.paths, root, config)
    if args.check:
        results = check_paths(paths, root, config)
    else:
        show = len(paths) > HANDFUL and not args.quiet and args.format == "text" and sys.stderr.isatty()
        with _progress(show) as bar:
            results = fix_paths(paths, root, config, write=not args.diff, progress_factory=_progress_factory(bar))
    return _report(results, args, config.fail_under, errors)


if __name__ == "__main__":
    raise SystemExit(main())
