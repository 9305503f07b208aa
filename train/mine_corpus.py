"""Mine the package cache of ``train.corpus`` at scale: per package, resumable, then one finalize.

Commands::

    # mine every package folder not mined yet, 2 at a time, following the download for up
    # to 30 minutes without news (re-run to resume)
    python -m train.mine_corpus mine --cache data/corpus-cache --out data/mined --workers 2 --follow 1800
    # filter, dedup across packages, split by package, write the corpus, its stats and the split lists
    python -m train.mine_corpus finalize --out data/mined --cache data/corpus-cache

``mine`` treats every folder of ``<cache>/src`` that the cache's ``manifest.jsonl`` kept as one
package root (a small site-packages), with the licence the manifest recorded for it. Each
package is mined once, in a worker, and written to ``<out>/packages/<name>/``:
``functions.jsonl.gz`` (every function ``train.mine.mine_file`` yields, documented or not),
``comments.jsonl.gz`` (its comment pairs) and, last, ``done.json`` (counts): a package
with ``done.json`` is never mined again, so a killed run resumes where it stopped. Test
files are not mined (the filters would drop all their functions). The packages of the
validation and test splits go first, so that a run cut short by time still has a full
evaluation split; then the rest, most-downloaded first.

``finalize`` runs ``train.mine``'s filters package by package (in workers), then removes
copies across packages (vendored code: the original wins, as in ``train.mine.dedup``),
assigns each package to a split and writes under ``<out>/corpus/``: train/validation/test
.jsonl (both tasks), code.jsonl (stage A: train packages), code-validation.jsonl, stats.md
and stats.json. The split lists ``train/splits/v3-{train,validation,test}.txt`` are read
first (a listed package keeps its split) and written back with every package mined, so the
split is reproducible and a package added later never moves an old one.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import pickle
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from docucode_hook.code.records import Style
from docucode_hook.backends.prompt import COMMENT_TASK, DOCSTRING_TASK
from train.args import arg, parse_command
from train.licences import PERMISSIVE
from train.mine import (
    CODE_COLUMNS,
    RECORD_COLUMNS,
    SPLITS,
    Funnel,
    Limits,
    collect_sources,
    comment_frame,
    dedup,
    filter_comments,
    filter_records,
    function_frame,
    is_test_path,
    mine_file,
    select_code,
    split_of,
)

SPLIT_DIR = Path(__file__).parent / "splits"
SPLIT_NAME = "v3"
# By package: a test split of 8% keeps a few hundred packages for the evaluation.
RATIOS = (0.90, 0.02, 0.08)
DONE = "done.json"
FILTERED = "filtered.pkl"


# --------------------------------------------------------------------------- mine (per package)


@dataclass(frozen=True)
class PackageRoot:
    name: str
    root: Path
    licence: str


def package_roots(cache: Path) -> list[PackageRoot]:
    """The kept packages of a ``train.corpus`` cache whose folder exists, most-downloaded first.

    Rank order, so that a run stopped early has mined the packages that matter most.
    """
    manifest = cache / "manifest.jsonl"
    kept: dict[str, tuple[int, str]] = {}
    if manifest.exists():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row["kept"]:
                    kept[row["name"]] = (row["rank"], row["licence"])
    src = cache / "src"
    order = sorted(kept, key=lambda name: kept[name][0])
    return [PackageRoot(name, src / name, kept[name][1]) for name in order if (src / name).is_dir()]


def _write_rows(path: Path, rows: Iterable[dict]) -> None:
    # Level 1: the rows are read once, by finalize; CPU is the scarce resource here.
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def mine_package(package: PackageRoot, out: Path, style: Style, max_file_bytes: int) -> dict[str, Any]:
    """Mine one package root into ``out/<name>/``; the counts that ``done.json`` records.

    Every file belongs to the package whose folder holds it (a wheel may ship several
    top-level modules) and carries the licence the corpus manifest checked.
    """
    started = time.perf_counter()
    target = out / package.name
    partial_dir = out / f".{package.name}.partial"
    shutil.rmtree(partial_dir, ignore_errors=True)
    partial_dir.mkdir(parents=True)
    found = [replace(f, package=package.name, licence=package.licence) for f in collect_sources([package.root])]
    # The filters drop every function of a test file: not mining them saves a sixth of the CPU
    # (pandas alone ships 25k test functions).
    files = [f for f in found if not is_test_path(f.rel)]
    functions: list[dict] = []
    comments: list[dict] = []
    skipped: Counter[str] = Counter()
    for file in files:
        result = mine_file(file, style, max_file_bytes)
        functions += result.rows
        comments += result.comments
        if result.error:
            skipped[result.error.split(":", 1)[0]] += 1
    _write_rows(partial_dir / "functions.jsonl.gz", functions)
    _write_rows(partial_dir / "comments.jsonl.gz", comments)
    counts = {
        "package": package.name,
        "licence": package.licence,
        "files": len(files),
        "test_files": len(found) - len(files),
        "skipped_files": dict(skipped),
        "functions": len(functions),
        "documented": sum(row["docstring"] is not None for row in functions),
        "comments": len(comments),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (partial_dir / DONE).write_text(json.dumps(counts) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial_dir.rename(target)
    return counts


def mine_all(
    cache: Path,
    out: Path,
    workers: int,
    style: Style,
    max_file_bytes: int,
    limit: int | None = None,
    first: Callable[[str], bool] = lambda name: False,
    follow_s: float = 0.0,
) -> Iterable[dict[str, Any]]:
    """Mine every package of the cache without a ``done.json`` yet; yields each one's counts.

    Packages for which ``first(name)`` holds go first (the evaluation splits), then by rank.
    The cache is read again every few dozen packages, so packages downloaded meanwhile join
    in; with ``follow_s`` the run waits that long for new ones before it ends.
    """
    packages_dir = out / "packages"
    packages_dir.mkdir(parents=True, exist_ok=True)
    work = partial(mine_package, out=packages_dir, style=style, max_file_bytes=max_file_bytes)
    # A fresh worker now and then: one huge package must not keep its memory for the rest of the run.
    pool = multiprocessing.get_context().Pool(workers, maxtasksperchild=50) if workers > 1 else None
    mined, idle_since = 0, time.monotonic()
    try:
        while limit is None or mined < limit:
            roots = package_roots(cache)
            rank = {p.name: i for i, p in enumerate(roots)}
            todo = sorted((p for p in roots if not (packages_dir / p.name / DONE).exists()),
                          key=lambda p: (not first(p.name), rank[p.name]))
            todo = todo[: min(4 * max(workers, 1) * 5, (limit - mined) if limit is not None else len(todo))]
            if not todo:
                if time.monotonic() - idle_since >= follow_s:
                    return
                time.sleep(min(30.0, follow_s))
                continue
            for counts in (pool.imap_unordered(work, todo) if pool else map(work, todo)):
                mined += 1
                yield counts
            idle_since = time.monotonic()
    finally:
        if pool is not None:
            pool.terminate()


# --------------------------------------------------------------------------- finalize


def _read_rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@dataclass(frozen=True)
class PackageResult:
    counts: dict[str, Any]
    docstrings: pd.DataFrame
    comments: pd.DataFrame
    code: pd.DataFrame
    funnel: Funnel
    comment_funnel: Funnel


def filter_package(directory: Path, limits: Limits) -> PackageResult:
    """``train.mine``'s filters, dedup within the package and per-package cap, on one mined package."""
    counts = json.loads((directory / DONE).read_text(encoding="utf-8"))
    functions = function_frame(_read_rows(directory / "functions.jsonl.gz"))
    docstrings, funnel = filter_records(functions, limits)
    comments, comment_funnel = filter_comments(comment_frame(_read_rows(directory / "comments.jsonl.gz")), limits)
    code = select_code(functions, limits)
    code_columns = ["package", "path", "lineno", "qualname", "body_hash", "code"]
    return PackageResult(
        counts, docstrings.drop(columns=["docstring", "code"]), comments, code[code_columns], funnel, comment_funnel
    )


