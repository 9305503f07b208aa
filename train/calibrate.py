"""Calibrate the confidence gates on a validation sample and ship them in the model directory.

The gates (``docucode_hook.confidence``) decide per part whether the model's text stays: a
summary below its gate gives way to code-derived text, a description below its gate is
dropped, a parameter's description below its gate gives way to derived text. Where to put
each gate is read off two runs of ``train.evaluate`` over the same seeded validation sample:
``--gates off`` (every part the model wrote, with each part's score) and ``--gates all``
(derived text for every scored part, the floor)::

    python -m train.evaluate --data data/mined/corpus/validation.jsonl --per-package 2 --baseline none \\
        --gates off --out docs/eval/calibration-v3/off
    python -m train.evaluate --data data/mined/corpus/validation.jsonl --per-package 2 --baseline none \\
        --gates all --out docs/eval/calibration-v3/all
    python -m train.blind_review sheets --data data/mined/corpus/validation.jsonl --sample 90 --sheets 4 \\
        --run model=docs/eval/calibration-v3/off/outputs.jsonl --run derived=docs/eval/calibration-v3/all/outputs.jsonl \\
        --out docs/eval/calibration-v3/blind
    # the reviewers write ratings-K.csv beside the sheets; then
    python -m train.calibrate --runs docs/eval/calibration-v3 --data data/mined/corpus/validation.jsonl \\
        --max-wrong 0.10 --model-dir src/docucode_hook/models/docucode-small

- summary and description: by the blind review. Every point of the sweep says, over all the
  rated functions, which share of the written summaries (descriptions) is correct, vague and
  wrong when each part scoring below the gate takes the rating of what stands in for it (the
  derived summary; no description). The gate is the point with the most correct parts among
  those with at most ``--max-wrong`` wrong; the loosest such point on ties.
- parameter descriptions: by the reference docstrings (many parts, each short): the gate that
  gives the written descriptions the highest mean ROUGE-L against the reference ones.

Writes ``curve.md`` beside the runs and the three gates into ``MODEL_DIR/docucode.json``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

from docucode_hook.confidence import PARAMETER_PREFIX, SUMMARY, DESCRIPTION, THRESHOLDS_FILE, Thresholds, load_thresholds
from train import metrics
from train.args import arg, parse_args
from train.blind_review import SUMMARY_RATINGS, ReviewError, outputs_rows, read_ratings

KEPT, REPLACED = "model", "derived"  # the two systems' names in the blind review's key.csv


@dataclass(frozen=True)
class Sample:
    """One function's part: its score, its rating if kept, and the rating of what stands in below the gate."""

    score: float | None  # None: the model wrote no such part, so no gate applies
    kept: str
    replaced: str  # "none" where the part is dropped rather than replaced


@dataclass(frozen=True)
class CurvePoint:
    threshold: float  # keep the model's part when its score >= threshold
    kept: int  # model parts kept
    correct: float  # shares of all the sample's functions
    vague: float
    wrong: float


def sweep(samples: Sequence[Sample]) -> list[CurvePoint]:
    """The trade-off as the gate tightens, one point per distinct score, from keeping every
    part (-inf) to keeping none (+inf)."""
    for sample in samples:
        for rating in (sample.kept, sample.replaced):
            if rating not in (*SUMMARY_RATINGS, "none"):
                raise ValueError(f"rating must be one of {', '.join(SUMMARY_RATINGS)} or none (got {rating!r})")
    scores = sorted({sample.score for sample in samples if sample.score is not None})
    curve = []
    for threshold in (-math.inf, *scores, math.inf):
        written = [
            sample.kept if sample.score is None or sample.score >= threshold else sample.replaced for sample in samples
        ]
        total = len(samples) or 1
        kept = sum(sample.score is not None and sample.score >= threshold for sample in samples)
        curve.append(CurvePoint(threshold, kept, *(written.count(rating) / total for rating in SUMMARY_RATINGS)))
    return curve


def choose_threshold(curve: Sequence[CurvePoint], max_wrong: float = 0.10) -> CurvePoint:
    """The point with the most correct parts among those with at most ``max_wrong`` wrong; on
    ties the fewest wrong, then the fewest vague (a description that says nothing is better
    dropped), then the loosest gate. The least wrong point when none qualifies."""
    allowed = [point for point in curve if point.wrong <= max_wrong + 1e-12]
    if not allowed:
        return min(curve, key=lambda point: (point.wrong, -point.correct, point.threshold))
    return max(allowed, key=lambda point: (point.correct, -point.wrong, -point.vague, -point.threshold))


def reviewed_samples(blind: Path, off: Path) -> tuple[list[Sample], list[Sample]]:
    """(summary samples, description samples) of every function the reviewers rated in both systems."""
    with (blind / "key.csv").open(encoding="utf-8", newline="") as handle:
        key = [(int(row["id"]), row["system"], (row["path"], row["qualname"])) for row in csv.DictReader(handle)]
    ratings = read_ratings(sorted(blind.glob("ratings-*.csv")))
    rated: dict[tuple[str, str], dict[str, int]] = {}
    for item, system, function in key:
        if item in ratings:
            rated.setdefault(function, {})[system] = item
    scores = {function: row["scores"] for function, row in outputs_rows(off).items()}
    summary_samples, description_samples = [], []
    for function, items in sorted(rated.items()):
        if set(items) != {KEPT, REPLACED}:
            continue
        if function not in scores:
            raise ReviewError(f"{off}: no output for {function[0]}:{function[1]}, which the reviewers rated")
        kept, replaced = items[KEPT], items[REPLACED]
        summary_samples.append(Sample(scores[function].get(SUMMARY), ratings[kept].summary, ratings[replaced].summary))
        if ratings[kept].description is not None:
            description_samples.append(Sample(scores[function].get(DESCRIPTION), ratings[kept].description, "none"))
    return summary_samples, description_samples


