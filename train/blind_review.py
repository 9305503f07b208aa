"""Blind review of written docstrings: sheets a reviewer rates from the code alone, and the tally.

BLEU cannot tell a right summary from a wrong one, so each system's docstrings for the same
seeded test functions are shuffled together into numbered items that show only the code and
the docstring. The reviewer (a person, or a helper that sees nothing else) rates each item's
summary ``correct`` / ``vague`` / ``wrong``, its description the same way (or ``none``), each
Args, Returns/Yields and Raises entry the same way, and whether a maintainer would accept the
docstring ``as-is`` / ``light`` (after light edits) / ``no``. Which system wrote an item stays
in ``key.csv`` until the tally.

Commands::

    # 50 seeded test functions, two systems, items split over 4 sheets
    python -m train.blind_review sheets --data data/test.jsonl --sample 50 --seed 0 --sheets 4 \\
        --run v2=docs/eval/v2/outputs.jsonl.gz --run v3=docs/eval/v3/outputs.jsonl.gz --out docs/eval/blind
    # the far set: each function once, its docstrings from every system side by side (the
    # same text from two systems shown once), the package's own docstring among them
    python -m train.blind_review sheets --data docs/eval/far-v1/sample.jsonl --sample 100 --sheets 6 \\
        --run default=docs/eval/far-v1/default/outputs.jsonl.gz --run model=docs/eval/far-v1/off/outputs.jsonl.gz \\
        --run derived=docs/eval/far-v1/all/outputs.jsonl.gz --reference own --side-by-side --out docs/eval/far-v1/blind
    # after the reviewers wrote ratings-1.csv ... next to the sheets
    python -m train.blind_review tally --out docs/eval/blind

``--reference NAME`` adds the data's own docstrings (each record's ``completion``: the package's
docstring as mined, rendered in the target style like every other system's) as one more
system, the ceiling; the sheets do not say which it is.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

from train.args import arg, parse_command

SUMMARY_RATINGS = ("correct", "vague", "wrong")
ACCEPT_RATINGS = ("as-is", "light", "no")
INSTRUCTIONS = """\
Each item shows a Python function and a docstring written for it. Judge from the code alone.

- summary: the docstring's first sentence.
  - correct: true to the code and says what the function does (its intent, not only its name);
  - vague: not false, but generic or little more than the name restated;
  - wrong: says something false or misleading about the code.
- description: the paragraphs between the summary and the first section (Args, Returns, ...):
  correct, vague or wrong as for the summary (filler that says nothing is vague), or none
  when the docstring has no such paragraph.
- entries: each entry of the Args, Returns (or Yields) and Raises sections, listed under the
  item (`param x`, `returns`, `raises ValueError`): correct (true, and says more than the
  name and type), vague (not false, but empty, filler or the name restated) or wrong (says
  something false or misleading, including when it is raised or what is returned). Write
  them in one field, `param x=correct; returns=wrong`, empty when the item lists none.
- accepted: would a careful maintainer of this code accept the whole docstring?
  - as-is; light (after light edits: a word or a phrase); no (it needs rewriting, or says
    something false anywhere, including the parameter and return descriptions).

