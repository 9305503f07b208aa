"""Round-trip the fix mode over a large real tree and prove no file was corrupted.

Copies every ``.py`` file of a tree (default: this interpreter's site-packages) to a temp
directory, runs the pipeline's fix mode over all of them, then checks each file: it still
parses, its AST equals the original's modulo docstrings, its comments are all there, its
encoding, BOM and newline style are unchanged, and a second run changes nothing.

    python bench/roundtrip.py                       # whole site-packages, template backend
    python bench/roundtrip.py --limit 500           # a quick run
    python bench/roundtrip.py SRC --backend model   # the shipped model (slow on CPU)
    python bench/roundtrip.py SRC --jobs 16 --backend model --model-limit 300 --json out.json
                                                    # 300 files (spread over the tree) with the
                                                    # model, the rest with the template backend

Exit status: 0 clean, 1 any corrupted file or crash. A file the tool refuses is not a
failure when the original itself cannot be processed (undecodable, syntax error, LibCST
cannot parse it); any other refusal is.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import multiprocessing
import re
import shutil
import sys
import sysconfig
import tempfile
import time
import tokenize
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

# Runs from a checkout without installing the package (e.g. a bare Python with only libcst and
# docstring-parser on PYTHONPATH); an installed docucode_hook is used when there is one.
try:
    import docucode_hook  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from docucode_hook.config import RUNTIMES, Config, load_mapping  # noqa: E402
from docucode_hook.fileio import SourceError, SourceFile, read_source  # noqa: E402
from docucode_hook.pipeline import fix_paths  # noqa: E402
from docucode_hook.docstrings.verify import UnsafeEdit, assert_only_docstrings_changed  # noqa: E402

# Refusals caused by the original file, not by our edit: these are skips, not failures.
_ORIGINAL_FAULTS = (
    "syntax error",
    "LibCST cannot parse it",
    "LibCST does not reproduce this file",
    "not valid",
    "binary file",
    "bad coding cookie",
)
_NEWLINES = re.compile(r"\r\n|\r|\n")


@dataclass
class Tally:
    """Counts for a set of files; ``failures`` holds one ``path: reason`` line per bad file."""

    files: int = 0
    changed: int = 0
    documented: int = 0
    skipped: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)  # e.g. the model backend fell back to the template
    by_template: int = 0  # with the model backend: definitions the template documented instead

    def add(self, other: "Tally") -> None:
        """Fold another tally's counts into this one."""
        self.files += other.files
        self.changed += other.changed
        self.documented += other.documented
        self.skipped.update(other.skipped)
        self.failures += other.failures
        self.warnings.update(other.warnings)
        self.by_template += other.by_template

    def as_json(self) -> dict:
        """The counts for ``--json``: failures split into corrupted, crashes and refused usable files."""
        kinds = Counter(_failure_kind(line) for line in self.failures)
        return {
            "files": self.files, "changed": self.changed, "documented": self.documented,
            "skipped": dict(self.skipped), "corrupted": kinds["corrupted"], "crashes": kinds["crash"],
            "refused_usable": kinds["refused"], "failures": self.failures, "warnings": dict(self.warnings),
            "by_template": self.by_template,
        }


# The pipeline's warning when the model gave no usable text for some definitions.
_FELL_BACK = re.compile(r"(\d+) function\(s\) fell back to the template backend")


def _failure_kind(line: str) -> str:
    return "corrupted" if ": CORRUPTED: " in line else "crash" if ": CRASH: " in line else "refused"


def bench_config(backend: str, overrides: dict | None = None) -> Config:
    """Every definition counts: no skip rules that would hide files or functions from the edit.

    ``overrides`` are further config keys for the model backend (its runtime, its batch size).
    """
    return load_mapping({
        "backend": backend, "cache": False, "skip_tests": False, "skip_private": False,
        "skip_dunder": False, "skip_nested": False, "include_classes": True, "include_modules": True,
        "refresh_stale": True, **(overrides or {}),
    })


def _skip_reason(error: str) -> str | None:
    """A short reason when ``error`` comes from the original file itself, else None."""
    for reason in _ORIGINAL_FAULTS:
        if reason in error:
            return reason
    return None


def _newline_kinds(text: str) -> set[str]:
    return set(_NEWLINES.findall(text))