def _parameter_texts(docstring: str) -> dict[str, str]:
    from docstring_parser import parse

    try:
        return {param.arg_name.lstrip("*"): param.description or "" for param in parse(docstring).params}
    except Exception:  # a reference docstring in no style docstring_parser reads: no parameters to compare
        return {}


def parameter_samples(off: Path, floor: Path, data: Path) -> list[tuple[float, float, float]]:
    """(score, ROUGE-L of the model's description, ROUGE-L of the derived one) per scored parameter,
    both against the reference docstring's description of that parameter."""
    references = {}
    for line in data.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        references[(record.get("path"), record["qualname"])] = record["completion"]
    derived = outputs_rows(floor)
    samples = []
    for function, row in outputs_rows(off).items():
        reference = _parameter_texts(references.get(function, ""))
        model, fallback = _parameter_texts(row["grounded"]), _parameter_texts(derived[function]["grounded"])
        for part, score in row["scores"].items():
            name = part.removeprefix(PARAMETER_PREFIX)
            if part.startswith(PARAMETER_PREFIX) and reference.get(name) and name in model and name in fallback:
                samples.append((score, *(metrics.rouge_l([reference[name]], [text[name]]) for text in (model, fallback))))
    return samples


def best_parameter_gate(samples: Sequence[tuple[float, float, float]]) -> tuple[float, float, list[tuple[float, float]]]:
    """(gate, mean ROUGE-L there, the whole curve) for the gate that maximises the mean ROUGE-L."""
    curve = []
    for threshold in (-math.inf, *sorted({score for score, _, _ in samples}), math.inf):
        written = [model if score >= threshold else derived for score, model, derived in samples]
        curve.append((threshold, sum(written) / (len(written) or 1)))
    best = max(curve, key=lambda point: (point[1], -point[0]))
    return best[0], best[1], curve


def gate_value(threshold: float) -> float:
    """A sweep threshold as a gate in [0, 1]: just under a sample's rounded score, so that sample
    stays kept; keeping every part is 0 and keeping none is 1 (only a perfect score passes)."""
    if math.isinf(threshold):
        return 0.0 if threshold < 0 else 1.0
    return min(max(math.floor((threshold - 5e-5) * 1e4) / 1e4, 0.0), 1.0)


def curve_markdown(title: str, curve: Sequence[CurvePoint], chosen: CurvePoint, total: int) -> str:
    lines = [f"### {title} ({total} functions)", "",
             "| gate (keep score >=) | model parts kept | correct | vague | wrong |", "|---:|---:|---:|---:|---:|"]
    for point in curve:
        mark = " **(chosen)**" if point == chosen else ""
        lines.append(f"| {point.threshold:.4f}{mark} | {point.kept} | {100 * point.correct:.0f}% | "
                     f"{100 * point.vague:.0f}% | {100 * point.wrong:.0f}% |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CalibrateArgs:
    runs: Path = arg(help="the folder with off/ and all/ (train.evaluate outputs) and blind/ (sheets, key, ratings)")
    data: Path = arg(help="the validation split the runs sampled (its reference docstrings)")
    model_dir: Path = arg(help="where docucode.json is written")
    max_wrong: float = arg(0.10, help="the most wrong summaries (descriptions) the chosen gate may leave")


def calibrate(args: CalibrateArgs, say: Callable[[str], None] = print) -> Thresholds:
    """Sweep the three gates, write ``curve.md`` into ``args.runs`` and the gates into ``docucode.json``."""
    off, floor = args.runs / "off" / "outputs.jsonl", args.runs / "all" / "outputs.jsonl"
    summary_samples, description_samples = reviewed_samples(args.runs / "blind", off)
    if not summary_samples:
        raise ReviewError(f"{args.runs / 'blind'}: no function rated for both {KEPT!r} and {REPLACED!r}")
    report = ["# Confidence gates: the trade-off curves", ""]
    chosen = {}
    for name, samples in ((SUMMARY, summary_samples), (DESCRIPTION, description_samples)):
        curve = sweep(samples)
        chosen[name] = choose_threshold(curve, args.max_wrong)
        report.append(curve_markdown(name, curve, chosen[name], len(samples)))
    gate, best, curve = best_parameter_gate(parameter_samples(off, floor, args.data))
    report += [f"### parameter descriptions ({len(curve) - 2} distinct scores)", "",
               f"Mean ROUGE-L of the written descriptions against the reference: {curve[0][1]:.1f} keeping every "
               f"one, {curve[-1][1]:.1f} deriving every one, {best:.1f} at the chosen gate {gate:.4f}.", ""]
    current = load_thresholds(args.model_dir)
    thresholds = Thresholds(gate_value(chosen[SUMMARY].threshold), gate_value(chosen[DESCRIPTION].threshold),
                            gate_value(gate), current.weight)
    (args.model_dir / THRESHOLDS_FILE).write_text(json.dumps({"thresholds": asdict(thresholds)}, indent=2) + "\n",
                                                  encoding="utf-8")
    report.append(f"Written to `{THRESHOLDS_FILE}`: {json.dumps(asdict(thresholds))}")
    (args.runs / "curve.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    say("\n".join(report))
    return thresholds


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(CalibrateArgs, argv, prog="python -m train.calibrate", description=__doc__.splitlines()[0])
    try:
        calibrate(args)
    except (ReviewError, OSError, KeyError, ValueError) as error:
        print(f"train.calibrate: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
