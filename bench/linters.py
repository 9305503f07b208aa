"""Count the violations of ruff's D rules and pydoclint that the hook's docstrings add to real packages.

The packages come from ranks 8,001-15,000 of the download list (code unlike the corpus,
which is the top 5,000; ranks 5,001-8,000 are kept for measuring the project and never
drawn here): a seeded shuffle of that range, each candidate's sdist fetched with
``pip download --no-deps --no-binary :all:``, kept when its licence is permissive and it has
enough undocumented public functions. The list is committed (``bench/linters-packages.tsv``).

For each package and style, the sdist's tree is linted, the hook writes docstrings (through
the ``docucode`` command, the same code a commit runs), and the tree is linted again:
``ruff check --select D`` under the style's convention (google, numpy; pep257 for sphinx)
and ``pydoclint --style=<style>`` with its defaults. A violation reported inside a written
docstring (from its ``def`` line to its closing quotes) is new; it is "unsatisfiable" when
no docstring could avoid it: pydoclint's type-hint codes for a signature that lacks
annotations, or its return/yield type codes for a function without a return annotation.

Run::

    python bench/linters.py draw --count 3 --seed 22 --cache data/linters   # writes bench/linters-packages.tsv
    python bench/linters.py run --backend template --cache data/linters --out docs/eval/linters/template.md
    python bench/linters.py run --backend model --cache data/linters --out docs/eval/linters/model.md

``--ruff`` and ``--pydoclint`` name the executables (default: ruff beside this Python, and
``.venv-pydoclint/bin/pydoclint``).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path
from typing import Iterable, Sequence

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))  # train.licences, when run as a script

from train.corpus import Package, canonical_name  # noqa: E402
from train.far_set import FAR_RANKS, corpus_names, ranked_packages  # noqa: E402
from train.licences import PERMISSIVE, metadata_licence  # noqa: E402

DOWNLOADS = Path("/work/.library/env/packages/pypi.tsv")
PACKAGE_LIST = Path(__file__).with_name("linters-packages.tsv")
MIN_FUNCTIONS = 15  # undocumented public functions: fewer measure too little
MAX_FUNCTIONS = 400  # more take too long on the 2-core machine with the model backend
STYLES = ("google", "numpy", "sphinx")
CONVENTION = {"google": "google", "numpy": "numpy", "sphinx": "pep257"}
# pydoclint's codes that only an annotation in the signature could satisfy.
_ARGUMENT_TYPE_CODES = frozenset({"DOC105", "DOC106", "DOC107", "DOC108", "DOC109", "DOC110", "DOC111"})
_RESULT_TYPE_CODES = frozenset({"DOC203", "DOC402", "DOC403", "DOC404", "DOC405"})
_PYDOCLINT_LINE = re.compile(r"^\s*(\d+): (DOC\d+): (.*)$")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    code: str
    tool: str  # "ruff" | "pydoclint"


def read_candidates(downloads: Path = DOWNLOADS) -> list[Package]:
    """The far window of the download list (ranks 8,001-15,000, as train.far_set reads it),
    without any package of the corpus list."""
    in_corpus = corpus_names()
    return [package for package in ranked_packages(downloads) if canonical_name(package.name) not in in_corpus]


def fetch_sdist(candidate: Package, cache: Path) -> Path | None:
    """The sdist archive of the candidate's listed version in ``cache``; None when pip finds none."""
    target = cache / "sdists" / f"{candidate.name}-{candidate.version}"
    archives = [p for p in target.glob("*") if p.suffix in (".gz", ".zip")] if target.is_dir() else []
    if not archives:
        target.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
                   "--disable-pip-version-check", "-d", str(target), f"{candidate.name}=={candidate.version}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        archives = [p for p in target.glob("*") if p.suffix in (".gz", ".zip")]
        if done.returncode != 0 or not archives:
            return None
    return archives[0]


def unpack(archive: Path, into: Path) -> Path:
    """The sdist's top folder, unpacked under ``into``."""
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(into)
    else:
        with tarfile.open(archive) as handle:
            handle.extractall(into, filter="data")
    folders = [p for p in into.iterdir() if p.is_dir()]
    return folders[0] if len(folders) == 1 else into


def sdist_licence(tree: Path) -> str:
    """The licence family its PKG-INFO declares."""
    info = tree / "PKG-INFO"
    if not info.is_file():
        return "unknown"
    return metadata_licence(HeaderParser().parsestr(info.read_text(encoding="utf-8", errors="replace")))


def undocumented_public_functions(tree: Path) -> int:
    """Public functions and methods without a docstring, outside tests, docs and set-up scripts."""
    count = 0
    for path in source_files(tree):
        try:
            module = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(module):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                count += ast.get_docstring(node) is None
    return count


