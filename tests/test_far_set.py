"""The far set: the rank window and its guard, the seeded draw through real pip (offline), mining and the sample."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from packaging.tags import sys_tags

from train import corpus, far_set
from train.corpus import Package
from train.far_set import FarSetError, draw, draw_order, ranked_packages, read_far_list, sample_functions, why_left_out
from wheels import make_wheel

HEADER = "name\tversion\tmonth\trank_among_15000_most_downloaded\tsummary\n"
FUNCTION = b'def scale(values, factor):\n    """Multiply every value by factor."""\n    return [v * factor for v in values]\n'
GPL = "License-Expression: GPL-3.0-only"


def _ranked(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(HEADER + "".join(f"{name}\t1.0\t2026-01\t{rank}\tsummary\n" for name, rank in rows), encoding="utf-8")
    return path


def test_only_the_far_window_is_read_and_the_measuring_window_is_refused(tmp_path: Path) -> None:
    listing = _ranked(tmp_path / "ranked.tsv", [
        ("top", "12"), ("measure-a", "5001"), ("measure-b", "8000"), ("far-a", "8001"), ("far-b", "12000"),
        ("far-c", "15000"), ("unranked", ""), ("beyond", "15001"),
    ])
    assert [(p.name, p.rank) for p in ranked_packages(listing)] == [("far-a", 8001), ("far-b", 12000), ("far-c", 15000)]
    for window in ((7000, 9000), (5001, 5001), (1, 15000), (8000, 8100)):
        with pytest.raises(FarSetError, match="kept for measuring"):
            ranked_packages(listing, window)
    (tmp_path / "plain.tsv").write_text("name\tversion\nx\t1\n")
    with pytest.raises(FarSetError, match="no rank_among_15000_most_downloaded column"):
        ranked_packages(tmp_path / "plain.tsv")


def test_the_draw_order_is_seeded_and_leaves_the_corpus_out() -> None:
    candidates = [Package(8001 + i, f"Pkg_{i}", "1.0") for i in range(40)]
    order = draw_order(candidates, {"pkg-3", "pkg-7"}, seed=0)
    assert {p.name for p in order} == {p.name for p in candidates} - {"Pkg_3", "Pkg_7"}
    assert order == draw_order(list(reversed(candidates)), {"pkg-3", "pkg-7"}, seed=0)  # input order does not count
    assert order != draw_order(candidates, {"pkg-3", "pkg-7"}, seed=1)
    assert order != sorted(order, key=lambda p: p.rank)


def test_the_corpus_list_holds_its_own_top_packages() -> None:
    names = far_set.corpus_names()
    assert {"requests", "packaging", "urllib3"} <= names and len(names) >= 4999


@pytest.fixture()
def offline_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Real pip, served from a folder of wheels instead of the package index."""
    links = tmp_path / "links"
    links.mkdir()
    compiled = next(iter(sys_tags()))  # a tag pip takes on this interpreter: a compiled wheel here
    wheels = {
        "alpha_far-1.0-py3-none-any.whl": ("alpha_far", "License-Expression: MIT"),
        f"beta_far-1.0-{compiled.interpreter}-{compiled.abi}-{compiled.platform}.whl": ("beta_far", "License-Expression: MIT"),
        "gamma_far-1.0-py3-none-any.whl": ("gamma_far", GPL),
        "delta_far-1.0-py3-none-any.whl": ("delta_far", "License-Expression: BSD-3-Clause"),
        "epsilon_far-1.0-py3-none-any.whl": ("epsilon_far", "License-Expression: Apache-2.0"),
    }
    for filename, (name, licence) in wheels.items():
        make_wheel(links / filename, name, {f"{name}/__init__.py": FUNCTION}, licence)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    return links


