"""Measure the precision rules on what a backend writes through the real pipeline (issue 14's "Measures").

The sample: the first ``--functions`` public functions and methods of a package's files
that have a docstring; their docstrings are taken out in a temporary copy, and the hook
(``pipeline.fix_paths``, the same code as ``docucode``) writes new ones. Counted over the
written docstrings, each of which must be 0:

- doctests: docstrings holding a ``>>>`` line;
- long lines: docstring lines longer than ``max-line-length`` (88);
- repeated 3-grams: docstrings in which one prose part (the summary, a paragraph of the
  description, one entry's description) repeats a word 3-gram;
- contradicting summaries: a generator's summary that begins "Return" (other than
  "Return an iterator/generator") or says it returns a list/tuple/dict/set, and the summary
  of a function that returns no value and is no generator, property or stub that begins
  "Return" or "Yield".

With a pipeline that records where each part came from (``WrittenDocstring.parts``), the
shares of parts from the backend, derived from the code and dropped are printed too.

Run::

    python bench/precision.py --backend template --functions 100 PACKAGE_DIR
    python bench/precision.py --backend model --functions 100 PACKAGE_DIR
    python bench/precision.py --backend model --functions 15 PKG_A PKG_B ...   # a by-package sample
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from docstring_parser import parse

from docucode_hook.config import Config
from docucode_hook.pipeline import fix_paths
from docucode_hook.docstrings.phrasing import tokens

_RETURN = re.compile(r"^Returns?\b", re.IGNORECASE)
_YIELD = re.compile(r"^Yields?\b", re.IGNORECASE)
_ITERATOR = re.compile(r"^Returns?\s+(?:an?\s+|the\s+)?(?:\w+\s+)?(?:iterator|generator|iterable)\b", re.IGNORECASE)
_COLLECTION = re.compile(r"\breturns?\s+(?:an?\s+|the\s+)?(?:new\s+)?(?:list|tuple|dict|dictionary|set)\b", re.IGNORECASE)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _public(node: ast.AST) -> bool:
    return not node.name.startswith("_")


def strip_docstrings(source: str, budget: int) -> tuple[str, int]:
    """``source`` without the docstrings of up to ``budget`` public top-level functions and methods."""
    tree = ast.parse(source)
    spans = []
    candidates = [node for node in tree.body if isinstance(node, _FUNCTIONS)]
    candidates += [child for node in tree.body if isinstance(node, ast.ClassDef) and _public(node)
                   for child in node.body if isinstance(child, _FUNCTIONS)]
    for node in sorted(candidates, key=lambda n: n.lineno):
        if len(spans) >= budget or not _public(node) or ast.get_docstring(node) is None:
            continue
        doc = node.body[0]
        if doc.lineno == node.lineno:
            continue  # one-line `def f(): """doc"""`: leave it
        spans.append((doc.lineno, doc.end_lineno, len(node.body) == 1, doc.col_offset))
    lines = source.splitlines(keepends=True)
    for start, end, only, col in reversed(spans):
        lines[start - 1 : end] = [" " * col + "pass\n"] if only else []
    return "".join(lines), len(spans)


def _docstring_at(tree: ast.Module, line: int) -> ast.Expr | None:
    for node in ast.walk(tree):
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)) and node.lineno == line:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                return first
    return None


def _repeats(text: str) -> bool:
    """The repeated-3-gram rule, kept here so that the same script measures a pipeline without it."""
    words = tokens(text)
    grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return len(set(grams)) < len(grams)


def _prose_parts(text: str) -> list[str]:
    doc = parse(text)
    parts = [doc.short_description or ""]
    parts += re.split(r"\n\s*\n", doc.long_description or "")
    for meta in doc.meta:
        description = meta.description or ""
        head, colon, tail = description.partition(": ")
        # docstring_parser leaves a Google return type with spaces ("A | B: text") in the description.
        if colon and getattr(meta, "type_name", None) is None and ("[" in head or "|" in head):
            description = tail
        parts.append(description)
    return parts


def _facts(node: ast.AST) -> tuple[bool, bool, bool]:
    """(generator, returns a value, property or stub) of a function's own body."""
    own, stack = [], list(node.body)
    while stack:
        current = stack.pop()
        own.append(current)
        if not isinstance(current, (*_FUNCTIONS, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(current))
    generator = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own)
    value = any(isinstance(n, ast.Return) and n.value is not None
                and not (isinstance(n.value, ast.Constant) and n.value.value is None) for n in own)
    decorators = {ast.unparse(d).split("(")[0].rsplit(".", 1)[-1] for d in node.decorator_list}
    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    stub = not body or all(isinstance(s, (ast.Pass, ast.Raise)) for s in body) or "abstractmethod" in decorators
    return generator, value, bool(decorators & {"property", "cached_property"}) or stub