Write one CSV row per item: `id,summary,description,entries,accepted,note` (note: a few words
on why, for wrong or no; quote a field that holds a comma).
"""
SIDE_BY_SIDE = """\
Each function is shown once, followed by the docstrings written for it (its items) in a random
order; a docstring that came out the same twice is shown once. Rate each item on its own merits:
several items of a function may be correct, or none.
"""
DESCRIPTION_RATINGS = (*SUMMARY_RATINGS, "none")


class ReviewError(ValueError):
    """An input file is missing, or a rating is not one of the allowed words."""


@dataclass(frozen=True)
class Item:
    id: int
    systems: tuple[str, ...]  # every system that wrote this docstring for this function (side by side: one or more)
    path: str
    qualname: str
    code: str
    docstring: str


def _read_jsonl(path: Path) -> list[dict]:
    from train.data import text_lines

    try:
        return [json.loads(line) for line in text_lines(path) if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReviewError(f"{path}: {error}") from error


def _key(row: dict) -> tuple[str, str]:
    return row["path"], row["qualname"]


def outputs_rows(path: Path, backend: str | None = None) -> dict[tuple[str, str], dict]:
    """Each function's row in a ``train.evaluate`` outputs file, from one backend: ``backend``,
    or the file's first (the evaluated model; its baseline's rows follow)."""
    rows = _read_jsonl(path)
    backend = backend or (rows[0].get("backend") if rows else None)
    chosen: dict[tuple[str, str], dict] = {}
    for row in rows:
        if row.get("backend") != backend:
            continue
        if _key(row) in chosen:
            raise ReviewError(f"{path}: {row['path']}:{row['qualname']} written twice by {backend!r}")
        chosen[_key(row)] = row
    if not chosen:
        raise ReviewError(f"{path}: no rows of backend {backend!r}")
    return chosen


def build_items(
    data: Path, runs: dict[str, tuple[Path, str | None]], sample: int, seed: int,
    reference: str | None = None, side_by_side: bool = False,
) -> list[Item]:
    """The seeded sample of functions every run wrote a docstring for, as numbered items.

    One item per (function, run), shuffled over all functions; or, ``side_by_side``, each
    function's items together in a shuffled order, with one item for a text several runs
    wrote alike (each gets that item's rating). ``reference`` names the data's own docstrings
    as one more run.
    """
    records = [row for row in _read_jsonl(data) if row.get("task", "docstring") == "docstring"]
    code = {_key(row): row["code_snippet"] for row in records}
    written = {name: {key: row["grounded"] for key, row in outputs_rows(path, backend).items()}
               for name, (path, backend) in runs.items()}
    if reference is not None:
        if reference in written:
            raise ReviewError(f"--reference {reference!r} is also the name of a --run")
        written[reference] = {_key(row): row["completion"] for row in records if isinstance(row.get("completion"), str)}
    common = sorted(set(code).intersection(*written.values()))
    if len(common) < sample:
        raise ReviewError(f"{data}: only {len(common)} functions have a docstring from every run, {sample} asked")
    chosen = random.Random(seed).sample(common, sample)
    if side_by_side:
        return _side_by_side(chosen, code, written, random.Random(seed + 1))
    pairs = [(name, key) for key in chosen for name in written]
    random.Random(seed + 1).shuffle(pairs)
    return [Item(i, (name,), key[0], key[1], code[key], written[name][key]) for i, (name, key) in enumerate(pairs, 1)]


def _side_by_side(
    chosen: Sequence[tuple[str, str]], code: dict[tuple[str, str], str], written: dict[str, dict[tuple[str, str], str]],
    rng: random.Random,
) -> list[Item]:
    items: list[Item] = []
    for key in chosen:
        # The same text rated twice would only add noise: one item, every system that wrote it.
        texts: dict[str, list[str]] = {}
        for name, docstrings in written.items():
            texts.setdefault(docstrings[key].strip(), []).append(name)
        groups = list(texts.items())
        rng.shuffle(groups)
        for text, names in groups:
            items.append(Item(len(items) + 1, tuple(names), key[0], key[1], code[key], text))
    return items


def entry_names(docstring: str) -> list[str]:
    """The docstring's section entries as the sheets name them: ``param x``, ``returns`` (or
    ``yields``), ``raises E``."""
    from docstring_parser import parse

    try:
        parsed = parse(docstring)
    except Exception:  # docstring_parser's ParseError and the odd ValueError: nothing to list
        return []
    names = [f"param {param.arg_name}" for param in parsed.params]
    names += ["yields" if meta.is_generator else "returns" for meta in parsed.many_returns[:1]]
    return names + [f"raises {meta.type_name}" for meta in parsed.raises if meta.type_name]


def entry_part(name: str) -> str:
    """An entry's name on the sheets as the confidence gates name its part (``confidence.part_spans``)."""
    from docucode_hook.precision.confidence import EXCEPTION_PREFIX, PARAMETER_PREFIX, RESULT
    from docucode_hook.docstrings.sections import short_name

    kind, _, rest = name.partition(" ")
    if kind == "param":
        return PARAMETER_PREFIX + rest.lstrip("*")
    if kind == "raises":
        return EXCEPTION_PREFIX + short_name(rest)
    return RESULT


def _docstring_lines(item: Item, heading: str) -> list[str]:
    entries = entry_names(item.docstring)
    return [heading, "", "Docstring:", "", "```", item.docstring.rstrip(), "```", "",
            f"Entries: {', '.join(f'`{name}`' for name in entries) if entries else 'none'}", ""]