def test_draw_keeps_the_first_pure_permissive_packages_in_order_and_resumes(offline_index: Path, tmp_path: Path) -> None:
    order = [Package(9000 + i, f"{name}-far", "1.0") for i, name in enumerate(("alpha", "beta", "gamma", "delta", "epsilon"))]
    cache = tmp_path / "cache"
    result = draw(order, cache, count=2, jobs=2, chunk=4)
    assert [p.name for p, _ in result.kept] == ["alpha-far", "delta-far"]
    assert [(p.name, far_set.verdict(o)) for p, o in result.tried] == [
        ("alpha-far", "kept"), ("beta-far", "compiled wheel"), ("gamma-far", "licence GPL"), ("delta-far", "kept")]
    manifest = cache / "manifest.jsonl"
    assert len(manifest.read_text().splitlines()) == 4  # one chunk: epsilon was not needed, so never fetched
    # Resumed with one more wanted: only epsilon is fetched, the rest come from the manifest.
    again = draw(order, cache, count=3, jobs=2, chunk=4)
    assert [p.name for p, _ in again.kept] == ["alpha-far", "delta-far", "epsilon-far"]
    assert len(manifest.read_text().splitlines()) == 5
    listing = tmp_path / "far.txt"
    listing.write_text(far_set.far_list_text(again, ["How it was drawn.", ""]), encoding="utf-8")
    text = listing.read_text(encoding="utf-8")
    assert text.startswith("# How it was drawn.\n#\n# Tried 5 in that order to keep 3; left out: ")
    assert "# left out: 9001\tbeta-far\t1.0\tcompiled wheel" in text
    assert [(p.name, p.licence) for p in read_far_list(listing)] == [
        ("alpha-far", "MIT"), ("delta-far", "BSD"), ("epsilon-far", "Apache-2.0")]


def test_draw_main_writes_the_list_with_its_header(offline_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = _ranked(tmp_path / "ranked.tsv", [("alpha-far", "9000"), ("gamma-far", "9001"), ("requests", "9002"),
                                                ("measure-far", "6000")])
    out = tmp_path / "far.txt"
    argv = ["draw", "--ranked", str(listing), "--count", "1", "--cache", str(tmp_path / "cache"), "--out", str(out)]
    assert far_set.main(argv) == 0
    text = out.read_text(encoding="utf-8")
    assert "(3 packages),\n#   less the 1 in the corpus list" in text and "Ranks 5,001-8,000 are kept" in text
    assert [p.name for p in read_far_list(out)] == ["alpha-far"]
    assert "measure-far" not in text and "requests" not in text


def _record(qualname: str, code: str, path: str = "pkg/mod.py", package: str = "pkg") -> dict:
    return {"qualname": qualname, "code_snippet": code, "path": path, "package": package, "task": "docstring"}


TWO_LINES = "def f(x):\n    y = x + 1\n    return y\n"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (_record("f", TWO_LINES), None),
        (_record("Box.grow", TWO_LINES.replace("(x)", "(self, x)")), None),
        (_record("f", TWO_LINES, path="pkg/__init__.py"), None),
        (_record("f", "def f(x):\n    if x:\n        return 1\n    return 2\n"), None),
        (_record("f", "def f(x):\n    for v in x:\n        print(v)\n"), None),  # one statement, but a block
        (_record("_f", TWO_LINES), "private or dunder name"),
        (_record("Box.__init__", TWO_LINES), "private or dunder name"),
        (_record("_Box.grow", TWO_LINES), "private or dunder name"),
        (_record("f", TWO_LINES, path="pkg/_impl/mod.py"), "private module"),
        (_record("f", TWO_LINES, path="pkg/_mod.py"), "private module"),
        (_record("f.<locals>.g", TWO_LINES), "nested function"),
        (_record("f", "def f(x):\n    return x.y\n"), "one-line body"),
        (_record("f", "def f(x):\n    a = 1\n    ...  # truncated\n"), "code cut to fit the prompt"),
    ],
)
def test_why_a_function_is_left_out_of_the_sample(record: dict, reason: str | None) -> None:
    assert why_left_out(record) == reason


def test_the_sample_spreads_over_packages_first() -> None:
    records = [_record(f"f{i}", TWO_LINES, package=package) for package, n in (("a", 3), ("b", 1), ("c", 2)) for i in range(n)]
    records.append(_record("_hidden", TWO_LINES, package="d"))
    chosen, funnel = sample_functions(records, count=4, per_package=2, seed=0)
    packages = [r["package"] for r in chosen]
    assert sorted(set(packages)) == ["a", "b", "c"] and len(chosen) == 4 and max(map(packages.count, packages)) == 2
    assert funnel == {"eligible": 6, "private or dunder name": 1}
    assert sample_functions(records, count=4, per_package=2, seed=0)[0] == chosen
    everything, _ = sample_functions(records, count=100, per_package=2, seed=5)
    assert sorted(r["package"] for r in everything) == ["a", "a", "b", "c", "c"]
    assert len(sample_functions(records, count=100, per_package=1, seed=5)[0]) == 3


def test_a_held_out_sample_takes_no_function_of_the_first() -> None:
    records = [_record(f"f{i}", TWO_LINES, package=package) for package in ("a", "b") for i in range(3)]
    first, _ = sample_functions(records, count=2, per_package=1, seed=0)
    second, funnel = sample_functions(records, count=4, per_package=2, seed=0,
                                      exclude=frozenset(map(far_set.function_key, first)))
    assert len(second) == 4 and not {far_set.function_key(r) for r in first} & {far_set.function_key(r) for r in second}
    assert funnel == {"eligible": 4, "in an excluded sample": 2}


