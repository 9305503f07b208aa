"""Measure ``docucode --convert`` on real packages: converted, left (and why), words lost, second run, linters, time.

For each package (a source directory, an sdist, or a name pip downloads as an sdist) and each
target style other than the package's own, a copy of its ``.py`` files is converted with the
real pipeline (``fix_paths(..., convert_only=True)``, the code of ``docucode --convert``), then:

- docstrings found: those in another style than the target (what ``--check`` reports as DCU105);
  converted, and left with each reason;
- words lost: for every converted docstring, the words outside section titles and field
  keywords, before against after, counted here independently of restyle's own check (must be 0);
- a second run changes nothing; every file's AST is unchanged apart from docstrings;
- ruff's D rules (``--select D`` with the target's convention: google, numpy, pep257 for
  sphinx) and pydoclint (``--style=<target>``) on the converted definitions, against the
  same definitions in the original checked for the package's own style;
- time: the conversion pass per 1,000 docstrings found.

    python bench/restyle.py dcor==0.7 cmap==0.8.0 --ruff .venv-ruff/bin/ruff \
        --pydoclint .venv-pydoclint/bin/pydoclint --json docs/eval/restyle/results.json

Exit status: 1 when a word was lost, a second run changed something or an AST differs.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

try:
    import docucode_hook  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from docucode_hook.code.records import Style  # noqa: E402
from docucode_hook.code.syntax import iter_definitions, walk_module  # noqa: E402
from docucode_hook.config import Config  # noqa: E402
from docucode_hook.docstrings.blocks import SPHINX_FIELDS, TITLES  # noqa: E402
from docucode_hook.docstrings.styles import section_styles  # noqa: E402
from docucode_hook.docstrings.verify import assert_only_docstrings_changed  # noqa: E402
from docucode_hook.pipeline import fix_paths  # noqa: E402

CONVENTIONS = {Style.GOOGLE: "google", Style.NUMPY: "numpy", Style.SPHINX: "pep257"}
# Words each style spells its own way; the rest must survive a conversion unchanged.
SYNTAX = {word.lower() for title in TITLES for word in re.findall(r"\w+", title)} | set(SPHINX_FIELDS) | {"rubric"}


def content_words(text: str) -> Counter:
    """Words outside titles and field keywords; a Sphinx ``:type x:`` does not count ``x`` twice."""
    named = set(re.findall(r"^:(?:param|keyword|ivar)(?: [^:\s]+)* ([^:\s]+):", text, re.M))
    text = re.sub(r"^:(?:type|kwtype|vartype) (\S+):", lambda m: ":" if m.group(1) in named else m.group(0), text,
                  flags=re.M)
    return Counter(word for word in re.findall(r"\w+", text) if word.lower() not in SYNTAX)


def fetch(spec: str, into: Path) -> Path:
    """A source tree for ``spec``: a directory as is, an sdist unpacked, or a name pip downloads."""
    path = Path(spec)
    if path.is_dir():
        return path
    if not path.is_file():
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", str(into)]
        subprocess.run([*pip, spec], check=True)
        path = next(p for p in into.iterdir() if p.suffix == ".gz" or p.suffix == ".zip")
    with tarfile.open(path) as archive:
        archive.extractall(into / "src", filter="data")
    return next((into / "src").iterdir())


def docstrings(root: Path) -> dict[tuple[str, str], str]:
    """(file, qualname) -> cleaned docstring, for the module and every definition."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        rel = path.relative_to(root).as_posix()
        scope = walk_module(tree)
        for node, name in [(tree, "<module>"), *((s.node, s.qualname) for s in iter_definitions(scope))]:
            text = ast.get_docstring(node)
            if text:
                found[(rel, name)] = text
    return found


