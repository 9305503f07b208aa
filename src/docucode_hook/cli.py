"""The ``docucode`` command: fix, ``--diff`` or ``--check`` Python files."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from docucode_hook import __version__
from docucode_hook.backends import RepeatedWarning
from docucode_hook.config import BACKENDS, STYLES, ConfigError, find_project_root, load_config
from docucode_hook.pipeline import FileResult, Progress, WrittenDocstring, check_paths, fix_paths

# More files than this and a backfill is under way: show progress and a summary, not each function.
HANDFUL = 5
DESCRIPTION = "Write missing docstrings in Python files, show them as a diff, or check docstring coverage."
NEXT_STEP = "docucode: review the changes (git diff), then git add and commit again"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docucode", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("paths", nargs="*", help="files or directories (default: every tracked *.py)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; report findings, exit 1 on any")
    mode.add_argument("--diff", action="store_true", help="print a unified diff, write nothing")
    parser.add_argument("--style", choices=STYLES,
                        help="docstring style (default auto: the one the repository declares or uses)")
    parser.add_argument("--convert", action="store_true",
                        help="only rewrite docstrings in another style into the file's style, losing no word")
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
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print a table of every file and each docstring written")
    parser.add_argument("--explain", action="store_true",
                        help="per docstring written, which parts the backend wrote, which were derived from "
                             "the code, and which were dropped and why")
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


def _coverage(documented: int, total: int) -> float:
    return 100.0 * documented / total if total else 100.0


def _summary_rows(results: Sequence[FileResult], args: argparse.Namespace) -> list[tuple[str, ...]]:
    """The header and one row per file: path, documented, total, findings (or written), status."""
    written, changed = ("would write", "would change") if args.diff else ("written", "changed")
    rows = [("file", "documented", "total", "findings" if args.check else written, "status")]
    for r in results:
        status = "error" if r.error else (changed if r.changed else "ok")
        count = len(r.findings) if args.check else r.written
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


def _summary_table(results: Sequence[FileResult], args: argparse.Namespace) -> None:
    """The per-file table on stderr: rich on a terminal, plain text otherwise (CI logs, pipes).

    Rendering 2,912 rows with rich took about 3 s in the main process after the scan, and
    when stderr is not a terminal rich cuts long paths to 80 columns anyway.
    """
    rows = _summary_rows(results, args)
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


def _tally(counts: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.most_common())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# Docstrings that were there before: they change the count of what was written, not the coverage.
_MADE = {"refresh": "refreshed", "convert": "converted"}


def _styles_line(results: Sequence[FileResult]) -> str | None:
    """Which style the files got and why: one reason where the repository decides, else per kind."""
    chosen = Counter((r.style.style.value, r.style.reason) for r in results if r.style is not None)
    if not chosen:
        return None
    if len(chosen) == 1:
        (style, reason), n = next(iter(chosen.items()))
        return f"docucode: style {style} ({reason}), {_plural(n, 'file')}"
    per_style = Counter(r.style.style.value for r in results if r.style is not None)
    return f"docucode: style per file: {_tally(per_style)} (each file's reason: --explain, --format json)"


def _summary(results: Sequence[FileResult], args: argparse.Namespace, failed: bool) -> list[str]:
    """A few lines read at a glance: files, docstrings (who wrote them), skips, coverage."""
    documented = sum(r.documented for r in results)
    total = sum(r.total for r in results)
    errors = sum(r.error is not None for r in results)
    files = _plural(len(results), "file") + (f", {_plural(errors, 'error')}" if errors else "")
    skipped = Counter(reason for r in results for reason in r.skipped)
    lines = []
    if args.check:
        findings = Counter(f.code for r in results for f in r.findings)
        lines.append(f"docucode: {files} checked: " + (
            f"{_plural(sum(findings.values()), 'finding')} ({_tally(findings)})" if findings else "no findings"))
    else:
        changed = sum(r.changed for r in results)
        written, change = ("would write", "would change") if args.diff else ("written", "changed")
        docstrings = [d for r in results for d in r.docstrings]
        makers = Counter(_MADE.get(d.by, f"by the {d.by}") for d in docstrings)
        lines.append(f"docucode: {files}, {changed} {change}: {_plural(len(docstrings), 'docstring')} {written}"
                     + (f" ({_tally(makers)})" if makers else ""))
        stand_ins = Counter(d.reason for d in docstrings if d.reason)
        if stand_ins:
            lines.append(f"docucode: the template stood in for {sum(stand_ins.values())}: {_tally(stand_ins)}")
        added = sum(d.by not in _MADE for d in docstrings)
        left = sum(len(r.unconverted) for r in results)
        if left:
            lines.append(f"docucode: left {_plural(left, 'docstring')} in another style as they are (reasons above)")
    if skipped:
        lines.append(f"docucode: skipped {sum(skipped.values())} (rules in [tool.docucode]): {_tally(skipped)}")
    if not failed:  # the figure would leave out the files that could not be read
        before = f"{_coverage(documented, total):.1f}%"
        if args.check:
            lines.append(f"docucode: coverage {before} ({documented}/{total} documented)")
        else:
            after = documented + added
            lines.append(f"docucode: coverage {before} → {_coverage(after, total):.1f}% "
                         f"({documented}/{total} → {after}/{total} documented)")
    return lines


def _say(lines: Sequence[str]) -> None:
    """Lines on stderr; on a terminal through rich, which highlights the numbers."""
    if not sys.stderr.isatty():
        sys.stderr.write("".join(line + "\n" for line in lines))
        return
    from rich.console import Console

    console = Console(stderr=True, markup=False)
    for line in lines:
        console.print(line)


_NOTES = {"refresh": " (sections refreshed)", "convert": " (converted)"}


def _wrote(r: FileResult, explain: bool = False) -> list[str]:
    """What a stopped commit shows for one file: the count, then each function and its writer
    (with ``explain``, each part's origin)."""
    comments = f" and {r.commented} comment(s)" if r.commented else ""
    lines = [f"docucode: wrote {r.written} docstring(s){comments} in {r.path}"]
    if explain and r.style is not None:
        lines.append(f"  style {r.style.style.value}: {r.style.reason}")
    for d in r.docstrings:
        note = f" (template: {d.reason})" if d.reason else _NOTES.get(d.by, "")
        lines.append(f"  {r.path}:{d.line} {d.name}{note}")
        if explain:
            lines += [f"    {line}" for line in _explained(d)]
    return lines


def _explained(d: WrittenDocstring) -> list[str]:
    """One line per part: ``summary: model``, ``param n: derived (restates the parameter's name)``."""
    from docucode_hook.precision.prose import BACKEND

    return [f"{part.part}: {d.by if part.origin == BACKEND else part.origin}" + (f" ({part.reason})" if part.reason else "")
            for part in d.parts]


def _docstring_json(d: WrittenDocstring) -> dict[str, object]:
    entry = {key: value for key, value in d.__dict__.items() if key != "parts"}
    entry["parts"] = [part.__dict__ for part in d.parts]
    return entry


def _json(results: Sequence[FileResult], args: argparse.Namespace, errors: list[str], code: int) -> str:
    documented, total = sum(r.documented for r in results), sum(r.total for r in results)
    files = []
    for r in results:
        entry = {"path": r.path, "documented": r.documented, "total": r.total, "written": r.written,
                 "comments": r.commented, "changed": r.changed, "error": r.error,
                 "style": {"style": r.style.style.value, "reason": r.style.reason} if r.style else None,
                 "unconverted": [{"line": line, "reason": reason} for line, reason in r.unconverted]}
        if not args.check:
            entry["docstrings"] = [_docstring_json(d) for d in r.docstrings]
        if args.diff:
            entry["diff"] = r.diff
        files.append(entry)
    payload = {
        "files": files,
        "findings": [f.__dict__ for r in results for f in r.findings] if args.check else [],
        "errors": errors + [f"{r.path}: {r.error}" for r in results if r.error],
        "coverage": round(_coverage(documented, total), 2),
        "exit_code": code,
    }
    return json.dumps(payload, indent=2)


def _report(
    results: Sequence[FileResult], args: argparse.Namespace, fail_under: float, errors: list[str], root: Path
) -> int:
    coverage = _coverage(sum(r.documented for r in results), sum(r.total for r in results))
    below = args.check and coverage < fail_under
    failed = bool(errors) or any(r.error for r in results)
    if args.check:
        flagged = below or any(r.findings for r in results)
    else:
        flagged = any(r.changed for r in results)
    code = 2 if failed else int(flagged)
    if args.format == "json":
        print(_json(results, args, errors, code))
        return code
    large = len(results) > HANDFUL
    for message in errors:
        print(f"docucode: error: {message}", file=sys.stderr)
    for r in results:
        for line, reason in r.unconverted:
            print(f"{r.path}:{line}: not converted: {reason}", file=sys.stderr)
        if r.error:
            print(f"{r.path}: error: {r.error}", file=sys.stderr)
        elif args.check:
            for f in r.findings:
                print(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}")
        elif args.diff:
            sys.stdout.write(r.diff)
            if args.explain and r.changed:
                sys.stderr.write("".join(line + "\n" for line in _wrote(r, explain=True)[1:]))
        elif r.changed and not args.quiet and (args.verbose or args.explain or not large):
            sys.stderr.write("".join(line + "\n" for line in _wrote(r, args.explain)))
    if not args.quiet:
        if args.verbose and results:
            _summary_table(results, args)
        if (args.verbose or args.explain) and (styles := _styles_line(results)):
            _say([styles])
        if large or args.check:
            _say(_summary(results, args, failed))
    written = [r.path for r in results if r.changed and not args.check and not args.diff]
    if written and not args.quiet:
        print(NEXT_STEP, file=sys.stderr)
    if written:
        from docucode_hook.precommit import stash_conflicts

        for path in stash_conflicts(written, root):
            print(f"docucode: warning: {path}: unstaged edits next to the new docstrings; pre-commit will undo "
                  "the docstrings (stage the file first, see README: Unstaged edits)", file=sys.stderr)
    if below and not failed:
        print(f"docucode: coverage {coverage:.1f}% is below fail-under {fail_under:g}%", file=sys.stderr)
    return code


def _show_warning(message, *_args, **_kwargs) -> None:
    print(f"docucode: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``docucode`` command line and return its exit code (0, 1 or 2)."""
    # One line per warning, and the caller's warning display restored afterwards.
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        # Python's default filter shows a message once per place: a backend's second failure
        # worded like its first must still be shown.
        warnings.simplefilter("always", RepeatedWarning)
        return _main(argv)


def run() -> int:
    """The console script and ``python -m docucode_hook``: ``main``, for a process that exits right after."""
    code = main()
    # At exit the interpreter's cyclic collector walks every object still alive, most of them
    # LibCST's and the backends' module state: 40-60 ms of each commit's wait on the 2-core
    # machine. Frozen objects are left out of that walk; the process's memory goes back whole.
    gc.freeze()
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.convert and args.check:
        parser.error("--convert rewrites docstrings and --check writes nothing: use one (--check reports DCU105)")
    root = find_project_root(Path.cwd())
    try:
        config = load_config(args.config, root, _overrides(args))
    except ConfigError as exc:
        parser.error(str(exc))  # exit 2
    if config.thresholds is not None:  # a bad gates file is a usage error, found before any work
        from docucode_hook.precision.confidence import ThresholdsError, configured_thresholds

        try:
            configured_thresholds(config.thresholds)
        except ThresholdsError as exc:
            parser.error(str(exc))

    from docucode_hook.paths import select_paths

    paths, errors = select_paths(args.paths, root, config)
    if args.check:
        results = check_paths(paths, root, config)
    else:
        show = len(paths) > HANDFUL and not args.quiet and args.format == "text" and sys.stderr.isatty()
        with _progress(show and not args.convert) as bar:
            results = fix_paths(paths, root, config, write=not args.diff, progress_factory=_progress_factory(bar),
                                convert_only=args.convert)
    return _report(results, args, config.fail_under, errors, root)


if __name__ == "__main__":
    raise SystemExit(run())
