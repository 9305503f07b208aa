"""Calibration: part scores from generations, joined with blind-review ratings, to a gate in docucode.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from docucode_hook.confidence import load_thresholds
from train import calibrate


def test_scores_then_fit_writes_the_summary_gate(tmp_path: Path, capsys) -> None:
    # Three functions: the model was sure of two summaries (one of them wrong) and unsure of one.
    generations = tmp_path / "generations.jsonl"
    rows = []
    for index, (summary, logprob) in enumerate([("Add one to x.", -0.05), ("Delete the disk.", -0.2), ("Parse x.", -4.0)]):
        text = f"{summary}\n\nArgs:\n    x: The input number."
        rows.append({"path": "m.py", "qualname": f"f{index}", "text": text, "code": f"def f{index}(x):\n    return x + 1\n",
                     "parameters": ["x"], "token_logprobs": [[offset, logprob] for offset in range(0, len(text), 2)]})
    generations.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    scores = tmp_path / "scores.csv"
    assert calibrate.main(["scores", "--generations", str(generations), "--out", str(scores)]) == 0
    with scores.open(encoding="utf-8", newline="") as handle:
        parts = {(row["qualname"], row["part"]) for row in csv.DictReader(handle)}
    assert parts == {(f"f{i}", kind) for i in range(3) for kind in ("summary", "parameter")}

    blind = tmp_path / "blind"
    blind.mkdir()
    (blind / "key.csv").write_text("id,system,path,qualname\n1,v4,m.py,f0\n2,v4,m.py,f1\n3,v4,m.py,f2\n4,v3,m.py,f0\n")
    (blind / "ratings-1.csv").write_text("id,summary,accepted,note\n1,correct,as-is,\n2,wrong,no,false\n3,wrong,no,\n4,wrong,no,\n")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "docucode.json").write_text(json.dumps({"thresholds": {"parameter": 0.2}}))
    assert calibrate.main(["fit", "--scores", str(scores), "--blind", str(blind), "--system", "v4",
                           "--max-wrong", "0.10", "--model-dir", str(model_dir)]) == 0
    out = capsys.readouterr().out
    assert "(chosen)" in out and "keeps 100% of the correct summaries, 0% of those kept are wrong" in out
    thresholds = load_thresholds(model_dir)
    # The gate sits at the correct summary's score: above both wrong ones. The parameter gate is kept.
    samples = dict((rating, score) for score, rating in calibrate.rated_summaries(scores, blind, "v4") if rating == "correct")
    assert thresholds.summary == round(samples["correct"], 4) and thresholds.parameter == 0.2
    assert all(score < thresholds.summary for score, rating in calibrate.rated_summaries(scores, blind, "v4") if rating == "wrong")