_LEFT_OUT = re.compile(r"(^|/)(tests?|testing|docs?|examples?|benchmarks?|build)(/|$)|(^|/)(setup|conftest|noxfile)\.py$")


def source_files(tree: Path) -> list[Path]:
    """The package's own ``.py`` files: not its tests, docs, examples or set-up scripts."""
    return sorted(p for p in tree.rglob("*.py") if not _LEFT_OUT.search(p.relative_to(tree).as_posix()))


def draw(count: int, seed: int, cache: Path, out: Path) -> list[tuple[Package, str, int]]:
    """``count`` packages in seeded order that pass the filters; each with its licence and function count."""
    candidates = read_candidates()
    random.Random(seed).shuffle(candidates)
    kept: list[tuple[Package, str, int]] = []
    for candidate in candidates:
        if len(kept) == count:
            break
        archive = fetch_sdist(candidate, cache)
        if archive is None:
            print(f"{candidate.name}: no sdist", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory() as scratch:
            tree = unpack(archive, Path(scratch))
            licence = sdist_licence(tree)
            functions = undocumented_public_functions(tree)
        reason = ("licence " + licence) if licence not in PERMISSIVE else (
            f"{functions} undocumented public functions" if not MIN_FUNCTIONS <= functions <= MAX_FUNCTIONS else "")
        print(f"{candidate.name}: {'left out: ' + reason if reason else 'kept'}", file=sys.stderr)
        if not reason:
            kept.append((candidate, licence, functions))
    with out.open("w", encoding="utf-8") as handle:
        handle.write(f"# seed {seed}: ranks {FAR_RANKS[0]}-{FAR_RANKS[1]}, not in train/packages.tsv, permissive sdist\n")
        handle.write("rank\tname\tversion\tlicence\tundocumented\n")
        for candidate, licence, functions in kept:
            handle.write(f"{candidate.rank}\t{candidate.name}\t{candidate.version}\t{licence}\t{functions}\n")
    return kept


def read_package_list(path: Path = PACKAGE_LIST) -> list[Package]:
    """The committed draw."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return [Package(int(row["rank"]), row["name"], row["version"]) for row in csv.DictReader(lines, delimiter="\t")]


# --- linting -----------------------------------------------------------------------------------


def ruff_violations(ruff: Path, tree: Path, files: Sequence[Path], style: str) -> list[Violation]:
    """``ruff check --select D`` under the style's convention, on ``files`` only, no project config."""
    command = [str(ruff), "check", "--isolated", "--select", "D", "--output-format", "json",
               "--config", f'lint.pydocstyle.convention = "{CONVENTION[style]}"',
               *(str(p.relative_to(tree)) for p in files)]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"ruff failed ({done.returncode}): {done.stderr[-500:]}")
    found = []
    for item in json.loads(done.stdout or "[]"):
        path = Path(item["filename"]).resolve().relative_to(tree.resolve()).as_posix()
        found.append(Violation(path, item["location"]["row"], item["code"], "ruff"))
    return found


def pydoclint_violations(pydoclint: Path, tree: Path, files: Sequence[Path], style: str) -> list[Violation]:
    """``pydoclint --style=<style>`` with its defaults, over ``files`` in one process."""
    done = subprocess.run([str(pydoclint), f"--style={style}", "--quiet", *(str(p.relative_to(tree)) for p in files)],
                          cwd=tree, capture_output=True, text=True)
    found = []
    current = ""
    # pydoclint prints its findings on stderr: a line with the path, then its violations indented.
    for line in (done.stdout + done.stderr).splitlines():
        if match := _PYDOCLINT_LINE.match(line):
            found.append(Violation(current, int(match.group(1)), match.group(2), "pydoclint"))
        elif line.strip() and not line.startswith(" "):
            current = line.strip()
    return found


def lint(tree: Path, files: Sequence[Path], style: str, ruff: Path, pydoclint: Path) -> list[Violation]:
    """Every D and DOC violation in ``files``."""
    return ruff_violations(ruff, tree, files, style) + pydoclint_violations(pydoclint, tree, files, style)


@dataclass(frozen=True)
class Written:
    """One docstring the hook wrote: where it lies, and whether its signature can satisfy pydoclint."""

    path: str
    first: int  # the def line
    last: int  # the docstring's last line
    arguments_annotated: bool
    result_annotated: bool
    returns_value: bool = True
    bare_reraise: bool = False  # a bare ``except:`` whose body re-raises with a bare ``raise``
    # The hook left a type to the signature (its line would pass max-line-length): an argument's, the result's.
    argument_type_too_wide: bool = False
    result_type_too_wide: bool = False