def _sheet(items: Sequence[Item], title: str) -> str:
    lines = [f"# {title}", "", INSTRUCTIONS]
    for item in items:
        lines += [f"## Item {item.id}", "", "```python", item.code.rstrip(), "```", ""]
        lines += _docstring_lines(item, "")[2:]
    return "\n".join(lines)


def _functions(items: Sequence[Item]) -> list[list[Item]]:
    """Side-by-side items grouped by function, in sheet order."""
    groups: list[list[Item]] = []
    for item in items:
        if groups and (groups[-1][0].path, groups[-1][0].qualname) == (item.path, item.qualname):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _side_by_side_sheet(functions: Sequence[Sequence[Item]], title: str) -> str:
    lines = [f"# {title}", "", INSTRUCTIONS, SIDE_BY_SIDE]
    for function in functions:
        first, last = function[0].id, function[-1].id
        lines += [f"## `{function[0].qualname}` (" + (f"items {first}-{last})" if last > first else f"item {first})"), "",
                  "```python", function[0].code.rstrip(), "```", ""]
        for item in function:
            lines += _docstring_lines(item, f"### Item {item.id}")
    return "\n".join(lines)


def write_sheets(items: Sequence[Item], out: Path, sheets: int, side_by_side: bool = False) -> None:
    """``sheet-K.md`` (code and docstring only) for each reviewer, and ``key.csv`` (who wrote what).

    Side by side, each sheet holds whole functions, consecutive ones, about as many items on
    every sheet; otherwise item K goes to sheet K modulo ``sheets``.
    """
    out.mkdir(parents=True, exist_ok=True)
    functions = _functions(items) if side_by_side else []
    for k in range(sheets):
        title = f"Blind review, sheet {k + 1} of {sheets}"
        if side_by_side:
            part = [f for f in functions if k * len(items) <= (f[0].id - 1) * sheets < (k + 1) * len(items)]
            text = _side_by_side_sheet(part, title)
        else:
            text = _sheet(items[k::sheets], title)
        (out / f"sheet-{k + 1}.md").write_text(text, encoding="utf-8")
    with (out / "key.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("id", "system", "path", "qualname"))
        writer.writerows((item.id, system, item.path, item.qualname) for item in items for system in item.systems)


class Rating(NamedTuple):
    summary: str
    accepted: str
    description: str | None  # None: the sheet did not ask (older reviews)
    entries: dict[str, str] | None = None  # entry name -> rating; None: the sheet did not ask


def _entries(field: str | None, where: str) -> dict[str, str] | None:
    if field is None:
        return None
    entries = {}
    for pair in filter(None, (piece.strip() for piece in field.split(";"))):
        name, _, rating = pair.rpartition("=")
        rating = rating.strip().lower().strip("`")
        if not name.strip() or rating not in SUMMARY_RATINGS:
            raise ReviewError(f"{where}: entry rating {pair!r} is not NAME=one of {SUMMARY_RATINGS}")
        entries[name.strip().strip("`")] = rating
    return entries


def read_ratings(paths: Iterable[Path]) -> dict[int, Rating]:
    """Item id -> its ratings, checked against the allowed words."""
    ratings: dict[int, Rating] = {}
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), 2):
                summary, accepted = row["summary"].strip().lower(), row["accepted"].strip().lower()
                if summary not in SUMMARY_RATINGS or accepted not in ACCEPT_RATINGS:
                    raise ReviewError(f"{path}:{line}: rating {summary!r}/{accepted!r} is not one of {SUMMARY_RATINGS}/{ACCEPT_RATINGS}")
                description = row["description"].strip().lower() if row.get("description") is not None else None
                if description is not None and description not in DESCRIPTION_RATINGS:
                    raise ReviewError(f"{path}:{line}: description rating {description!r} is not one of {DESCRIPTION_RATINGS}")
                entries = _entries(row.get("entries"), f"{path}:{line}")
                ratings[int(row["id"])] = Rating(summary, accepted, description, entries)
    return ratings


