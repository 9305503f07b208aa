"""The far set: packages unlike the training corpus, drawn with a seed, to calibrate and judge on (issue 22).

Commands::

    # 1. draw: ranks 8,001-15,000 of the ranked package list, none of the corpus list, in a
    #    seeded order; fetch each with train.corpus (one wheel of the listed release) until 80
    #    are kept with a permissive licence and pure-Python sources; write the list
    python -m train.far_set draw --ranked /work/.library/env/packages/pypi.tsv --seed 0 --count 80 \\
        --cache data/far-cache --out train/splits/far.txt
    # 2. mine the listed packages with train.mine (into data/far-mined) and draw the seeded
    #    sample of public functions with their own docstrings
    python -m train.far_set sample --list train/splits/far.txt --cache data/far-cache --mined data/far-mined \\
        --count 100 --per-package 2 --seed 0 --out docs/eval/far-v1/sample.jsonl
    # 3. what each system writes for the sample (train.evaluate) and the blind sheets
    #    (train.blind_review); after a merge of main, this alone regenerates them
    python -m train.far_set review --sample docs/eval/far-v1/sample.jsonl --out docs/eval/far-v1 --sheets 6

Step 3 writes ``default/`` (the gates as shipped), ``all/`` (derived text for every part),
``off/`` (every part the model wrote, with its scores, for calibration) and ``blind/`` (the
sheets, with the package's own docstring as a fourth system, and ``key.csv``). After the gates
are calibrated on that review (``train.calibrate``), they are reviewed on other functions of
the same packages: a held-out sample (``sample --exclude`` the first) and the new default and
derived text with their sheets in a folder of its own::

    python -m train.far_set sample --count 100 --per-package 2 --seed 1 --exclude docs/eval/far-v1/sample.jsonl \\
        --out docs/eval/far-holdout/sample.jsonl
    python -m train.far_set review --sample docs/eval/far-holdout/sample.jsonl --out docs/eval/far-holdout \\
        --systems default derived --blind docs/eval/far-holdout/blind --sheets 6 --seed 2

Ranks 5,001-8,000 are kept for measuring the project: no range that touches them is read.
"""

from __future__ import annotations

import ast
import csv
import json
import random
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from docucode_hook.backends.prompt import TRUNCATED
from train.args import arg, parse_command
from train.data import OUTPUTS_FILE
from train.corpus import MAX_ARCHIVE_MB, PACKAGE_LIST, Outcome, Package, canonical_name, fetch_all, is_pure_python, read_manifest

FAR_LIST = Path(__file__).with_name("splits") / "far.txt"
CORPUS_MANIFEST = Path(__file__).resolve().parent.parent / "docs" / "corpus" / "manifest.jsonl"
RANK_COLUMN = "rank_among_15000_most_downloaded"
FAR_RANKS = (8001, 15000)
HELD_OUT_RANKS = (5001, 8000)  # kept for measuring the project: never drawn from
KEPT = "kept"
COMPILED = "compiled wheel"
LIST_COLUMNS = ("rank", "name", "version", "licence", "wheel")


class FarSetError(ValueError):
    """A list that cannot be read or a request the draw must refuse; one line naming the file or reason."""


# --------------------------------------------------------------------------- draw


def ranked_packages(path: Path, ranks: tuple[int, int] = FAR_RANKS) -> list[Package]:
    """The packages of a ranked list (name, version and download rank columns) within ``ranks``."""
    low, high = ranks
    if low <= HELD_OUT_RANKS[1] and high >= HELD_OUT_RANKS[0]:
        raise FarSetError(f"ranks {low}-{high} touch {HELD_OUT_RANKS[0]}-{HELD_OUT_RANKS[1]}, kept for measuring")
    packages = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            if RANK_COLUMN not in (reader.fieldnames or ()):
                raise FarSetError(f"{path}: no {RANK_COLUMN} column")
            for row in reader:
                rank = row[RANK_COLUMN]
                if rank and rank.isdigit() and low <= int(rank) <= high:
                    packages.append(Package(int(rank), row["name"], row["version"]))
    except OSError as error:
        raise FarSetError(f"{path}: {error.strerror or error}") from None
    return sorted(packages, key=lambda package: package.rank)


def corpus_names(package_list: Path = PACKAGE_LIST, manifest: Path = CORPUS_MANIFEST) -> set[str]:
    """Canonical names of every package of the corpus list and of its fetch manifest."""
    with package_list.open(encoding="utf-8") as handle:
        names = {row["name"] for row in csv.DictReader(handle, delimiter="\t")}
    if manifest.is_file():
        names |= {json.loads(line)["name"] for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()}
    return {canonical_name(name) for name in names}