def written_spans(tree: Path, report: dict) -> list[Written]:
    """Where each docstring of ``docucode --format json``'s report lies in the new files."""
    spans = []
    for entry in report["files"]:
        lines = {d["line"] for d in entry.get("docstrings", [])}
        too_wide = {(d["line"], part["part"] == "type of the result") for d in entry.get("docstrings", [])
                    for part in d["parts"] if part["part"].startswith("type of ") and part["origin"] == "dropped"}
        if not lines:
            continue
        path = tree / entry["path"]
        module = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(module):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.lineno in lines:
                docstring = node.body[0]
                spans.append(Written(entry["path"], node.lineno, docstring.end_lineno or node.lineno,
                                     *_annotated(node), _returns_value(node), _bare_reraise(node),
                                     (node.lineno, False) in too_wide, (node.lineno, True) in too_wide))
    return spans


def _annotated(node: ast.AST) -> tuple[bool, bool]:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return True, True
    arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    arguments += [a for a in (node.args.vararg, node.args.kwarg) if a]
    if arguments and arguments[0].arg in ("self", "cls"):
        arguments = arguments[1:]
    return all(a.annotation is not None for a in arguments), node.returns is not None


def _returns_value(node: ast.AST) -> bool:
    """``return <value>`` somewhere in the definition's own body (nested definitions aside)."""
    stack = list(getattr(node, "body", []))
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Return) and current.value is not None:
            return True
        if not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(current))
    return False


def _bare_reraise(node: ast.AST) -> bool:
    return any(isinstance(handler, ast.ExceptHandler) and handler.type is None
               and any(isinstance(n, ast.Raise) and n.exc is None for n in ast.walk(handler))
               for handler in ast.walk(node))


def unsatisfiable(violation: Violation, span: Written) -> bool:
    """A code no docstring can satisfy for this signature (issue 22's exemption): pydoclint's type
    codes where the signature has no annotation, and DOC201 for an unannotated function whose
    ``return`` statements are all bare: its Returns section would claim a value that never comes,
    and pydoclint would then report DOC203 instead; ``-> None`` in the signature satisfies both.
    And DOC501/DOC503 where a bare ``except:`` re-raises: pydoclint 0.12 counts the ``raise`` (DOC501
    without a Raises section) but no exception from it (DOC503 with one, whatever it names).
    And DOC105/DOC203 where the type's line would pass max-line-length: a Google head or a NumPy
    type line cannot be broken in a way pydoclint reads back as the annotation (a Sphinx field can,
    and is), so the hook leaves the type to the signature."""
    return (
        (violation.code in _ARGUMENT_TYPE_CODES and not span.arguments_annotated)
        or (violation.code == "DOC105" and span.argument_type_too_wide)
        or (violation.code == "DOC203" and span.result_type_too_wide)
        or (violation.code in _RESULT_TYPE_CODES and not span.result_annotated)
        or (violation.code == "DOC201" and not span.result_annotated and not span.returns_value)
        or (violation.code in ("DOC501", "DOC503") and span.bare_reraise)
    )


@dataclass(frozen=True)
class Outcome:
    package: str
    style: str
    written: int
    before: Counter[str]
    after: Counter[str]
    new: Counter[str]  # inside written docstrings, satisfiable
    exempt: Counter[str]  # inside written docstrings, unsatisfiable
    seconds: float
    where: tuple[str, ...] = ()  # "path:line CODE" of each new violation
    by: Counter[str] = field(default_factory=Counter)  # docstrings by their writer: model, template


