"""Calibration: the gates swept over a blind review and reference docstrings, written to docucode.json."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docucode_hook.backends.loading import DEFAULT_MODEL_DIR
from docucode_hook.precision.confidence import Thresholds, configured_thresholds, load_thresholds, save_thresholds
from train import calibrate
from train.calibrate import Sample, choose_threshold, docstring_shares, fitted_preference, sweep
from train.data import gzip_text

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
    # Against derived text the model wins at 0.9 and 0.7, loses at 0.8 and ties at 0.6 and 0.5:
    # pooled where the preference would fall as the score rises, it is above 0 only at 0.9.
    assert [(point.above, point.below) for point in curve] == [(2, 1), (2, 1), (2, 1), (2, 1), (1, 1), (1, 0), (0, 0)]
    assert fitted_preference(SAMPLES) == {0.5: 0, 0.6: 0, 0.7: 0, 0.8: 0, 0.9: 1}
    assert [point.beats_derived for point in curve] == [False] * 5 + [True, True]
    # At most 20% wrong: the 0.9 gate keeps the most correct. None reaches 10%: the least wrong, loosest.
    assert choose_threshold(curve, max_wrong=0.20).threshold == 0.9
    assert choose_threshold(curve, max_wrong=0.10).threshold == 0.9
    with pytest.raises(ValueError, match="rating must be one of"):
        sweep([Sample(0.1, "fine", "vague")])


def test_a_part_is_kept_only_where_reviewers_rate_it_above_derived_text() -> None:
    # The model's surest summary is wrong and a less sure one right: keeping both has the most
    # correct parts within 50% wrong, but at no score is the model rated above derived text.
    samples = [Sample(0.9, "wrong", "vague"), Sample(0.5, "correct", "vague")]
    curve = sweep(samples)
    assert fitted_preference(samples) == {0.5: 0, 0.9: 0}
    assert not any(point.beats_derived for point in curve[:-1])
    chosen = choose_threshold(curve, max_wrong=0.5)
    assert chosen.threshold == math.inf and calibrate.gate_value(chosen.threshold) == math.inf
    assert calibrate.why_chosen(curve, chosen) == "never: no score where the model's part is rated above derived text"
    # A vague description is no better than none: the model must be rated correct to keep one.
    descriptions = [Sample(0.8, "vague", "none"), Sample(0.6, "vague", "none")]
    assert choose_threshold(sweep(descriptions)).threshold == math.inf


def test_cap_wrong_at_derived_leaves_no_more_wrong_parts_than_derived_text() -> None:
    # Sixteen functions where the model and derived text are alike; above 0.85 the model wins
    # three and loses one (pooled: above derived), above 0.95 it only wins.
    samples = [Sample(0.1, "vague", "vague")] * 16 + [
        Sample(0.85, "correct", "vague"), Sample(0.9, "correct", "vague"), Sample(0.92, "wrong", "vague"),
        Sample(0.95, "correct", "vague")]
    curve = sweep(samples)
    assert fitted_preference(samples)[0.85] == pytest.approx(1 / 3) and fitted_preference(samples)[0.95] == 1
    loose = choose_threshold(curve, max_wrong=0.10)
    assert (loose.threshold, loose.correct, loose.wrong) == (0.85, pytest.approx(0.15), pytest.approx(0.05))
    strict = choose_threshold(curve, max_wrong=0.10, cap_wrong_at_derived=True)
    assert (strict.threshold, strict.correct, strict.wrong) == (0.95, pytest.approx(0.05), 0)
    assert calibrate.why_chosen(curve, strict) == "keeps 1: rated above derived text from its score up"
    # Where the surest part is the wrong one, every gate that keeps a part keeps it (the fit pools
    # it with the two right ones below it): only keeping none is as right as derived text.
    worse = [Sample(0.1, "vague", "vague")] * 17 + [
        Sample(0.85, "correct", "vague"), Sample(0.9, "correct", "vague"), Sample(0.95, "wrong", "vague")]
    assert all(point.beats_derived and point.wrong == pytest.approx(0.05) for point in sweep(worse)[:-1][-3:])
    never = choose_threshold(sweep(worse), max_wrong=0.10, cap_wrong_at_derived=True)
    assert never.threshold == math.inf
    assert calibrate.why_chosen(sweep(worse), never).startswith("never: rated above derived text from 0.8500 up")


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
    fits = [point.fit for point in curve if point.fit is not None]
    assert fits == sorted(fits)  # the fitted preference never falls as the score rises
    for strict in (False, True):
        chosen = choose_threshold(curve, 0.10, cap_wrong_at_derived=strict)
        ruled = [point for point in curve if point.beats_derived]
        assert chosen.beats_derived
        assert chosen.wrong <= 0.10 or chosen.wrong == min(point.wrong for point in ruled)
        if strict and chosen.wrong > curve[-1].wrong:  # only where even the least wrong allowed point is worse
            assert chosen.wrong == min(point.wrong for point in ruled)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if path.suffix == ".gz":
        gzip_text(path, text)  # as train.evaluate writes its outputs
    else:
        path.write_text(text, encoding="utf-8")


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
    _jsonl(runs / "off" / "outputs.jsonl.gz", off)
    _jsonl(runs / "all" / "outputs.jsonl.gz", floor)
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
    argv = ["--runs", str(runs), "--model-dir", str(model_dir), "--max-wrong", "0.10", "--calibration", "test review"]
    assert calibrate.main(argv) == 0
    thresholds = load_thresholds(model_dir)
    assert thresholds.calibration == "test review"
    # Summary: keeping f1's wrong one is 33% wrong; a gate above 0.6 drops it and f2's correct one
    # (0.2), so the best point at most 10% wrong keeps f0 only: just under 0.9.
    assert 0.6 < thresholds.summary <= 0.9 and thresholds.summary == pytest.approx(0.9, abs=1e-3)
    # Description: f0's is wrong, the only one written: the model does not write descriptions.
    assert thresholds.description == math.inf
    assert json.loads((model_dir / "docucode.json").read_text())["thresholds"]["description"] == "never"
    # Parameters: f1's and f2's are wrong: keeping f0's alone (a gate just under 0.8) is best.
    assert thresholds.parameter == pytest.approx(0.8, abs=1e-3)
    # Result: only f2's (0.1) is wrong; a gate just under 0.7 keeps the two correct ones.
    assert thresholds.result == pytest.approx(0.7, abs=1e-3)
    # No exception was rated: its gate, and the weight, stay as they were.
    assert thresholds.exception == 0.4 and thresholds.weight == 0.25
    curves = (runs / "curve.md").read_text(encoding="utf-8")
    assert "### summary (3 functions)" in curves and "### parameter (3 entries)" in curves and "**(chosen)**" in curves
    assert "### exception (no rated parts" in curves
    assert "| description | never |" in curves and "never: no score where the model's part is rated above" in curves
    # Whole docstrings as each set of gates would have written them, part by part: f1's wrong
    # summary and parameter passed the default gates; the chosen ones keep only what beat derived text.
    assert "| model, ungated | 67% | 0% | 33% | 67% |" in curves
    assert "| the gates before (`docucode.json` as it was) | 33% | 33% | 33% | 33% |" in curves
    assert "| **the gates chosen** | 33% | 67% | 0% | 0% |" in curves
    assert "| derived text alone | 0% | 100% | 0% | 0% |" in curves
    assert "Written to `docucode.json`" in capsys.readouterr().out
    # A second review of the same functions pools with the first: twice the samples, the same shares.
    shutil.copytree(blind, tmp_path / "again")
    assert calibrate.main([*argv, "--review", str(tmp_path / "again")]) == 0
    assert load_thresholds(model_dir) == thresholds
    assert "### summary (6 functions)" in (runs / "curve.md").read_text(encoding="utf-8")
    # Derived text leaves no wrong summary or parameter here, and neither do the gates chosen.
    assert calibrate.main([*argv, "--cap-wrong-at-derived"]) == 0
    assert load_thresholds(model_dir) == thresholds
    assert "at most 10% wrong and no more wrong than derived text alone" in (runs / "curve.md").read_text(encoding="utf-8")


def test_sheets_without_entries_cannot_set_the_entry_gates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    function = {"backend": "model", "path": "m.py", "qualname": "f", "scores": {"summary": 0.5}, "grounded": "F."}
    _jsonl(runs / "off" / "outputs.jsonl.gz", [function])
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


def test_a_served_models_gates_go_to_a_file_of_their_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The same sample as above, written by a served model: the gates go to --out, for the hook's
    # thresholds option, and a gate no part was rated for lets every score pass.
    runs = tmp_path / "runs"
    off, floor = [], []
    for index, summary_score in enumerate([0.9, 0.6, 0.2]):
        function = {"backend": "server", "path": "m.py", "qualname": f"f{index}"}
        off.append({**function, "scores": {"summary": summary_score, "param:x": summary_score}, "grounded": "M."})
        floor.append({**function, "scores": {"summary": summary_score}, "grounded": "D."})
    _jsonl(runs / "off" / "outputs.jsonl.gz", off)
    _jsonl(runs / "all" / "outputs.jsonl.gz", floor)
    (runs / "blind").mkdir()
    (runs / "blind" / "key.csv").write_text("id,system,path,qualname\n" + "".join(
        f"{2 * i + 1},model,m.py,f{i}\n{2 * i + 2},derived,m.py,f{i}\n" for i in range(3)))
    (runs / "blind" / "ratings-1.csv").write_text(
        "id,summary,description,entries,accepted,note\n"
        "1,correct,none,param x=correct,light,\n2,vague,none,param x=vague,light,\n"
        "3,wrong,none,param x=wrong,no,\n4,vague,none,param x=vague,light,\n"
        "5,correct,none,param x=wrong,light,\n6,vague,none,param x=vague,light,\n")
    out = tmp_path / "gates" / "docucode.json"
    assert calibrate.main(["--runs", str(runs), "--out", str(out)]) == 0
    gates = configured_thresholds(out)
    assert gates.summary == pytest.approx(0.9, abs=1e-3) and gates.parameter == pytest.approx(0.9, abs=1e-3)
    assert (gates.description, gates.result, gates.exception) == (0.0, 0.0, 0.0)
    assert f"Written to `{out}`" in capsys.readouterr().out
    assert calibrate.main(["--runs", str(runs), "--out", str(out), "--model-dir", str(tmp_path)]) == 2
    assert "give one of --model-dir" in capsys.readouterr().err


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


# The far set's committed review (docs/eval/far-v1): the model's ungated outputs and six reviewers' ratings.
FAR = Path(__file__).resolve().parent.parent / "docs" / "eval" / "far-v1"
# The gates that wrote docs/eval/far-v1/default/ (docucode.json before the far-set calibration).
GATES_BEFORE_FAR = Thresholds(summary=0.6755, description=0.795, parameter=0.6238, result=0.8075, exception=1.0)


def test_part_ratings_composed_by_the_gates_reproduce_the_reviewed_default() -> None:
    # The default was rated as whole docstrings of its own; composing the model's and the derived
    # text's part ratings by the same gates gives the same shares, so the estimate can be trusted
    # for gates no reviewer has seen yet.
    functions = calibrate.rated_functions(FAR / "blind", FAR / "off" / "outputs.jsonl.gz")
    assert len(functions) == 100
    tally = json.loads((FAR / "blind" / "tally.json").read_text(encoding="utf-8"))
    for system, gates in (("default", GATES_BEFORE_FAR), ("model", Thresholds(0, 0, 0, 0, 0)),
                          ("derived", Thresholds(*[math.inf] * 5))):
        shares = docstring_shares(functions, gates)
        assert [100 * shares.correct, 100 * shares.vague, 100 * shares.wrong, 100 * shares.wrong_entry] == pytest.approx(
            [tally[system][column] for column in ("correct", "vague", "wrong", "docstrings with a wrong entry")]), system


def test_the_shipped_gates_are_the_far_set_calibration(tmp_path: Path) -> None:
    runs, model_dir = tmp_path / "far-v1", tmp_path / "model"
    (runs / "off").mkdir(parents=True)
    model_dir.mkdir()
    shutil.copy(FAR / "off" / "outputs.jsonl.gz", runs / "off")
    shutil.copytree(FAR / "blind", runs / "blind", ignore=shutil.ignore_patterns("sheet-*", "tally.*"))
    save_thresholds(model_dir, GATES_BEFORE_FAR)  # the file as calibrate found it
    shipped = load_thresholds(DEFAULT_MODEL_DIR)
    # Parameter and Returns descriptions are never the model's: the held-out review found them
    # false more often than derived text (docs/eval/far-holdout), whatever far-v1's curve says.
    argv = ["--runs", str(runs), "--model-dir", str(model_dir), "--cap-wrong-at-derived", "--calibration", shipped.calibration,
            "--never", "parameter", "--never", "result"]
    assert calibrate.main(argv) == 0
    assert load_thresholds(model_dir) == shipped
    # The model's descriptions and Raises text are rated above derived text at no score: it writes neither.
    assert shipped.description == shipped.exception == shipped.parameter == shipped.result == math.inf
    assert (runs / "curve.md").read_text(encoding="utf-8") == (FAR / "curve.md").read_text(encoding="utf-8")


def test_never_names_a_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--runs", str(FAR), "--out", str(tmp_path / "gates.json"), "--never", "parameters"]
    assert calibrate.main(argv) == 2
    assert "--never parameters: the gates are summary, description, parameter, result, exception" in capsys.readouterr().err
    assert not (tmp_path / "gates.json").exists()
