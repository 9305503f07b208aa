"""The blind review: sheets show only code and docstring, and the tally counts what reviewers wrote."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from train import blind_review


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture()
def review_dir(tmp_path: Path) -> Path:
    functions = [(f"pkg/m{i}.py", f"f{i}", f"def f{i}(x):\n    return x + {i}\n") for i in range(4)]
    data = _jsonl(tmp_path / "test.jsonl", [
        {"path": p, "qualname": q, "code_snippet": c, "completion": "REFERENCE TEXT", "task": "docstring"}
        for p, q, c in functions
    ])
    run_a = _jsonl(tmp_path / "a.jsonl", [{"path": p, "qualname": q, "grounded": f"Add {i} to x."} for i, (p, q, _) in enumerate(functions)])
    # run b misses the last function: it cannot be sampled
    run_b = _jsonl(tmp_path / "b.jsonl", [{"path": p, "qualname": q, "grounded": "Do something."} for p, q, _ in functions[:3]])
    out = tmp_path / "blind"
    assert blind_review.main(["sheets", "--data", str(data), "--run", f"alpha={run_a}", "--run", f"beta={run_b}",
                              "--sample", "3", "--seed", "1", "--sheets", "2", "--out", str(out)]) == 0
    return out


def test_sheets_hide_the_system_and_the_reference(review_dir: Path) -> None:
    sheets = [review_dir / "sheet-1.md", review_dir / "sheet-2.md"]
    text = "".join(path.read_text(encoding="utf-8") for path in sheets)
    assert text.count("## Item ") == 6  # 3 functions x 2 systems
    assert "alpha" not in text and "beta" not in text and "REFERENCE TEXT" not in text
    assert "def f3" not in text  # only functions both systems documented
    with (review_dir / "key.csv").open(encoding="utf-8") as handle:
        key = list(csv.DictReader(handle))
    assert sorted(row["system"] for row in key) == ["alpha"] * 3 + ["beta"] * 3


def test_tally_counts_each_system(review_dir: Path) -> None:
    with (review_dir / "key.csv").open(encoding="utf-8") as handle:
        key = list(csv.DictReader(handle))
    rows = ["id,summary,accepted,note"] + [
        f"{row['id']},{'correct' if row['system'] == 'alpha' else 'wrong'},{'light' if row['system'] == 'alpha' else 'no'},"
        for row in key
    ]
    (review_dir / "ratings-1.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert blind_review.main(["tally", "--out", str(review_dir)]) == 0
    table = json.loads((review_dir / "tally.json").read_text(encoding="utf-8"))
    assert table["alpha"]["correct"] == 100 and table["alpha"]["accepted (as-is or light)"] == 100
    assert table["beta"]["wrong"] == 100 and table["beta"]["accepted (as-is or light)"] == 0


def test_a_bad_rating_names_the_file_and_line(review_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (review_dir / "ratings-1.csv").write_text("id,summary,accepted,note\n1,great,as-is,\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        blind_review.main(["tally", "--out", str(review_dir)])
    assert stop.value.code == 2
    assert "ratings-1.csv:2: rating 'great'" in capsys.readouterr().err


def test_too_small_a_split_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _jsonl(tmp_path / "test.jsonl", [{"path": "a.py", "qualname": "f", "code_snippet": "def f(): pass\n"}])
    run = _jsonl(tmp_path / "r.jsonl", [{"path": "a.py", "qualname": "f", "grounded": "Do f."}])
    with pytest.raises(SystemExit):
        blind_review.main(["sheets", "--data", str(data), "--run", f"r={run}", "--sample", "5", "--out", str(tmp_path / "o")])
    assert "only 1 functions" in capsys.readouterr().err


def test_a_run_is_one_backend_of_an_outputs_file(tmp_path: Path) -> None:
    # train.evaluate writes the model's rows, then the baseline's for the same functions.
    functions = [(f"m{i}.py", f"f{i}", f"def f{i}(x):\n    return x\n") for i in range(2)]
    data = _jsonl(tmp_path / "test.jsonl", [{"path": p, "qualname": q, "code_snippet": c} for p, q, c in functions])
    outputs = _jsonl(tmp_path / "outputs.jsonl", [
        {"backend": backend, "path": p, "qualname": q, "grounded": f"{backend} text."}
        for backend in ("model", "template") for p, q, _ in functions
    ])
    for spec, expected in ((f"m={outputs}", "model text."), (f"m={outputs}@template", "template text.")):
        out = tmp_path / expected.split()[0]
        assert blind_review.main(["sheets", "--data", str(data), "--run", spec, "--sample", "2", "--out", str(out)]) == 0
        sheet = (out / "sheet-1.md").read_text(encoding="utf-8")
        assert sheet.count(expected) == 2 and sheet.count(" text.") == 2
    with pytest.raises(SystemExit):
        blind_review.main(["sheets", "--data", str(data), "--run", f"m={outputs}@server", "--sample", "2",
                           "--out", str(tmp_path / "none")])


def test_sheets_list_the_entries_and_the_tally_counts_their_ratings(tmp_path: Path) -> None:
    code = "def f(x, *rest):\n    if not x:\n        raise ValueError(x)\n    return x\n"
    data = _jsonl(tmp_path / "test.jsonl", [{"path": "m.py", "qualname": "f", "code_snippet": code}])
    doc = "Check x.\n\nArgs:\n    x: The value.\n    *rest: More.\n\nReturns:\n    x.\n\nRaises:\n    ValueError: If x is empty."
    run = _jsonl(tmp_path / "r.jsonl", [{"path": "m.py", "qualname": "f", "grounded": doc}])
    out = tmp_path / "blind"
    assert blind_review.main(["sheets", "--data", str(data), "--run", f"r={run}", "--sample", "1", "--out", str(out)]) == 0
    sheet = (out / "sheet-1.md").read_text(encoding="utf-8")
    assert "Entries: `param x`, `param *rest`, `returns`, `raises ValueError`" in sheet
    assert [blind_review.entry_part(name) for name in blind_review.entry_names(doc)] == [
        "param:x", "param:rest", "result", "raises:ValueError"]
    (out / "ratings-1.csv").write_text(
        "id,summary,description,entries,accepted,note\n"
        "1,correct,none,param x=correct; param *rest=vague; returns=vague; raises ValueError=wrong,no,raise\n",
        encoding="utf-8")
    assert blind_review.main(["tally", "--out", str(out)]) == 0
    table = json.loads((out / "tally.json").read_text(encoding="utf-8"))["r"]
    assert (table["entries correct"], table["entries vague"], table["entries wrong"]) == (25, 50, 25)
    assert table["docstrings with a wrong entry"] == 100
    assert "docstrings with a wrong entry" in (out / "tally.md").read_text(encoding="utf-8")
    (out / "ratings-1.csv").write_text("id,summary,description,entries,accepted,note\n1,correct,none,returns=great,no,\n")
    with pytest.raises(SystemExit):
        blind_review.main(["tally", "--out", str(out)])


@pytest.fixture()
def side_by_side_dir(tmp_path: Path) -> Path:
    # Four functions; runs a and b wrote f0's docstring alike, and every run wrote f3's alike.
    functions = [(f"pkg/m{i}.py", f"f{i}", f"def f{i}(x):\n    return x * {i}\n") for i in range(4)]
    data = _jsonl(tmp_path / "sample.jsonl", [
        {"path": p, "qualname": q, "code_snippet": c, "completion": f"Multiply x by {i}, the package's way."}
        for i, (p, q, c) in enumerate(functions)
    ])
    same = "Multiply x by 3, the package's way."
    run_a = _jsonl(tmp_path / "a.jsonl", [
        {"path": p, "qualname": q, "grounded": same if i == 3 else f"Scale x by {i}."} for i, (p, q, _) in enumerate(functions)])
    run_b = _jsonl(tmp_path / "b.jsonl", [
        {"path": p, "qualname": q, "grounded": same if i == 3 else "Scale x by 0." if i == 0 else "Return the f."}
        for i, (p, q, _) in enumerate(functions)])
    out = tmp_path / "blind"
    assert blind_review.main(["sheets", "--data", str(data), "--run", f"alpha={run_a}", "--run", f"beta={run_b}",
                              "--reference", "ceiling", "--side-by-side", "--sample", "4", "--seed", "3",
                              "--sheets", "2", "--out", str(out)]) == 0
    return out


def _key_rows(directory: Path) -> list[dict[str, str]]:
    with (directory / "key.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_side_by_side_shows_each_function_once_with_every_systems_text_once(side_by_side_dir: Path) -> None:
    sheets = [(side_by_side_dir / f"sheet-{k}.md").read_text(encoding="utf-8") for k in (1, 2)]
    text = "".join(sheets)
    for i in range(4):
        assert text.count(f"def f{i}(x):") == 1  # the code once, its docstrings under it
        assert sum(f"def f{i}(x):" in sheet for sheet in sheets) == 1  # a function is never split over sheets
    assert all(sheet.count("def f") >= 1 for sheet in sheets)
    assert "alpha" not in text and "beta" not in text and "ceiling" not in text
    assert text.count("Multiply x by 3, the package's way.") == 1  # three systems, one text, one item
    assert text.count("Scale x by 0.") == 1 and text.count("Multiply x by 0, the package's way.") == 1
    key = _key_rows(side_by_side_dir)
    systems: dict[tuple[str, str], set[str]] = {}
    for row in key:
        systems.setdefault((row["qualname"], row["id"]), set()).add(row["system"])
    by_function: dict[str, list[set[str]]] = {}
    for (qualname, _), names in systems.items():
        by_function.setdefault(qualname, []).append(names)
    assert sorted(map(sorted, by_function["f0"])) == [["alpha", "beta"], ["ceiling"]]
    assert by_function["f3"] == [{"alpha", "beta", "ceiling"}]
    assert sorted(map(sorted, by_function["f1"])) == [["alpha"], ["beta"], ["ceiling"]]
    assert text.count("### Item ") == len({row["id"] for row in key}) == 2 + 3 + 3 + 1
    ids = [int(row["id"]) for row in key]
    assert sorted(set(ids)) == list(range(1, 10))


def test_tally_counts_a_shared_item_for_every_system_that_wrote_it(side_by_side_dir: Path) -> None:
    key = _key_rows(side_by_side_dir)
    ids = sorted({int(row["id"]) for row in key})
    shared = {row["id"] for row in key if row["qualname"] == "f0" and row["system"] == "alpha"}
    rows = ["id,summary,description,entries,accepted,note"]
    rows += [f"{i},{'wrong' if str(i) in shared else 'correct'},none,,{'no' if str(i) in shared else 'as-is'}," for i in ids]
    (side_by_side_dir / "ratings-1.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert blind_review.main(["tally", "--out", str(side_by_side_dir)]) == 0
    table = json.loads((side_by_side_dir / "tally.json").read_text(encoding="utf-8"))
    assert table["alpha"]["items"] == table["beta"]["items"] == table["ceiling"]["items"] == 4
    assert table["alpha"]["wrong"] == table["beta"]["wrong"] == 25 and table["ceiling"]["wrong"] == 0


def test_a_reference_that_is_also_a_run_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _jsonl(tmp_path / "d.jsonl", [{"path": "a.py", "qualname": "f", "code_snippet": "def f(): pass\n",
                                          "completion": "Do f."}])
    run = _jsonl(tmp_path / "r.jsonl", [{"path": "a.py", "qualname": "f", "grounded": "Do f."}])
    with pytest.raises(SystemExit):
        blind_review.main(["sheets", "--data", str(data), "--run", f"r={run}", "--reference", "r", "--sample", "1",
                           "--out", str(tmp_path / "o")])
    assert "--reference 'r' is also the name of a --run" in capsys.readouterr().err