def draw_order(candidates: Iterable[Package], exclude: set[str], seed: int) -> list[Package]:
    """The candidates less the excluded names, in rank order shuffled with ``seed``: the order they are tried in."""
    ordered = sorted((p for p in candidates if canonical_name(p.name) not in exclude), key=lambda p: p.rank)
    random.Random(seed).shuffle(ordered)
    return ordered


def verdict(outcome: Outcome) -> str:
    """``kept`` for a package the far set takes, else why not (train.corpus's reason, or a compiled wheel)."""
    if not outcome.kept:
        return outcome.reason
    return KEPT if is_pure_python(outcome.wheel) else COMPILED


@dataclass(frozen=True)
class Draw:
    tried: list[tuple[Package, Outcome]]  # in draw order, up to the last package taken
    kept: list[tuple[Package, Outcome]]


def draw(
    order: Sequence[Package], cache: Path, count: int, jobs: int = 4, chunk: int = 32,
    fetch: Callable[[Sequence[Package], Path], Iterable[Outcome]] | None = None,
) -> Draw:
    """The first ``count`` packages of ``order`` that are kept, fetching in order, ``chunk`` at a time.

    Every outcome is appended to ``cache/manifest.jsonl`` as it comes, so a second run fetches
    nothing it has; the result depends on the order alone, not on which download ended first.
    """
    fetch = fetch or (lambda packages, where: fetch_all(packages, where, jobs, budget=7200.0, max_mb=MAX_ARCHIVE_MB))
    cache.mkdir(parents=True, exist_ok=True)
    manifest = cache / "manifest.jsonl"
    tried: list[tuple[Package, Outcome]] = []
    kept: list[tuple[Package, Outcome]] = []
    done = read_manifest(manifest)
    for index, package in enumerate(order):
        if len(kept) == count:
            break
        if package.name not in done:
            todo = [p for p in order[index:] if p.name not in done][:chunk]
            with manifest.open("a", encoding="utf-8") as out:
                for outcome in fetch(todo, cache):
                    out.write(json.dumps(asdict(outcome)) + "\n")
            done = read_manifest(manifest)
            if package.name not in done:
                raise FarSetError(f"{package.name}: the fetch ended without an outcome (out of time?); run again")
        outcome = done[package.name]
        tried.append((package, outcome))
        if verdict(outcome) == KEPT:
            kept.append((package, outcome))
    return Draw(tried, kept)


def far_list_text(result: Draw, header: Sequence[str]) -> str:
    """``far.txt``: ``#`` lines on how it was drawn, the kept packages (TSV), then each one left out and why."""
    reasons = Counter(verdict(outcome) for _, outcome in result.tried if verdict(outcome) != KEPT)
    lines = [f"# {line}" if line else "#" for line in header]
    lines.append(f"# Tried {len(result.tried)} in that order to keep {len(result.kept)}; left out: "
                 + ", ".join(f"{reason} {n}" for reason, n in reasons.most_common()) + ".")
    lines.append("\t".join(LIST_COLUMNS))
    lines += ["\t".join((str(p.rank), p.name, p.version, o.licence, o.wheel)) for p, o in result.kept]
    lines += [f"# left out: {p.rank}\t{p.name}\t{p.version}\t{verdict(o)}" for p, o in result.tried if verdict(o) != KEPT]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class FarPackage:
    rank: int
    name: str
    version: str
    licence: str


def read_far_list(path: Path = FAR_LIST) -> list[FarPackage]:
    """The packages of a far list (``#`` lines skipped)."""
    try:
        rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    except OSError as error:
        raise FarSetError(f"{path}: {error.strerror or error}") from None
    reader = csv.DictReader(rows, delimiter="\t")
    if tuple(reader.fieldnames or ()) != LIST_COLUMNS:
        raise FarSetError(f"{path}: expected the columns {', '.join(LIST_COLUMNS)}")
    return [FarPackage(int(row["rank"]), row["name"], row["version"], row["licence"]) for row in reader]


# --------------------------------------------------------------------------- sample