def _comments(text: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [tok.string for tok in tokens if tok.type == tokenize.COMMENT]


def corruption(original: bytes, path: Path) -> str | None:
    """Why the rewritten file at ``path`` is not a faithful copy of ``original`` (None if it is)."""
    before, after = read_source_bytes(original, path), read_source(path)
    try:
        assert_only_docstrings_changed(before.text, after.text)
    except UnsafeEdit as exc:
        return str(exc)
    if (after.encoding, after.bom) != (before.encoding, before.bom):
        return f"encoding {before.encoding}/bom={before.bom} became {after.encoding}/bom={after.bom}"
    # A file without any line break (often empty) takes the default "\n".
    if _newline_kinds(before.text) and not _newline_kinds(after.text) <= _newline_kinds(before.text):
        return f"new newline style {sorted(_newline_kinds(after.text) - _newline_kinds(before.text))!r}"
    if _comments(after.text) != _comments(before.text):
        return "comments changed"
    return None


def read_source_bytes(raw: bytes, path: Path) -> SourceFile:
    """Decode ``raw`` the way read_source decodes a file (through a scratch copy)."""
    scratch = path.with_name(f".{path.name}.orig")
    scratch.write_bytes(raw)
    try:
        return read_source(scratch)
    finally:
        scratch.unlink()


def _processable(raw: bytes) -> str | None:
    """None when the original can be used, else why not (it is then a skip, not a failure)."""
    try:
        ast.parse(raw)
    except SyntaxError:
        return "syntax error"
    except ValueError:
        return "binary file"
    return None


def _check_file(path: Path, original: bytes, root: Path, config: Config, error: str | None) -> Tally:
    tally = Tally(files=1)
    if error is not None:
        reason = _skip_reason(error) or _processable(original)
        if reason is not None and path.read_bytes() == original:
            tally.skipped[reason] += 1
        else:
            tally.failures.append(f"{path}: refused a usable file: {error}")
        return tally
    if path.read_bytes() == original:
        return tally
    tally.changed = 1
    try:
        problem = corruption(original, path)
    except (SourceError, SyntaxError, tokenize.TokenError) as exc:
        problem = f"cannot read the result back: {exc}"
    if problem is None:
        again = fix_paths([path], root, config, write=False)[0]
        if again.error or again.diff:
            problem = f"second run not a no-op: {again.error or again.diff[:200]!r}"
    if problem is not None:
        tally.failures.append(f"{path}: CORRUPTED: {problem}")
    return tally


def _fix_chunk(paths: Sequence[Path], root: Path, config: Config) -> Tally:
    """Fix a chunk in one pipeline call (so batching is exercised); attribute a crash per file."""
    originals = {path: path.read_bytes() for path in paths}
    tally = Tally()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = fix_paths(paths, root, config)
        # A model that fails to load or to answer falls back to the template: count it, or the
        # "model" numbers would silently be template numbers.
        # Digits are masked so that equal warnings count together; the reason after them stays.
        tally.warnings.update(re.sub(r"\d+", "…", str(w.message))[:200] for w in caught)
        tally.by_template += sum(int(m[1]) for w in caught if (m := _FELL_BACK.match(str(w.message))))
    except Exception:
        if len(paths) == 1:
            tally.files = 1
            tally.failures.append(f"{paths[0]}: CRASH: {traceback.format_exc(limit=-3)!r}")
            return tally
        for path in paths:  # restore and redo one by one to find the file that crashes
            path.write_bytes(originals[path])
            tally.add(_fix_chunk([path], root, config))
        return tally
    for path, result in zip(paths, results):
        tally.add(_check_file(path, originals[path], root, config, result.error))
        tally.documented += result.written
    return tally


def _worker(job: tuple[list[str], str, str, dict]) -> Tally:
    names, root, backend, overrides = job
    return _fix_chunk([Path(name) for name in names], Path(root), bench_config(backend, overrides))


def copy_tree(source: Path, target: Path, limit: int | None, start: int = 0) -> list[Path]:
    """Copy the ``.py`` files of ``source`` (sorted, from the ``start``-th, at most ``limit``) under ``target``."""
    files = sorted(p for p in source.rglob("*.py") if p.is_file() and not p.is_symlink())
    copied = []
    for path in files[start : None if limit is None else start + limit]:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied.append(destination)
    return copied


def model_subset(paths: Sequence[Path], limit: int | None) -> list[Path]:
    """``limit`` paths spread evenly over the (sorted) tree, so the model sees many packages."""
    if limit is None or limit >= len(paths):
        return list(paths)
    step = len(paths) / max(limit, 1)
    return [paths[int(i * step)] for i in range(limit)]


def run(paths: Sequence[Path], root: Path, backend: str, jobs: int, chunk: int, overrides: dict | None = None) -> Tally:
    """Fix and check every path, ``chunk`` files per pipeline call, on ``jobs`` processes."""
    if not paths:
        return Tally()
    work = [([str(p) for p in paths[i : i + chunk]], str(root), backend, overrides or {})
            for i in range(0, len(paths), chunk)]
    total = Tally()
    # spawn: a fresh interpreter per worker, as a real hook process would be.
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        for tally in pool.imap_unordered(_worker, work):
            total.add(tally)
            for line in tally.failures:
                print(f"  {line}", flush=True)
            # A long run shows where it is, so a stopped run still leaves numbers behind.
            print(f"progress: {total.files}/{len(paths)} files, {total.documented} docstrings, "
                  f"{len(total.failures)} failures", flush=True)
    return total


def report(tally: Tally, seconds: float) -> str:
    """The counts as printed and pasted into docs/reliability.md."""
    lines = [
        f"files                 {tally.files}",
        f"files changed         {tally.changed}",
        f"docstrings written    {tally.documented}",
        f"skipped (original unusable) {sum(tally.skipped.values())}",
        *(f"  {reason:<28}{count}" for reason, count in tally.skipped.most_common()),
        f"failures              {len(tally.failures)}",
        *(f"  {kind:<28}{count}" for kind, count in sorted(Counter(map(_failure_kind, tally.failures)).items())),
        *(f"  {line}" for line in tally.failures[:50]),
        *(f"warning ({count}x): {message}" for message, count in tally.warnings.most_common()),
        *([f"  of the docstrings, the template wrote {tally.by_template}"] if tally.by_template else []),
        f"seconds               {seconds:.0f}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Copy, fix, check, print the counts; exit 1 on any corruption or crash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    parser.add_argument("--backend", choices=("template", "model"), default="template")
    parser.add_argument("--limit", type=int, help="only the first N files (sorted by path)")
    parser.add_argument("--start", type=int, default=0, help="skip the first N files (sorted by path): with "
                        "--limit, a long run splits into parts")
    parser.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--chunk", type=int, default=64, help="files per pipeline call")
    parser.add_argument("--model-limit", type=int, help="with --backend model: only N files (spread over the "
                        "tree) use the model, the rest the template backend")
    parser.add_argument("--model-only", action="store_true", help="with --model-limit: skip the template files")
    parser.add_argument("--model-jobs", type=int, default=1, help="processes for the model files (each loads the model)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto",
                        help="the model backend's runtime (transformers runs it on the GPU when there is one)")
    parser.add_argument("--batch-size", type=int, help="the model backend's batch size (default: the config's)")
    parser.add_argument("--json", type=Path, help="also write the counts (per backend and in total) to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp copy and print where it is")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="docucode-roundtrip-"))
    tally = Tally()
    try:
        paths = copy_tree(args.source.resolve(), workdir, args.limit, args.start)
        model_keys = {"runtime": args.runtime, **({"batch_size": args.batch_size} if args.batch_size else {})}
        on_model = set(model_subset(paths, args.model_limit)) if args.backend == "model" else set()
        if args.model_only and on_model:
            paths = sorted(on_model)
        print(f"roundtrip: {len(paths)} files from {args.source} ({len(on_model)} with the model backend "
              f"on {args.model_jobs} jobs, {len(paths) - len(on_model)} with the template backend on {args.jobs} jobs)")
        parts = {}
        for backend, part, jobs in (("model", on_model, args.model_jobs), ("template", set(paths) - on_model, args.jobs)):
            if part:
                start = time.perf_counter()
                part_tally = run(sorted(part), workdir, backend, jobs, args.chunk,
                                 model_keys if backend == "model" else None)
                parts[backend] = {**part_tally.as_json(), "seconds": round(time.perf_counter() - start, 1)}
                print(f"--- {backend} backend\n{report(part_tally, parts[backend]['seconds'])}")
                tally.add(part_tally)
        seconds = sum(part["seconds"] for part in parts.values())
        if len(parts) > 1:
            print(f"--- total\n{report(tally, seconds)}")
        if args.json:
            summary = {
                "source": str(args.source), "start": args.start, "limit": args.limit, "jobs": args.jobs,
                "chunk": args.chunk, "model_jobs": args.model_jobs, "model_config": model_keys,
                "model_limit": args.model_limit if args.backend == "model" else 0, "python": sys.version.split()[0],
                "cpus": multiprocessing.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                "total": {**tally.as_json(), "seconds": round(seconds, 1)}, "backends": parts,
            }
            args.json.write_text(json.dumps(summary, indent=2) + "\n")
            print(f"roundtrip: counts written to {args.json}")
    finally:
        if args.keep:
            print(f"roundtrip: copy kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