def _contradicts(summary: str, node: ast.AST) -> bool:
    generator, value, exempt = _facts(node)
    if generator:
        return bool(_COLLECTION.search(summary) or (_RETURN.match(summary) and not _ITERATOR.match(summary)))
    return not (value or exempt) and bool(_RETURN.match(summary) or _YIELD.match(summary))


def measure(package: Path, backend: str, functions: int, width: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        paths, stripped = [], 0
        for source_path in sorted(package.rglob("*.py")):
            if stripped >= functions or "test" in source_path.name:
                continue
            try:
                text, count = strip_docstrings(source_path.read_text(encoding="utf-8"), functions - stripped)
            except (SyntaxError, UnicodeDecodeError):
                continue
            if not count:
                continue
            target = root / source_path.relative_to(package)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            paths.append(target)
            stripped += count
        (root / ".git").mkdir()  # the project root for the pipeline
        config = Config(backend=backend, cache=False, max_line_length=width)
        started = time.perf_counter()
        results = fix_paths(paths, root, config)
        seconds = time.perf_counter() - started
        counts: Counter[str] = Counter()
        origins: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        for result in results:
            if result.error:
                counts["files with errors"] += 1
                continue
            new = (root / result.path).read_text(encoding="utf-8")
            tree, lines = ast.parse(new), new.splitlines()
            for written in result.docstrings:
                doc = _docstring_at(tree, written.line)
                if doc is None:
                    continue
                node = next(n for n in ast.walk(tree) if isinstance(n, (*_FUNCTIONS, ast.ClassDef)) and n.lineno == written.line)
                text = ast.get_docstring(node) or ""
                counts["docstrings"] += 1
                counts[f"by {written.by}"] += 1
                found = {
                    "doctests": ">>>" in text,
                    "long lines": any(len(line) > width for line in lines[doc.lineno - 1 : doc.end_lineno]),
                    "repeated 3-grams": any(_repeats(part) for part in _prose_parts(text)),
                    "contradicting summaries": isinstance(node, _FUNCTIONS)
                    and _contradicts(parse(text).short_description or "", node),
                }
                for key, hit in found.items():
                    counts[key] += hit
                    if hit and len(examples.setdefault(key, [])) < 3:
                        examples[key].append(f"{result.path}:{written.line} {written.name}: {text.splitlines()[0]}")
                for part in getattr(written, "parts", ()):
                    if not part.part.startswith("type of"):
                        origins[f"{part.part.split()[0]} {part.origin}"] += 1
    return {"backend": backend, "functions stripped": stripped, "seconds": round(seconds, 1), **counts,
            "origins": dict(sorted(origins.items())), "examples": examples}


def merged(results: list[dict[str, object]]) -> dict[str, object]:
    """One result for several packages: counts and origins summed, examples and seconds pooled."""
    total: dict[str, object] = {"packages": len(results)}
    for result in results:
        for key, value in result.items():
            if key in ("origins", "examples"):
                bucket = total.setdefault(key, {})
                for name, item in value.items():  # type: ignore[union-attr]
                    bucket[name] = bucket.get(name, 0 if key == "origins" else []) + item
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = round(total.get(key, 0) + value, 1)  # type: ignore[operator]
            else:
                total[key] = value
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", type=Path, nargs="+", help="directories of Python files, each measured apart")
    parser.add_argument("--backend", default="template", choices=["template", "model", "server"])
    parser.add_argument("--functions", type=int, default=100, help="per package")
    parser.add_argument("--width", type=int, default=88)
    args = parser.parse_args(argv)
    for package in args.packages:
        if not package.is_dir():
            parser.error(f"{package}: not a directory")
    results = [measure(package, args.backend, args.functions, args.width) for package in args.packages]
    json.dump(results[0] if len(results) == 1 else merged(results), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
