"""Calibrate the confidence gates on a validation sample and ship them in the model directory.

The gates (``docucode_hook.precision.confidence``) decide per part whether the model's text stays: a
summary below its gate gives way to code-derived text, a description below its gate is
dropped, and a parameter's, the result's or an exception's description below its gate gives
way to derived text. Where to put each gate is read off two runs of ``train.evaluate`` over
the same seeded validation sample:
``--gates off`` (every part the model wrote, with each part's score) and ``--gates all``
(derived text for every scored part, the floor)::

    python -m train.evaluate --data data/eval-v3/validation.jsonl --per-package 2 --baseline none \\
        --gates off --out docs/eval/calibration-v4/off
    python -m train.evaluate --data data/eval-v3/validation.jsonl --per-package 2 --baseline none \\
        --gates all --out docs/eval/calibration-v4/all
    python -m train.blind_review sheets --data data/eval-v3/validation.jsonl --sample 90 --sheets 6 \\
        --run model=docs/eval/calibration-v4/off/outputs.jsonl --run derived=docs/eval/calibration-v4/all/outputs.jsonl \\
        --out docs/eval/calibration-v4/blind
    # the reviewers write ratings-K.csv beside the sheets; then
    python -m train.calibrate --runs docs/eval/calibration-v4 --max-wrong 0.10 \\
        --review docs/eval/calibration-v3/blind --review docs/eval/calibration-v3/blind-second-pass \\
        --model-dir src/docucode_hook/models/docucode-small

Every gate is set by the blind review. Each point of a sweep says, over all the rated parts of
its kind, which share is correct, vague and wrong when each part scoring below the gate takes
the rating of what stands in for it (the derived text; for a description, none). The gate is
the point with the most correct parts among those with at most ``--max-wrong`` wrong; the
loosest such point on ties. Summaries and descriptions count once per function and review
(``--review`` pools earlier reviews of the same sample); parameter, result and exception
descriptions once per entry the reviewers rated in both systems.

Writes ``curve.md`` beside the runs and the gates into ``MODEL_DIR/docucode.json``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from docucode_hook.precision.confidence import DESCRIPTION, SUMMARY, THRESHOLDS_FILE, Thresholds, gate_name, load_thresholds
from train.args import arg, parse_args
from train.blind_review import SUMMARY_RATINGS, Rating, ReviewError, entry_part, outputs_rows, read_ratings

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


ENTRY_GATES = ("parameter", "result", "exception")  # the gates swept over Args, Returns and Raises entries


def reviewed_samples(blind: Path, off: Path) -> dict[str, list[Sample]]:
    """Per gate (``Thresholds``' field names), the samples of every function the reviewers
    rated in both systems."""
    with (blind / "key.csv").open(encoding="utf-8", newline="") as handle:
        key = [(int(row["id"]), row["system"], (row["path"], row["qualname"])) for row in csv.DictReader(handle)]
    ratings = read_ratings(sorted(blind.glob("ratings-*.csv")))
    rated: dict[tuple[str, str], dict[str, int]] = {}
    for item, system, function in key:
        if item in ratings:
            rated.setdefault(function, {})[system] = item
    scores = {function: row["scores"] for function, row in outputs_rows(off).items()}
    samples: dict[str, list[Sample]] = {name: [] for name in (SUMMARY, DESCRIPTION, *ENTRY_GATES)}
    for function, items in sorted(rated.items()):
        if not {KEPT, REPLACED} <= items.keys():  # a review may hold more systems (the default, the own docstring)
            continue
        if function not in scores:
            raise ReviewError(f"{off}: no output for {function[0]}:{function[1]}, which the reviewers rated")
        kept, replaced = ratings[items[KEPT]], ratings[items[REPLACED]]
        samples[SUMMARY].append(Sample(scores[function].get(SUMMARY), kept.summary, replaced.summary))
        if kept.description is not None:
            samples[DESCRIPTION].append(Sample(scores[function].get(DESCRIPTION), kept.description, "none"))
        for part, (kept_entry, replaced_entry) in _entry_pairs(kept, replaced).items():
            samples[gate_name(part)].append(Sample(scores[function].get(part), kept_entry, replaced_entry))
    return samples


def _entry_pairs(kept: Rating, replaced: Rating) -> dict[str, tuple[str, str]]:
    """Part name -> (its rating as the model wrote it, as derived), for the entries rated in both."""
    if kept.entries is None or replaced.entries is None:
        return {}
    model = {entry_part(name): rating for name, rating in kept.entries.items()}
    derived = {entry_part(name): rating for name, rating in replaced.entries.items()}
    return {part: (model[part], derived[part]) for part in model.keys() & derived.keys()}


def gate_value(threshold: float) -> float:
    """A sweep threshold as a gate in [0, 1]: just under a sample's rounded score, so that sample
    stays kept; keeping every part is 0 and keeping none is 1 (only a perfect score passes)."""
    if math.isinf(threshold):
        return 0.0 if threshold < 0 else 1.0
    return min(max(math.floor((threshold - 5e-5) * 1e4) / 1e4, 0.0), 1.0)


def curve_markdown(title: str, curve: Sequence[CurvePoint], chosen: CurvePoint, total: int, unit: str) -> str:
    lines = [f"### {title} ({total} {unit})", "",
             "| gate (keep score >=) | model parts kept | correct | vague | wrong |", "|---:|---:|---:|---:|---:|"]
    for point in curve:
        mark = " **(chosen)**" if point == chosen else ""
        lines.append(f"| {point.threshold:.4f}{mark} | {point.kept} | {100 * point.correct:.0f}% | "
                     f"{100 * point.vague:.0f}% | {100 * point.wrong:.0f}% |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, kw_only=True)
class CalibrateArgs:
    runs: Path = arg(help="the folder with off/ and all/ (train.evaluate outputs) and blind/ (sheets, key, ratings)")
    review: tuple[Path, ...] = arg((), append=True, help="another review of the same functions (key.csv and "
                                   "ratings-*.csv), pooled with blind/: each rating is one more sample")
    model_dir: Path = arg(help="where docucode.json is written")
    max_wrong: float = arg(0.10, help="the most wrong parts of each kind the chosen gate may leave")


def calibrate(args: CalibrateArgs, say: Callable[[str], None] = print) -> Thresholds:
    """Sweep every gate, write ``curve.md`` into ``args.runs`` and the gates into ``docucode.json``."""
    samples: dict[str, list[Sample]] = {}
    for blind in (args.runs / "blind", *args.review):
        for name, kind_samples in reviewed_samples(blind, args.runs / "off" / "outputs.jsonl").items():
            samples.setdefault(name, []).extend(kind_samples)
    if not samples[SUMMARY]:
        raise ReviewError(f"{args.runs / 'blind'}: no function rated for both {KEPT!r} and {REPLACED!r}")
    unrated = [name for name in ENTRY_GATES if not samples[name]]
    if len(unrated) == len(ENTRY_GATES):
        raise ReviewError(f"{args.runs / 'blind'}: no entry rated for both systems (sheets without an entries column?)")
    report = ["# Confidence gates: the trade-off curves", ""]
    gates = {}
    for name, kind_samples in samples.items():
        if not kind_samples:  # no such entry in the sample: the gate stays where it was
            report += [f"### {name} (no rated parts: the gate is left as it was)", ""]
            continue
        curve = sweep(kind_samples)
        chosen = choose_threshold(curve, args.max_wrong)
        gates[name] = gate_value(chosen.threshold)
        unit = "functions" if name in (SUMMARY, DESCRIPTION) else "entries"
        report.append(curve_markdown(name, curve, chosen, len(kind_samples), unit))
    thresholds = replace(load_thresholds(args.model_dir), **gates)
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
