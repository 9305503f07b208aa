"""Calibrate the confidence gates on a blind review and ship them in the model directory.

Two steps. ``scores`` scores each generated part the way the hook does
(``confidence.score_parts``: the model's token log-probabilities and the lexical support
of the code) from a JSONL of generations, one object per function::

    {"path": "pkg/mod.py", "qualname": "Store.get", "text": "<raw model text>",
     "token_logprobs": [[0, -0.12], [4, -1.3], ...], "code": "<source>", "parameters": ["key"]}

``fit`` joins the summary scores with the blind review's ratings of the same functions
(``train.blind_review``: ``key.csv`` and ``ratings-*.csv``, for one ``--system``), sweeps
the gate from keeping every summary to keeping none (``confidence.sweep``), picks the point
that keeps the most correct summaries with at most ``--max-wrong`` of those kept rated wrong
(``confidence.choose_threshold``), prints the curve as a Markdown table and writes the
threshold into ``MODEL_DIR/docucode.json`` (the other gates are kept as they are)::

    python -m train.calibrate scores --generations docs/eval/v4/generations.jsonl --out docs/eval/v4/scores.csv
    python -m train.calibrate fit --scores docs/eval/v4/scores.csv --blind docs/eval/blind --system v4 \\
        --max-wrong 0.10 --model-dir src/docucode_hook/models/docucode-small
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

from docucode_hook.confidence import (
    PARAMETER_PREFIX,
    THRESHOLDS_FILE,
    CurvePoint,
    Thresholds,
    choose_threshold,
    load_thresholds,
    score_parts,
    sweep,
)
from train.blind_review import read_ratings


def score_generations(generations: Path, out: Path, weight: float = Thresholds.weight) -> int:
    """Write ``path,qualname,part,score`` for every part of every generation; the number of rows."""
    rows = []
    for line in generations.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        logprobs = [(int(offset), float(logprob)) for offset, logprob in item.get("token_logprobs", [])]
        scores = score_parts(item["text"], logprobs, item.get("parameters", []), item.get("code", ""), weight)
        for part, score in scores.items():
            kind = "parameter" if part.startswith(PARAMETER_PREFIX) else part
            rows.append((item["path"], item["qualname"], kind, f"{score.score:.4f}"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("path", "qualname", "part", "score"))
        writer.writerows(rows)
    return len(rows)


def rated_summaries(scores: Path, blind: Path, system: str) -> list[tuple[float, str]]:
    """(summary score, blind-review rating) for each function the reviewers rated for ``system``."""
    with scores.open(encoding="utf-8", newline="") as handle:
        by_function = {(row["path"], row["qualname"]): float(row["score"])
                       for row in csv.DictReader(handle) if row["part"] == "summary"}
    with (blind / "key.csv").open(encoding="utf-8", newline="") as handle:
        items = {int(row["id"]): (row["path"], row["qualname"]) for row in csv.DictReader(handle) if row["system"] == system}
    ratings = read_ratings(sorted(blind.glob("ratings-*.csv")))
    return [(by_function[key], ratings[item][0]) for item, key in sorted(items.items())
            if item in ratings and key in by_function]


def curve_markdown(curve: Sequence[CurvePoint], chosen: CurvePoint) -> str:
    lines = ["| gate (keep score >=) | kept | wrong of kept | wrong still kept | correct still kept |",
             "|---:|---:|---:|---:|---:|"]
    for point in curve:
        mark = " (chosen)" if point == chosen else ""
        lines.append(f"| {point.threshold:.3f}{mark} | {point.kept} | {100 * point.wrong_share_of_kept:.0f}% | "
                     f"{100 * point.wrong_kept:.0f}% | {100 * point.correct_kept:.0f}% |")
    return "\n".join(lines)


def write_summary_gate(model_dir: Path, gate: float) -> Thresholds:
    """Set the summary gate in ``model_dir/docucode.json``, keeping the other gates."""
    thresholds = replace(load_thresholds(model_dir), summary=min(max(gate, 0.0), 1.0))
    (model_dir / THRESHOLDS_FILE).write_text(json.dumps({"thresholds": asdict(thresholds)}, indent=2) + "\n", encoding="utf-8")
    return thresholds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    scores = commands.add_parser("scores", help="score every generated part as the hook does")
    scores.add_argument("--generations", type=Path, required=True)
    scores.add_argument("--out", type=Path, required=True)
    fit = commands.add_parser("fit", help="choose the summary gate on a blind review and write docucode.json")
    fit.add_argument("--scores", type=Path, required=True)
    fit.add_argument("--blind", type=Path, required=True, help="the blind review's directory (key.csv, ratings-*.csv)")
    fit.add_argument("--system", required=True, help="the system name in key.csv whose summaries were scored")
    fit.add_argument("--max-wrong", type=float, default=0.10)
    fit.add_argument("--model-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "scores":
        print(f"{score_generations(args.generations, args.out)} part scores written to {args.out}")
        return 0
    samples = rated_summaries(args.scores, args.blind, args.system)
    if not samples:
        parser.error(f"no rated summary of system {args.system!r} has a score in {args.scores}")
    curve = sweep(samples)
    chosen = choose_threshold(curve, args.max_wrong)
    print(curve_markdown(curve, chosen))
    # The sweep's ends are -inf (keep all) and +inf (keep none): the file holds a gate in [0, 1].
    thresholds = write_summary_gate(args.model_dir, chosen.threshold)
    print(f"\nsummary gate {thresholds.summary:.3f}: keeps {100 * chosen.correct_kept:.0f}% of the correct summaries, "
          f"{100 * chosen.wrong_share_of_kept:.0f}% of those kept are wrong; written to {args.model_dir / THRESHOLDS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