def _function(code: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        module = ast.parse(code)
    except SyntaxError:
        return None
    node = module.body[0] if module.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def why_left_out(record: dict) -> str | None:
    """Why a mined docstring record is not sampled, or None: the sample is public functions a
    reviewer can judge whole, with a body worth a docstring."""
    qualname, path = record["qualname"], record["path"]
    if "<locals>" in qualname:
        return "nested function"
    if any(part.startswith("_") for part in qualname.split(".")):
        return "private or dunder name"
    modules = path.removesuffix(".py").split("/")
    if any(part.startswith("_") and part not in ("__init__", "__main__") for part in modules):
        return "private module"
    if TRUNCATED.strip() in record["code_snippet"]:
        return "code cut to fit the prompt"
    node = _function(record["code_snippet"])
    if node is None:
        return "code does not parse"
    body = node.body
    if len(body) == 1 and not isinstance(body[0], (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFor,
                                                   ast.AsyncWith, ast.Match)):
        return "one-line body"
    return None


def function_key(record: dict) -> tuple[str, str, str]:
    """What names one function across samples: its package, file and qualified name."""
    return record["package"], record["path"], record["qualname"]


def sample_functions(records: Sequence[dict], count: int, per_package: int, seed: int,
                     exclude: frozenset[tuple[str, str, str]] = frozenset()) -> tuple[list[dict], Counter[str]]:
    """A seeded sample of at most ``per_package`` functions a package, ``count`` in all, and why the others were left out.

    One function of every package first (packages in a seeded order), then a second of each,
    so the sample spreads over as many packages as it can. Functions in ``exclude`` (another
    sample's ``function_key``s) are left out, so a second sample holds only functions the
    first did not: gates chosen on one are tested on the other.
    """
    funnel: Counter[str] = Counter()
    by_package: dict[str, list[dict]] = {}
    for record in records:
        if record.get("task", "docstring") != "docstring":
            continue
        reason = "in an excluded sample" if function_key(record) in exclude else why_left_out(record)
        funnel[reason or "eligible"] += 1
        if reason is None:
            by_package.setdefault(record["package"], []).append(record)
    rng = random.Random(seed)
    packages = sorted(by_package)
    rng.shuffle(packages)
    for package in packages:
        rng.shuffle(by_package[package])
    chosen: list[dict] = []
    for turn in range(per_package):
        chosen += [by_package[p][turn] for p in packages if turn < len(by_package[p])][: count - len(chosen)]
    return sorted(chosen, key=lambda r: (r["package"], r["path"], r["qualname"])), funnel


def mine_far(packages: Sequence[FarPackage], cache: Path, out: Path, workers: int) -> Path:
    """Mine the packages' folders of the cache with train.mine, every package in one split; its JSONL file."""
    from docucode_hook.code.records import Style
    from train.mine import MineArgs, mine, write_outputs

    roots = tuple(cache / "src" / package.name for package in packages)
    missing = [str(root) for root in roots if not root.is_dir()]
    if missing:
        raise FarSetError(f"{missing[0]}: not fetched (run `python -m train.far_set draw` first)")
    report = mine(MineArgs(sources=roots, out=out, workers=workers, ratios=(0.0, 0.0, 1.0)))
    write_outputs(report, out, Style.GOOGLE)
    return out / "test.jsonl"


# --------------------------------------------------------------------------- review


# (name on the sheets and in key.csv, train.evaluate's --gates, folder). "model" and "derived"
# are the names train.calibrate reads: the model's parts ungated, and derived text for every part.
SYSTEMS = (("default", "model", "default"), ("model", "off", "off"), ("derived", "all", "all"))
OWN = "own"  # the package's own docstring: the ceiling


def review(sample: Path, out: Path, sheets: int, seed: int = 0, pydoclint: Path | None = None,
           model: str | None = None, systems: Sequence[str] = tuple(name for name, _, _ in SYSTEMS),
           blind: Path | None = None) -> None:
    """train.evaluate once per gate setting on the sample, then the side-by-side blind sheets
    (into ``blind``, by default ``out/blind``) of ``systems`` and the own docstring."""
    from train import blind_review, evaluate

    unknown = sorted(set(systems) - {name for name, _, _ in SYSTEMS})
    if unknown:
        raise FarSetError(f"unknown system {unknown[0]!r}: the systems are {', '.join(name for name, _, _ in SYSTEMS)}")
    try:
        functions = sum(1 for line in sample.read_text(encoding="utf-8").splitlines() if line.strip())
    except OSError as error:
        raise FarSetError(f"{sample}: {error.strerror or error}") from None
    blind = blind or out / "blind"
    if any(blind.glob("ratings-*.csv")):  # the ratings belong to those sheets and to the outputs beside them
        raise FarSetError(f"{blind} holds ratings of its sheets: write a new review elsewhere (--out, --blind)")
    chosen = [system for system in SYSTEMS if system[0] in systems]
    options = (["--pydoclint", str(pydoclint)] if pydoclint else []) + (["--model", model] if model else [])
    for _, gates, folder in chosen:
        argv = ["--data", str(sample), "--baseline", "none", "--gates", gates, "--seed", str(seed),
                "--no-codebleu", "--out", str(out / folder), *options]
        if evaluate.main(argv) != 0:
            raise FarSetError(f"train.evaluate --gates {gates} failed")
    runs = [("--run", f"{name}={out / folder / OUTPUTS_FILE}") for name, _, folder in chosen]
    blind_review.main(["sheets", "--data", str(sample), *(part for run in runs for part in run),
                       "--reference", OWN, "--side-by-side", "--sample", str(functions), "--seed", str(seed),
                       "--sheets", str(sheets), "--out", str(blind)])


# --------------------------------------------------------------------------- CLI


@dataclass(frozen=True, kw_only=True)
class DrawCommand:
    """Draw and fetch the far set; write its list."""

    ranked: Path = arg(help="the ranked package list (TSV with name, version and the download rank column)")
    seed: int = arg(0)
    count: int = arg(80, help="packages to keep")
    cache: Path = arg(Path("data/far-cache"), help="train.corpus cache of the draw (resumable)")
    jobs: int = arg(4, help="pip processes at a time")
    out: Path = arg(FAR_LIST)


@dataclass(frozen=True, kw_only=True)
class SampleCommand:
    """Mine the far set and write the seeded sample of functions."""

    list: Path = arg(FAR_LIST)
    cache: Path = arg(Path("data/far-cache"))
    mined: Path = arg(Path("data/far-mined"), help="train.mine's output folder")
    workers: int = arg(2)
    count: int = arg(100)
    per_package: int = arg(2)
    seed: int = arg(0)
    exclude: tuple[Path, ...] = arg((), append=True, help="a sample whose functions this one leaves out "
                                    "(a held-out sample: other functions of the same packages)")
    out: Path = arg(Path("docs/eval/far-v1/sample.jsonl"))


@dataclass(frozen=True, kw_only=True)
class ReviewCommand:
    """Outputs of every system for the sample, and the blind sheets."""

    sample: Path = arg(Path("docs/eval/far-v1/sample.jsonl"))
    out: Path = arg(Path("docs/eval/far-v1"))
    sheets: int = arg(6)
    seed: int = arg(0)
    pydoclint: Path | None = arg(None, help="pydoclint from its own venv (default: train.evaluate's)")
    model: str | None = arg(None, help="model directory (default: the model shipped in the package)")
    systems: tuple[str, ...] = arg(tuple(name for name, _, _ in SYSTEMS), help="the systems to write and put on "
                                   "the sheets beside the own docstring (default, model, derived)")
    blind: Path | None = arg(None, help="where the sheets and key.csv go (default: OUT/blind)")


def _draw_header(args: DrawCommand, listed: int, candidates: int) -> list[str]:
    return [
        "The far set (issue 22): packages unlike the training corpus, to calibrate the gates and judge on.",
        f"Drawn by: python -m train.far_set draw --ranked {args.ranked.name} --seed {args.seed} --count {args.count}",
        f"  ({args.ranked.name}: the ranked package list of the env skill, one release per package).",
        f"From: ranks {FAR_RANKS[0]:,}-{FAR_RANKS[1]:,} of its {RANK_COLUMN} column ({listed:,} packages),",
        f"  less the {listed - candidates:,} in the corpus list (train/packages.tsv, docs/corpus/manifest.jsonl):",
        f"  {candidates:,} candidates. Ranks {HELD_OUT_RANKS[0]:,}-{HELD_OUT_RANKS[1]:,} are kept for measuring the "
        "project and never drawn from.",
        f"Order: by rank, shuffled with random.Random({args.seed}); each fetched in that order with train.corpus",
        "  (one wheel of the listed release) and kept when its licence is permissive (train/licences.py)",
        "  and its wheel pure Python (py-none-any).",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one step; 0 when it wrote its files, 2 (one line on stderr) when an input is missing or bad."""
    command, args = parse_command({"draw": DrawCommand, "sample": SampleCommand, "review": ReviewCommand}, argv,
                                  prog="python -m train.far_set", description=__doc__.splitlines()[0])
    try:
        if command == "draw":
            listed = ranked_packages(args.ranked)
            order = draw_order(listed, corpus_names(), args.seed)
            result = draw(order, args.cache, args.count, args.jobs)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(far_list_text(result, _draw_header(args, len(listed), len(order))), encoding="utf-8")
            print(f"{args.out}: kept {len(result.kept)} of {len(result.tried)} tried", file=sys.stderr)
        elif command == "sample":
            mined = mine_far(read_far_list(args.list), args.cache, args.mined, args.workers)
            records = [json.loads(line) for line in mined.read_text(encoding="utf-8").splitlines() if line.strip()]
            excluded = frozenset(function_key(json.loads(line)) for path in args.exclude
                                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
            chosen, funnel = sample_functions(records, args.count, args.per_package, args.seed, excluded)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), encoding="utf-8")
            packages = len({r["package"] for r in chosen})
            print(f"{args.out}: {len(chosen)} functions of {packages} packages; of {sum(funnel.values())} mined: "
                  + ", ".join(f"{reason} {n}" for reason, n in funnel.most_common()), file=sys.stderr)
        else:
            review(args.sample, args.out, args.sheets, args.seed, args.pydoclint, args.model, args.systems, args.blind)
    except FarSetError as error:
        print(f"train.far_set: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