def spans(root: Path) -> dict[str, list[tuple[int, int, str]]]:
    """Per file, (first line, last line, qualname) of each definition, to place a linter's line."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        out[path.relative_to(root).as_posix()] = [(s.node.lineno, s.node.end_lineno, s.qualname)
                                                  for s in iter_definitions(walk_module(tree))]
    return out


def owner(where: list[tuple[int, int, str]], line: int) -> str:
    inside = [span for span in where if span[0] <= line <= span[1]]
    return min(inside, key=lambda span: span[1] - span[0])[2] if inside else "<module>"


def ruff_violations(ruff: str, root: Path, style: Style) -> Counter:
    config = root.parent / f"ruff-{style.value}.toml"
    config.write_text(f'[lint.pydocstyle]\nconvention = "{CONVENTIONS[style]}"\n')
    done = subprocess.run([ruff, "check", "--select", "D", "--config", str(config), "--no-cache",
                           "--output-format", "json", "--exit-zero", "."], cwd=root, capture_output=True, text=True)
    where = spans(root)
    found = Counter()
    for item in json.loads(done.stdout or "[]"):
        rel = Path(item["filename"]).resolve().relative_to(root.resolve()).as_posix()
        found[(rel, owner(where.get(rel, []), item["location"]["row"]), item["code"])] += 1
    return found


def pydoclint_violations(pydoclint: str, root: Path, style: Style) -> Counter:
    done = subprocess.run([pydoclint, f"--style={style.value}", "--quiet", "."], cwd=root,
                          capture_output=True, text=True)
    where = spans(root)
    found, current = Counter(), None
    for line in (done.stdout + done.stderr).splitlines():
        if line and not line[0].isspace():
            current = Path(line.strip()).as_posix().removeprefix("./")
        elif (match := re.match(r"\s+(\d+): (DOC\d+)", line)) and current:
            found[(current, owner(where.get(current, []), int(match.group(1))), match.group(2))] += 1
    return found


def own_style(found: dict[tuple[str, str], str]) -> Style:
    counts = Counter(next(iter(s)) for s in map(section_styles, found.values()) if len(s) == 1)
    return counts.most_common(1)[0][0]


def reason_kind(reason: str) -> str:
    """A reason without the names in it, so that reasons of one kind add up."""
    reason = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    reason = re.sub(r"the name \S+:", "a name:", reason)
    reason = re.sub(r"the entry .+ names several", "an entry names several", reason)
    reason = re.sub(r"after [A-Z][\w ]*? would", "after a section would", reason)
    reason = re.sub(r"^the [A-Z][\w ]* section", "a section", reason)
    reason = re.sub(r"^[A-Z][\w ]* has a line", "a section has a line", reason)
    return re.sub(r"^\d+ ", "N ", reason)


def measure(name: str, tree: Path, target: Style, tools: argparse.Namespace, work: Path) -> dict:
    copy = work / f"{name}-{target.value}"
    shutil.copytree(tree, copy, ignore=lambda _, names: [n for n in names if n.startswith(".")])
    (copy / ".git").mkdir()  # the project root for the pipeline
    paths = sorted(p for p in copy.rglob("*.py") if p.is_file())
    before = docstrings(copy)
    source_style = own_style(before)
    originals = {p: p.read_text(encoding="utf-8", errors="surrogateescape") for p in paths}
    lint_before = {}
    if tools.ruff:
        lint_before["ruff"] = ruff_violations(tools.ruff, copy, source_style)
    if tools.pydoclint:
        lint_before["pydoclint"] = pydoclint_violations(tools.pydoclint, copy, source_style)
    config = Config(style=target, backend="template", skip_tests=False, include=("*.py",))
    start = time.perf_counter()
    results = fix_paths(paths, copy, config, convert_only=True)
    seconds = time.perf_counter() - start
    found = sum(1 for text in before.values() if section_styles(text) - {target})
    converted = {(r.path, d.name) for r in results for d in r.docstrings if d.by == "convert"}
    left = Counter(reason_kind(reason) for r in results for _, reason in r.unconverted)
    errors = [f"{r.path}: {r.error}" for r in results if r.error]
    after = docstrings(copy)
    lost = added = 0
    for (rel, qualname), text in before.items():
        if (rel, qualname) in converted or (qualname == "<module>" and any(c[0] == rel for c in converted)):
            new = after.get((rel, qualname), "")
            if new != text:
                lost += sum((content_words(text) - content_words(new)).values())
                added += sum((content_words(new) - content_words(text)).values())
    ast_changed = 0
    for path, old in originals.items():
        try:
            assert_only_docstrings_changed(old, path.read_text(encoding="utf-8", errors="surrogateescape"))
        except Exception:
            ast_changed += 1
    second = fix_paths(paths, copy, config, convert_only=True)
    report = {
        "package": name, "source_style": source_style.value, "target": target.value, "files": len(paths),
        "docstrings_found": found, "converted": len(converted), "left": sum(left.values()),
        "left_by_reason": dict(left.most_common()), "words_lost": lost, "words_added": added,
        "second_run_changed_files": sum(r.changed for r in second), "ast_changed_files": ast_changed,
        "errors": errors, "seconds": round(seconds, 3),
        "seconds_per_1000_docstrings": round(1000 * seconds / max(found, 1), 2),
    }
    names = {(Path(path).as_posix(), qualname) for path, qualname in converted}
    for tool, counts in lint_before.items():
        run = ruff_violations(tools.ruff, copy, target) if tool == "ruff" else \
            pydoclint_violations(tools.pydoclint, copy, target)
        old = Counter({key: n for key, n in counts.items() if key[:2] in names})
        new = Counter({key: n for key, n in run.items() if key[:2] in names})
        report[f"{tool}_before"] = sum(old.values())
        report[f"{tool}_after"] = sum(new.values())
        report[f"{tool}_after_by_code"] = dict(Counter(key[2] for key in new.elements()).most_common())
        report[f"{tool}_before_by_code"] = dict(Counter(key[2] for key in old.elements()).most_common())
        per_old = Counter({key[:2]: 0 for key in names}) + Counter(key[:2] for key in old.elements())
        per_new = Counter(key[:2] for key in new.elements())
        report[f"{tool}_definitions_worse"] = sum(per_new[key] > per_old[key] for key in names)
        report[f"{tool}_definitions_better"] = sum(per_new[key] < per_old[key] for key in names)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="+", help="source directory, sdist, or requirement pip can download")
    parser.add_argument("--ruff", help="ruff executable (its D rules on the converted definitions)")
    parser.add_argument("--pydoclint", help="pydoclint executable")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args(argv)
    # The linters run in each copy's directory: make their paths absolute first.
    args.ruff, args.pydoclint = (str(Path(tool).absolute()) if Path(tool).exists() else shutil.which(tool)
                                 if tool else None for tool in (args.ruff, args.pydoclint))
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, spec in enumerate(args.packages):
            fetched = fetch(spec, Path(tmp) / f"p{index}")
            name = fetched.name
            own = own_style(docstrings(fetched))
            for target in Style:
                if target is not own:
                    report = measure(name, fetched, target, args, Path(tmp))
                    reports.append(report)
                    print(json.dumps(report), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(reports, indent=1) + "\n")
    bad = [r for r in reports if r["words_lost"] or r["second_run_changed_files"] or r["ast_changed_files"]]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