def test_sample_mines_the_listed_packages_and_writes_the_records(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = (b'def scale(values, factor):\n    """Multiply every value by the given factor."""\n'
              b"    scaled = [v * factor for v in values]\n    return scaled\n\n\n"
              b'def _hidden(values):\n    """Sum every value of the list given."""\n    total = sum(values)\n    return total\n')
    for name in ("far_one", "far_two"):
        wheel_path = make_wheel(tmp_path / f"{name}.whl", name, {f"{name}/core.py": source})
        with zipfile.ZipFile(wheel_path) as wheel:
            corpus.extract_wheel(wheel, cache / "src" / name)
    listing = tmp_path / "far.txt"
    listing.write_text("# drawn for a test\nrank\tname\tversion\tlicence\twheel\n9000\tfar_one\t1.0\tMIT\tw\n")
    out = tmp_path / "sample.jsonl"
    argv = ["sample", "--list", str(listing), "--cache", str(cache), "--mined", str(tmp_path / "mined"),
            "--workers", "1", "--out", str(out)]
    assert far_set.main(argv) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["package"], r["qualname"], r["summary"]) for r in rows] == [
        ("far_one", "scale", "Multiply every value by the given factor.")]
    assert '"""' not in rows[0]["code_snippet"] and rows[0]["completion"] == "Multiply every value by the given factor."
    listing.write_text(listing.read_text() + "9001\tfar_missing\t1.0\tMIT\tw\n")
    assert far_set.main(argv) == 2


def test_review_writes_every_system_and_side_by_side_sheets(tmp_path: Path, tiny_model_dir: Path) -> None:
    code = "def add(total: int, step: int) -> int:\n    result = total + step\n    return result\n"
    sample = tmp_path / "sample.jsonl"
    record = {"prompt": "### Instruction\nWrite a Google-style docstring for the Python function `add`.\n",
              "code_snippet": code, "completion": "Add step to the running total.", "task": "docstring",
              "package": "far", "licence": "MIT", "path": "far/m.py", "qualname": "add"}
    twin = {**record, "qualname": "plus", "code_snippet": code.replace("add", "plus")}
    sample.write_text(json.dumps(record) + "\n" + json.dumps(twin) + "\n")
    out = tmp_path / "far-v1"
    assert far_set.main(["review", "--sample", str(sample), "--out", str(out), "--sheets", "1",
                         "--model", str(tiny_model_dir)]) == 0
    for folder, gates in (("default", "model"), ("off", "off"), ("all", "all")):
        assert f"confidence gates: {gates}" in (out / folder / "report.md").read_text(encoding="utf-8")
    sheet = (out / "blind" / "sheet-1.md").read_text(encoding="utf-8")
    assert sheet.count("def add(") == 1 and sheet.count("def plus(") == 1
    assert sheet.count("Add step to the running total.") == 2  # the own docstring of each
    key = (out / "blind" / "key.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert {line.split(",")[1] for line in key} == {"default", "model", "derived", "own"}
    assert len(key) == 8  # four systems for each of the two functions
    # The before/after review: the default (with whatever gates the model now ships) and derived
    # text only, in a folder of their own, the sheets beside it; the first review stays as it was.
    after, after_blind = tmp_path / "after", tmp_path / "after-blind"
    argv = ["review", "--sample", str(sample), "--out", str(after), "--sheets", "1", "--model", str(tiny_model_dir),
            "--blind", str(after_blind), "--seed", "1"]
    assert far_set.main([*argv, "--systems", "default", "derived"]) == 0
    assert sorted(path.name for path in after.iterdir()) == ["all", "default"]
    key = (after_blind / "key.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert {line.split(",")[1] for line in key} == {"default", "derived", "own"}
    assert (out / "blind" / "key.csv").read_text(encoding="utf-8").count("\n") == 9
    assert far_set.main([*argv, "--systems", "default", "ungated"]) == 2
    # Once reviewers rated the sheets, no rerun writes over them or the outputs they rated.
    (after_blind / "ratings-1.csv").write_text("id,summary,description,entries,accepted,note\n")
    stamp = (after / "default" / "outputs.jsonl.gz").stat().st_mtime_ns
    assert far_set.main([*argv, "--systems", "default", "derived"]) == 2
    assert (after / "default" / "outputs.jsonl.gz").stat().st_mtime_ns == stamp