def measure(
    archive: Path, name: str, style: str, backend: str, ruff: Path, pydoclint: Path, keep: Path | None = None
) -> Outcome:
    """Lint, run the hook, lint again, on a fresh copy of the sdist's tree."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = unpack(archive, Path(scratch))
        # A project's own lint settings would change what is counted: drop them.
        for config in ("pyproject.toml", "setup.cfg", "tox.ini", ".ruff.toml", "ruff.toml", ".pydoclint.toml"):
            (tree / config).unlink(missing_ok=True)
        outcome = measure_tree(tree, source_files(tree), name, style, backend, ruff, pydoclint)
        if keep is not None:
            shutil.copytree(tree, keep / f"{name}-{style}", dirs_exist_ok=True)
    return outcome


def measure_tree(
    tree: Path, files: Sequence[Path], name: str, style: str, backend: str, ruff: Path, pydoclint: Path,
    config: Path | None = None,
) -> Outcome:
    """Lint ``files``, run ``docucode`` on them in ``tree`` (made a git repository), lint again."""
    before = lint(tree, files, style, ruff, pydoclint)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    if not (tree / ".git").exists():
        subprocess.run(["git", "init", "-q", "."], cwd=tree, check=True, env=env)
    start = time.perf_counter()
    command = [sys.executable, "-m", "docucode_hook", "--format", "json", "--style", style, "--backend", backend,
               *(["--config", str(config)] if config else []), *(str(p.relative_to(tree)) for p in files)]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"docucode failed ({done.returncode}): {done.stderr[-1000:]}")
    report = json.loads(done.stdout)
    spans = written_spans(tree, report)
    after = lint(tree, files, style, ruff, pydoclint)
    new, exempt, where = Counter(), Counter(), []
    for violation in after:
        span = next((s for s in spans if s.path == violation.path and s.first <= violation.line <= s.last), None)
        if span is not None and unsatisfiable(violation, span):
            exempt[violation.code] += 1
        elif span is not None:
            new[violation.code] += 1
            where.append(f"{violation.path}:{violation.line} {violation.code}")
    docstrings = [d for entry in report["files"] for d in entry.get("docstrings", [])]
    by = Counter(d["by"] for d in docstrings)
    for d in docstrings:  # who wrote each summary and entry, as the command's closing line counts them
        for part in d["parts"]:
            kind = "summary" if part["part"] == "summary" else "entry" if part["part"].startswith(
                ("param ", "returns", "yields", "raises ")) else None
            if kind and part["origin"] != "dropped":
                who = "model" if part["origin"] == "backend" and d["by"] != "template" else (
                    "TODO" if part["origin"] == "todo" else "code")
                by[f"{kind} by {who}"] += 1
    return Outcome(name, style, len(spans), Counter(v.code for v in before), Counter(v.code for v in after),
                   new, exempt, seconds, tuple(where), by)


def _tally(counts: Counter[str]) -> str:
    return ", ".join(f"{code} {n}" for code, n in sorted(counts.items())) or "none"


def report_lines(outcomes: Iterable[Outcome], backend: str, command: str) -> list[str]:
    """The markdown table of one run."""
    lines = [f"Backend `{backend}`. Command: `{command}`", "",
             "| package | style | docstrings written (by) | new violations | unsatisfiable (exempt) | D+DOC before → after |",
             "| --- | --- | --- | --- | --- | ---: |"]
    for o in outcomes:
        writers = Counter({key: n for key, n in o.by.items() if " by " not in key})
        lines.append(f"| {o.package} | {o.style} | {o.written} ({_tally(writers)}) | {_tally(o.new)} | {_tally(o.exempt)} | "
                     f"{sum(o.before.values())} → {sum(o.after.values())} |")
    lines += ["", "Who wrote the parts of the written docstrings (summaries; Args/Returns/Yields/Raises entries):", "",
              "| package | style | summaries: model / code | entries: model / code / TODO |", "| --- | --- | ---: | ---: |"]
    for o in outcomes:
        lines.append(f"| {o.package} | {o.style} | {o.by['summary by model']} / {o.by['summary by code']} | "
                     f"{o.by['entry by model']} / {o.by['entry by code']} / {o.by['entry by TODO']} |")
    lines += ["", "New violations, where:", ""]
    for o in outcomes:
        lines += [f"- {o.package} {o.style}: `{place}`" for place in o.where]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    drawing = sub.add_parser("draw")
    drawing.add_argument("--count", type=int, default=3)
    drawing.add_argument("--seed", type=int, default=22)
    drawing.add_argument("--cache", type=Path, default=Path("data/linters"))
    drawing.add_argument("--out", type=Path, default=PACKAGE_LIST)
    running = sub.add_parser("run")
    running.add_argument("--backend", default="template")
    running.add_argument("--style", choices=STYLES, action="append")
    running.add_argument("--cache", type=Path, default=Path("data/linters"))
    running.add_argument("--packages", type=Path, default=PACKAGE_LIST)
    running.add_argument("--ruff", type=Path, default=Path(sys.executable).with_name("ruff"))
    running.add_argument("--pydoclint", type=Path, default=CHECKOUT / ".venv-pydoclint" / "bin" / "pydoclint")
    running.add_argument("--out", type=Path)
    running.add_argument("--keep", type=Path, help="copy each tree after the hook here, to read what it wrote")
    args = parser.parse_args(argv)
    if args.command == "draw":
        draw(args.count, args.seed, args.cache, args.out)
        return 0
    outcomes = []
    for candidate in read_package_list(args.packages):
        archive = fetch_sdist(candidate, args.cache)
        if archive is None:
            raise SystemExit(f"bench/linters.py: {candidate.name} {candidate.version}: no sdist")
        for style in args.style or STYLES:
            outcome = measure(archive, candidate.name, style, args.backend, args.ruff, args.pydoclint, args.keep)
            print(f"{candidate.name} {style}: {outcome.written} written in {outcome.seconds:.1f} s; "
                  f"new {_tally(outcome.new)}; exempt {_tally(outcome.exempt)}", file=sys.stderr)
            for place in outcome.where:
                print(f"  {place}", file=sys.stderr)
            outcomes.append(outcome)
    command = "python bench/linters.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = report_lines(outcomes, args.backend, command)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0 if not any(o.new for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