def filtered_package(directory: Path, limits: Limits) -> PackageResult:
    """``filter_package``, read back from ``filtered.pkl`` when an earlier step saved it with the same limits.

    ``train.shards prepare`` filters each package as soon as it is mined (to tokenize it);
    finalize then only gathers.
    """
    cached = directory / FILTERED
    if cached.is_file():
        try:
            with cached.open("rb") as handle:
                saved = pickle.load(handle)
        except (AttributeError, ModuleNotFoundError, pickle.UnpicklingError, EOFError):
            saved = {}  # written by an older layout of these classes: filter again
        if saved.get("limits") == limits:
            return saved["result"]
    result = filter_package(directory, limits)
    partial_path = cached.with_suffix(".partial")
    with partial_path.open("wb") as handle:
        pickle.dump({"limits": limits, "result": result}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial_path.replace(cached)
    return result


def _sum_funnels(funnels: list[Funnel]) -> Funnel:
    if not funnels:
        return []
    return [(step, sum(f[i][1] for f in funnels)) for i, (step, _) in enumerate(funnels[0])]


def read_split_lists(directory: Path, name: str) -> dict[str, str]:
    """package -> split from ``<name>-<split>.txt`` files (one package a line), where they exist."""
    pinned: dict[str, str] = {}
    for split in SPLITS:
        path = directory / f"{name}-{split}.txt"
        if path.exists():
            pinned.update({line.strip(): split for line in path.read_text(encoding="utf-8").splitlines() if line.strip()})
    return pinned


def write_split_lists(directory: Path, name: str, split: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for which in SPLITS:
        names = sorted(package for package, chosen in split.items() if chosen == which)
        (directory / f"{name}-{which}.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")


@dataclass(frozen=True)
class FinalizeArgs:
    out: Path
    workers: int = 2
    style: Style = Style.GOOGLE
    cache: Path | None = None  # the train.corpus cache: its kept packages all go into the split lists
    split_dir: Path = SPLIT_DIR
    split_name: str = SPLIT_NAME
    ratios: tuple[float, float, float] = RATIOS
    limits: Limits = Limits()


def finalize(args: FinalizeArgs) -> dict[str, Any]:
    """Filter every mined package, dedup across packages, split, write ``out/corpus``; the stats."""
    started = time.perf_counter()
    # A ".name.partial" folder is a package whose run was killed: it is mined again next time.
    directories = sorted(d for d in (args.out / "packages").iterdir() if not d.name.startswith(".") and (d / DONE).exists())
    work = partial(filtered_package, limits=args.limits)
    with multiprocessing.get_context().Pool(max(1, args.workers), maxtasksperchild=100) as pool:
        results = list(pool.imap(work, directories, chunksize=4))
    funnel = _sum_funnels([r.funnel for r in results])
    comment_funnel = _sum_funnels([r.comment_funnel for r in results])
    docstrings = pd.concat([r.docstrings for r in results], ignore_index=True)
    comments = pd.concat([r.comments for r in results], ignore_index=True)
    code = pd.concat([r.code for r in results], ignore_index=True)
    # Vendored copies of one package inside others: the same body under several packages.
    kept = dedup(docstrings)
    funnel.append(("duplicate body across packages", len(docstrings) - len(kept)))
    docstrings = kept
    kept = dedup(comments)
    comment_funnel.append(("duplicate block and comment across packages", len(comments) - len(kept)))
    comments = kept.assign(summary=kept["completion"], source_style=COMMENT_TASK)
    code_before = len(code)
    code = dedup(code)

    pinned = read_split_lists(args.split_dir, args.split_name)
    packages = [r.counts["package"] for r in results]
    # The lists hold every kept package of the cache, mined or not: a package mined later
    # finds its split already written.
    listed = set(packages) | ({p.name for p in package_roots(args.cache)} if args.cache else set())
    split = {package: split_of(package, args.ratios, pinned) for package in sorted(listed)}
    write_split_lists(args.split_dir, args.split_name, split)

    records = pd.concat([docstrings.assign(task=DOCSTRING_TASK), comments], ignore_index=True)
    records = records.assign(split=records["package"].map(split), style=args.style.value)
    records = records.sort_values(["package", "path", "lineno"]).reset_index(drop=True)
    code = code.assign(split=code["package"].map(split)).sort_values(["package", "path", "lineno"])

    corpus = args.out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for which in SPLITS:
        _write_jsonl(records[records["split"] == which][list(RECORD_COLUMNS)], corpus / f"{which}.jsonl")
    _write_jsonl(code[code["split"] == "train"][list(CODE_COLUMNS)], corpus / "code.jsonl")
    _write_jsonl(code[code["split"] == "validation"][list(CODE_COLUMNS)], corpus / "code-validation.jsonl")

    counts = [r.counts for r in results]
    skipped: Counter[str] = Counter()
    for c in counts:
        skipped.update(c["skipped_files"])
    by_split = records.groupby(["split", "task"]).agg(packages=("package", "nunique"), records=("package", "size"))
    code_by_split = code.groupby("split").agg(
        packages=("package", "nunique"), functions=("code", "size"), chars=("code", lambda s: int(s.str.len().sum()))
    )
    stats = {
        "packages_mined": len(counts),
        "packages_by_split": dict(Counter(split[p] for p in packages)),
        "packages_listed_by_split": dict(Counter(split.values())),
        "files": sum(c["files"] for c in counts),
        "test_files_not_mined": sum(c.get("test_files", 0) for c in counts),
        "skipped_files": dict(skipped),
        "functions": sum(c["functions"] for c in counts),
        "documented_functions": sum(c["documented"] for c in counts),
        "comments_above_blocks": sum(c["comments"] for c in counts),
        "docstring_funnel": funnel,
        "comment_funnel": comment_funnel,
        "records": {f"{s}/{t}": int(n) for (s, t), n in by_split["records"].items()},
        "code_rows_before_cross_package_dedup": code_before,
        "code": {s: {k: int(v) for k, v in row.items()} for s, row in code_by_split.to_dict("index").items()},
        "licences": records.groupby("licence")["package"].nunique().to_dict(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (corpus / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    (corpus / "stats.md").write_text(_stats_markdown(stats, by_split, code_by_split), encoding="utf-8")
    return stats


def _write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    # json, not DataFrame.to_json: pandas escapes every "/" in code and paths.
    with path.open("w", encoding="utf-8") as handle:
        for row in frame.to_dict("records"):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _table(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _stats_markdown(stats: dict[str, Any], by_split: pd.DataFrame, code_by_split: pd.DataFrame) -> str:
    sections = [
        "# Mined corpus (v3)",
        f"{stats['packages_mined']:,} packages, {stats['files']:,} files "
        f"({sum(stats['skipped_files'].values()):,} skipped; {stats['test_files_not_mined']:,} test files "
        f"not mined), {stats['functions']:,} functions "
        f"({stats['documented_functions']:,} documented), {stats['comments_above_blocks']:,} comments above blocks.",
        "## Packages by split\n" + _table(
            [(s, stats["packages_by_split"].get(s, 0), stats["packages_listed_by_split"].get(s, 0)) for s in SPLITS],
            ["split", "packages mined", "packages listed"],
        ),
        "## Files skipped\n" + _table(sorted(stats["skipped_files"].items()), ["reason", "files"]),
        "## Filters (documented functions)\n" + _table(stats["docstring_funnel"], ["step", "rows"]),
        "## Filters (inline comments)\n" + _table(stats["comment_funnel"], ["step", "rows"]),
        "## Records\n" + _table(by_split.reset_index().itertuples(index=False), ["split", "task", "packages", "records"]),
        "## Stage A (functions, documented or not)\n"
        + f"{stats['code_rows_before_cross_package_dedup']:,} rows before dedup across packages.\n\n"
        + _table(code_by_split.reset_index().itertuples(index=False), ["split", "packages", "functions", "chars"]),
        "## Licences (packages with records)\n" + _table(sorted(stats["licences"].items()), ["licence", "packages"]),
    ]
    return "\n\n".join(sections) + "\n"


# --------------------------------------------------------------------------- CLI


_STYLES = tuple(style.value for style in Style)


@dataclass(frozen=True, kw_only=True)
class MineCommand:
    """Mine every package of the cache not mined yet."""

    cache: Path = arg(help="train.corpus cache (manifest.jsonl, src/)")
    out: Path = arg()
    workers: int = arg(2)
    limit: int | None = arg(None, help="at most N packages in this run")
    max_file_bytes: int = arg(1_000_000, help="skip larger files (mostly generated)")
    follow: float = arg(0.0, metavar="SECONDS", help="wait this long for new downloads before ending")
    style: str = arg(Style.GOOGLE.value, choices=_STYLES)
    split_dir: Path = arg(SPLIT_DIR, help="split lists: their test and validation packages (and those the split "
                                          "function sends there) are mined first")
    split_name: str = arg(SPLIT_NAME)


@dataclass(frozen=True, kw_only=True)
class FinalizeCommand:
    """Filter, dedup across packages, split, write out/corpus."""

    out: Path = arg()
    cache: Path | None = arg(None, help="train.corpus cache: list its unmined packages too")
    workers: int = arg(2)
    split_dir: Path = arg(SPLIT_DIR, help="where the split lists live")
    split_name: str = arg(SPLIT_NAME)
    max_functions_per_package: int | None = arg(None)
    style: str = arg(Style.GOOGLE.value, choices=_STYLES)


def main(argv: Sequence[str] | None = None) -> int:
    command, args = parse_command({"mine": MineCommand, "finalize": FinalizeCommand}, argv,
                                  prog="python -m train.mine_corpus", description=__doc__.splitlines()[0])
    style = Style(args.style)
    if command == "mine":
        if not (args.cache / "manifest.jsonl").is_file():
            print(f"error: {args.cache}/manifest.jsonl: not a train.corpus cache", file=sys.stderr)
            return 2
        done = functions = 0
        started = time.perf_counter()
        pinned = read_split_lists(args.split_dir, args.split_name)

        def evaluation(name: str) -> bool:
            return split_of(name, RATIOS, pinned) != "train"

        mined = mine_all(args.cache, args.out, args.workers, style, args.max_file_bytes, args.limit, evaluation, args.follow)
        for counts in mined:
            done += 1
            functions += counts["functions"]
            print(f"{done} {counts['package']}: {counts['files']} files, {counts['functions']} functions "
                  f"in {counts['seconds']}s ({functions / (time.perf_counter() - started):,.0f} functions/s)", flush=True)
        print(f"{args.out}: mined {done} packages, {functions} functions", file=sys.stderr)
        return 0
    if not (args.out / "packages").is_dir():
        print(f"error: {args.out}/packages: nothing mined yet", file=sys.stderr)
        return 2
    limits = Limits(max_functions_per_package=args.max_functions_per_package)
    stats = finalize(FinalizeArgs(args.out, args.workers, style, args.cache, args.split_dir, args.split_name,
                                  limits=limits))
    print(json.dumps({k: stats[k] for k in ("packages_mined", "files", "functions", "records", "code")}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
