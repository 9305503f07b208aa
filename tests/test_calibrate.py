"""Calibration: the gates swept over a blind review and reference docstrings, written to docucode.json."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docucode_hook.precision.confidence import load_thresholds
from train import calibrate
from train.calibrate import Sample, choose_threshold, sweep

# Six summaries the model wrote, by score; below the gate each gives way to a derived one.
SAMPLES = [
    Sample(0.9, "correct", "vague"),
    Sample(0.8, "wrong", "vague"),
    Sample(0.7, "correct", "vague"),
    Sample(0.6, "vague", "vague"),
    Sample(0.5, "wrong", "wrong"),  # the derived summary can be wrong too
    Sample(None, "correct", "correct"),  # no score: the gate never touches it
]


def test_sweep_counts_every_function_with_what_stands_in_below_the_gate() -> None:
    curve = sweep(SAMPLES)
    assert [point.threshold for point in curve] == [-math.inf, 0.5, 0.6, 0.7, 0.8, 0.9, math.inf]
    assert [point.kept for point in curve] == [5, 5, 4, 3, 2, 1, 0]
    everything, at_09, nothing = curve[0], curve[-2], curve[-1]
    assert (everything.correct, everything.vague, everything.wrong) == (pytest.approx(3 / 6), pytest.approx(1 / 6), pytest.approx(2 / 6))
    assert (at_09.correct, at_09.wrong) == (pytest.approx(2 / 6), pytest.approx(1 / 6))
    assert (nothing.correct, nothing.wrong) == (pytest.approx(1 / 6), pytest.approx(1 / 6))
    # At most 20% wrong: the 0.9 gate keeps the most correct. None reaches 10%: the least wrong, loosest.
    assert choose_threshold(curve, max_wrong=0.20).threshold == 0.9
    assert choose_threshold(curve, max_wrong=0.10).threshold == 0.9
    with pytest.raises(ValueError, match="rating must be one of"):
        sweep([Sample(0.1, "fine", "vague")])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(Sample, st.one_of(st.none(), st.floats(0, 1)), st.sampled_from(["correct", "vague", "wrong"]),
                          st.sampled_from(["correct", "vague", "wrong", "none"])), min_size=1, max_size=30))
def test_sweep_keeps_fewer_parts_as_the_gate_tightens(samples: list[Sample]) -> None:
    curve = sweep(samples)
    assert curve[0].kept == sum(sample.score is not None for sample in samples) and curve[-1].kept == 0
    for looser, tighter in zip(curve, curve[1:]):
        assert tighter.kept <= looser.kept
    for point in curve:
        assert point.correct + point.vague + point.wrong <= 1 + 1e-9
    chosen = choose_threshold(curve, 0.10)
    assert chosen.wrong <= 0.10 or chosen.wrong == min(point.wrong for point in curve)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_calibrate_writes_every_gate_and_the_curves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Three functions. The model was sure of f0's right summary and of f1's wrong one, unsure of
    # f2's; its description of f0 is wrong. Its description of x is right only where it was
    # sure (f0), and its Returns text is wrong where it was unsure (f2).
    runs, model_dir = tmp_path / "runs", tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "docucode.json").write_text(json.dumps({"thresholds": {"weight": 0.25, "exception": 0.4}}))
    off, floor = [], []
    for index, (summary_score, param_score, result_score) in enumerate([(0.9, 0.8, 0.9), (0.6, 0.3, 0.7), (0.2, 0.2, 0.1)]):
        function = {"backend": "model", "path": "m.py", "qualname": f"f{index}"}
        scores = {"summary": summary_score, "param:x": param_score, "result": result_score,
                  **({"description": 0.7} if index == 0 else {})}
        off.append({**function, "scores": scores, "grounded": f"Model summary {index}."})
        floor.append({**function, "scores": scores, "grounded": f"Derived summary {index}."})
    _jsonl(runs / "off" / "outputs.jsonl", off)
    _jsonl(runs / "all" / "outputs.jsonl", floor)
    blind = runs / "blind"
    blind.mkdir()
    (blind / "key.csv").write_text("id,system,path,qualname\n" + "".join(
        f"{2 * i + 1},model,m.py,f{i}\n{2 * i + 2},derived,m.py,f{i}\n" for i in range(3)))
    (blind / "ratings-1.csv").write_text(
        "id,summary,description,entries,accepted,note\n"
        "1,correct,wrong,param x=correct; returns=correct,no,\n2,vague,none,param x=vague; returns=vague,light,\n"
        "3,wrong,none,param x=wrong; returns=correct,no,false\n4,vague,none,param x=vague; returns=vague,light,\n"
        "5,correct,none,param x=wrong; returns=wrong,light,\n6,vague,none,param x=vague; returns=vague,light,\n"
    )
    argv = ["--runs", str(runs), "--model-dir", str(model_dir), "--max-wrong", "0.10"]
    assert calibrate.main(argv) == 0
    thresholds = load_thresholds(model_dir)
    # Summary: keeping f1's wrong one is 33% wrong; a gate above 0.6 drops it and f2's correct one
    # (0.2), so the best point at most 10% wrong keeps f0 only: just under 0.9.
    assert 0.6 < thresholds.summary <= 0.9 and thresholds.summary == pytest.approx(0.9, abs=1e-3)
    # Description: f0's is wrong; dropping it (gate above 0.7) leaves no wrong description.
    assert thresholds.description == 1.0
    # Parameters: f1's and f2's are wrong: keeping f0's alone (a gate just under 0.8) is best.
    assert thresholds.parameter == pytest.approx(0.8, abs=1e-3)
    # Result: only f2's (0.1) is wrong; a gate just under 0.7 keeps the two correct ones.
    assert thresholds.result == pytest.approx(0.7, abs=1e-3)
    # No exception was rated: its gate, and the weight, stay as they were.
    assert thresholds.exception == 0.4 and thresholds.weight == 0.25
    curves = (runs / "curve.md").read_text(encoding="utf-8")
    assert "### summary (3 functions)" in curves and "### parameter (3 entries)" in curves and "**(chosen)**" in curves
    assert "### exception (no rated parts" in curves
    assert "Written to `docucode.json`" in capsys.readouterr().out
    # A second review of the same functions pools with the first: twice the samples, the same shares.
    shutil.copytree(blind, tmp_path / "again")
    assert calibrate.main([*argv, "--review", str(tmp_path / "again")]) == 0
    assert load_thresholds(model_dir) == thresholds
    assert "### summary (6 functions)" in (runs / "curve.md").read_text(encoding="utf-8")


def test_sheets_without_entries_cannot_set_the_entry_gates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    function = {"backend": "model", "path": "m.py", "qualname": "f", "scores": {"summary": 0.5}, "grounded": "F."}
    _jsonl(runs / "off" / "outputs.jsonl", [function])
    (runs / "blind").mkdir()
    (runs / "blind" / "key.csv").write_text("id,system,path,qualname\n1,model,m.py,f\n2,derived,m.py,f\n")
    (runs / "blind" / "ratings-1.csv").write_text("id,summary,description,accepted,note\n1,correct,none,light,\n2,vague,none,light,\n")
    assert calibrate.main(["--runs", str(runs), "--model-dir", str(tmp_path)]) == 2
    assert "no entry rated for both systems" in capsys.readouterr().err


def test_missing_ratings_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    (runs / "blind").mkdir(parents=True)
    argv = ["--runs", str(runs), "--model-dir", str(tmp_path)]
    assert calibrate.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("train.calibrate: ") and "key.csv" in err and len(err.strip().splitlines()) == 1


def test_a_side_by_side_review_with_more_systems_and_shared_items_is_read(tmp_path: Path) -> None:
    # The far set's review: four systems; where two wrote the same text they share one item.
    off = [{"backend": "model", "path": "m.py", "qualname": f"f{i}", "grounded": "T.",
            "scores": {"summary": score, "param:x": score}} for i, score in enumerate((0.9, 0.4))]
    _jsonl(tmp_path / "off.jsonl", off)
    blind = tmp_path / "blind"
    blind.mkdir()
    # f0: the default kept the model's text (item 1), the derived text is item 2, the own docstring 3.
    # f1: the model, the default and the derived text came out alike (item 4).
    (blind / "key.csv").write_text(
        "id,system,path,qualname\n1,model,m.py,f0\n1,default,m.py,f0\n2,derived,m.py,f0\n3,own,m.py,f0\n"
        "4,derived,m.py,f1\n4,model,m.py,f1\n4,default,m.py,f1\n5,own,m.py,f1\n")
    (blind / "ratings-1.csv").write_text(
        "id,summary,description,entries,accepted,note\n1,correct,none,param x=wrong,no,\n"
        "2,vague,none,param x=vague,light,\n3,correct,none,param x=correct,as-is,\n"
        "4,vague,none,param x=vague,light,\n5,correct,none,,as-is,\n")
    samples = calibrate.reviewed_samples(blind, tmp_path / "off.jsonl")
    assert samples["summary"] == [Sample(0.9, "correct", "vague"), Sample(0.4, "vague", "vague")]
    assert samples["parameter"] == [Sample(0.9, "wrong", "vague"), Sample(0.4, "vague", "vague")]