def tally(out: Path) -> dict[str, dict[str, float]]:
    """Per system: the share of summaries correct/vague/wrong and of docstrings accepted, in percent."""
    # One row per (item, system): an item that several systems wrote alike counts for each.
    with (out / "key.csv").open(encoding="utf-8", newline="") as handle:
        systems = [(int(row["id"]), row["system"]) for row in csv.DictReader(handle)]
    ratings = read_ratings(sorted(out.glob("ratings-*.csv")))
    missing = sorted({item for item, _ in systems} - set(ratings))
    if missing:
        raise ReviewError(f"{out}: items without a rating: {missing[:10]}")
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for item, system in systems:
        rating = ratings[item]
        counts[system].update((rating.summary, f"accepted {rating.accepted}", "items"))
        if rating.entries is not None:
            counts[system].update(f"entries {word}" for word in rating.entries.values())
            counts[system].update(("rated entries",) + (("a wrong entry",) if "wrong" in rating.entries.values() else ()))
    table = {}
    for system, c in sorted(counts.items()):
        table[system] = {
            **{word: 100 * c[word] / c["items"] for word in SUMMARY_RATINGS},
            "accepted (as-is or light)": 100 * (c["accepted as-is"] + c["accepted light"]) / c["items"],
            "accepted as-is": 100 * c["accepted as-is"] / c["items"],
            "items": c["items"],
        }
        entries = sum(c[f"entries {word}"] for word in SUMMARY_RATINGS)
        if c["rated entries"]:
            table[system] |= {f"entries {word}": 100 * c[f"entries {word}"] / (entries or 1) for word in SUMMARY_RATINGS}
            table[system]["docstrings with a wrong entry"] = 100 * c["a wrong entry"] / c["rated entries"]
    return table


def tally_markdown(table: dict[str, dict[str, float]]) -> str:
    columns = ["correct", "vague", "wrong", "accepted (as-is or light)", "accepted as-is", "items"]
    if all("entries wrong" in row for row in table.values()):
        columns[3:3] = ["entries correct", "entries vague", "entries wrong", "docstrings with a wrong entry"]
    lines = ["| system | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for system, row in table.items():
        cells = [f"{row[c]:.0f}" if c == "items" else f"{row[c]:.0f}%" for c in columns]
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _run_spec(text: str) -> tuple[str, tuple[Path, str | None]]:
    name, sep, where = text.partition("=")
    path, at, backend = where.rpartition("@") if "@" in where else (where, "", "")
    if not sep or not name or not path or (at and not backend):
        raise argparse.ArgumentTypeError(f"--run takes NAME=OUTPUTS.jsonl[@BACKEND], got {text!r}")
    return name, (Path(path), backend or None)


@dataclass(frozen=True, kw_only=True)
class SheetsCommand:
    """Write the blind sheets and key.csv."""

    data: Path = arg(help="the test split (code_snippet per function)")
    run: tuple[tuple[str, tuple[Path, str | None]], ...] = arg(
        parse=_run_spec, append=True,
        help="NAME=outputs.jsonl.gz of train.evaluate, its first backend's rows; NAME=outputs.jsonl.gz@template for another's")
    sample: int = arg(50)
    seed: int = arg(0)
    sheets: int = arg(1, help="split the items over this many reviewers")
    reference: str | None = arg(None, metavar="NAME", help="also show each function's own docstring (the data's "
                                "completion) as system NAME")
    side_by_side: bool = arg(False, help="show each function once with all its docstrings, the same text once")
    out: Path = arg()


@dataclass(frozen=True, kw_only=True)
class TallyCommand:
    """Score ratings-*.csv against key.csv."""

    out: Path = arg()


def main(argv: Sequence[str] | None = None) -> int:
    command, args = parse_command({"sheets": SheetsCommand, "tally": TallyCommand}, argv,
                                  prog="python -m train.blind_review", description=__doc__.split("\n", 1)[0])
    try:
        if command == "sheets":
            items = build_items(args.data, dict(args.run), args.sample, args.seed, args.reference, args.side_by_side)
            write_sheets(items, args.out, args.sheets, args.side_by_side)
        else:
            table = tally(args.out)
            (args.out / "tally.md").write_text(tally_markdown(table), encoding="utf-8")
            (args.out / "tally.json").write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
            print(tally_markdown(table), end="")
    except (ReviewError, OSError, KeyError) as error:
        print(f"train.blind_review: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
