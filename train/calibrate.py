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
        --run model=docs/eval/calibration-v4/off/outputs.jsonl.gz --run derived=docs/eval/calibration-v4/all/outputs.jsonl.gz \\
        --out docs/eval/calibration-v4/blind
    # the reviewers write ratings-K.csv beside the sheets; then
    python -m train.calibrate --runs docs/eval/calibration-v4 --max-wrong 0.10 \\
        --review docs/eval/calibration-v3/blind --review docs/eval/calibration-v3/blind-second-pass \\
        --model-dir src/docucode_hook/models/docucode-small
    # the far set (issue 22): off/, all/ and blind/ as train.far_set review writes them
    python -m train.calibrate --runs docs/eval/far-v1 --cap-wrong-at-derived \\
        --calibration "far-set review, docs/eval/far-v1" --model-dir src/docucode_hook/models/docucode-small

A served model (``train.evaluate --server-url ...``) is calibrated the same way into a file of
its own, which the hook reads through ``thresholds = "gates/docucode.json"``::

    python -m train.calibrate --runs docs/eval/calibration-qwen --out gates/docucode.json

Every gate is set by the blind review. Each point of a sweep says, over all the rated parts of
its kind, which share is correct, vague and wrong when each part scoring below the gate takes
the rating of what stands in for it (the derived text; for a description, none). Summaries and
descriptions count once per function and review (``--review`` pools more reviews of the same
sample); parameter, result and exception descriptions once per entry the reviewers rated in
both systems.

A gate keeps the model's part only where, at its score, the reviewers rate it above the
derived text (issue 22). Each function's part is compared with the derived part of the same
function: the model's is above (+1), alike (0) or below (-1); a vague description is no better
than none. The preference is fitted as a non-decreasing function of the score (isotonic: the
pool-adjacent-violators fit, the parts of one score pooled), so that it can be read at any
score, and a gate may stand only where the fitted preference of every part it keeps is above
0. Among those points the gate is the one with the most correct parts among those with at most
``--max-wrong`` wrong (``--cap-wrong-at-derived``: and no more wrong than derived text alone);
the loosest on ties. Where no score of the model's part is rated above derived text, only
"keep none" qualifies: the gate is ``never``, and the model does not write that part.

Writes ``curve.md`` beside the runs and the gates into ``MODEL_DIR/docucode.json`` (or ``--out``).
A gate with no rated parts keeps its value in that file; in a new ``--out`` file it lets every
score pass, as the hook does for a gate nobody calibrated.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from docucode_hook.precision.confidence import (
    DESCRIPTION,
    GATE_FIELDS,
    NEVER,
    NO_GATES,
    SUMMARY,
    THRESHOLDS_FILE,
    Thresholds,
    configured_thresholds,
    gate_name,
    load_thresholds,
    save_thresholds,
)
from train.args import arg, parse_args
from train.blind_review import SUMMARY_RATINGS, Rating, ReviewError, entry_part, outputs_rows, read_ratings
from train.data import OUTPUTS_FILE

KEPT, REPLACED = "model", "derived"  # the two systems' names in the blind review's key.csv


@dataclass(frozen=True)
class Sample:
    """One function's part: its score, its rating if kept, and the rating of what stands in below the gate."""

    score: float | None  # None: the model wrote no such part, so no gate applies
    kept: str
    replaced: str  # "none" where the part is dropped rather than replaced


# How a rating ranks when the model's part is compared with what stands in for it: a vague
# description says nothing, so it is no better than none.
_RANK = {"wrong": 0, "vague": 1, "none": 1, "correct": 2}


def preference(sample: Sample) -> int:
    """+1 where the reviewers rated the model's part above what stands in for it, -1 below, 0 alike."""
    kept, replaced = _RANK[sample.kept], _RANK[sample.replaced]
    return (kept > replaced) - (kept < replaced)


def fitted_preference(samples: Sequence[Sample]) -> dict[float, float]:
    """Per score, the mean preference for the model's part, fitted as a non-decreasing function
    of the score: the pool-adjacent-violators fit, with the samples of one score pooled first."""
    by_score: dict[float, list[int]] = {}
    for sample in samples:
        if sample.score is not None:
            by_score.setdefault(sample.score, []).append(preference(sample))
    blocks: list[tuple[int, int, list[float]]] = []  # (sum, count, scores), adjacent blocks pooled while means fall
    for score in sorted(by_score):
        block = (sum(by_score[score]), len(by_score[score]), [score])
        while blocks and blocks[-1][0] * block[1] > block[0] * blocks[-1][1]:
            total, count, scores = blocks.pop()
            block = (total + block[0], count + block[1], scores + block[2])
        blocks.append(block)
    return {score: total / count for total, count, scores in blocks for score in scores}


@dataclass(frozen=True)
class CurvePoint:
    threshold: float  # keep the model's part when its score >= threshold
    kept: int  # model parts kept
    correct: float  # shares of all the sample's functions
    vague: float
    wrong: float
    above: int = 0  # kept parts the reviewers rated above what stands in for them
    below: int = 0  # and below it
    fit: float | None = None  # the fitted preference at the lowest score kept; None when none is kept

    @property
    def beats_derived(self) -> bool:
        """The issue's rule: every part this gate keeps lies where the model is rated above derived text."""
        return self.kept == 0 or (self.fit is not None and self.fit > 0)


def sweep(samples: Sequence[Sample]) -> list[CurvePoint]:
    """The trade-off as the gate tightens, one point per distinct score, from keeping every
    part (-inf) to keeping none (+inf)."""
    for sample in samples:
        for rating in (sample.kept, sample.replaced):
            if rating not in (*SUMMARY_RATINGS, "none"):
                raise ValueError(f"rating must be one of {', '.join(SUMMARY_RATINGS)} or none (got {rating!r})")
    fitted = fitted_preference(samples)
    total = len(samples) or 1
    curve = []
    for threshold in (-math.inf, *sorted(fitted), math.inf):
        kept = [sample for sample in samples if sample.score is not None and sample.score >= threshold]
        written = [
            sample.kept if sample.score is None or sample.score >= threshold else sample.replaced for sample in samples
        ]
        lowest = min((sample.score for sample in kept if sample.score is not None), default=None)
        curve.append(CurvePoint(
            threshold, len(kept), *(written.count(rating) / total for rating in SUMMARY_RATINGS),
            above=sum(preference(sample) > 0 for sample in kept), below=sum(preference(sample) < 0 for sample in kept),
            fit=None if lowest is None else fitted[lowest],
        ))
    return curve


def choose_threshold(
    curve: Sequence[CurvePoint], max_wrong: float = 0.10, cap_wrong_at_derived: bool = False
) -> CurvePoint:
    """Among the points that keep the model's parts only where it is rated above derived text
    (``CurvePoint.beats_derived``), the one with the most correct parts among those with at
    most ``max_wrong`` wrong (and, ``cap_wrong_at_derived``, no more wrong than keeping none);
    on ties the fewest wrong, then the fewest vague (a description that says nothing is better
    dropped), then the loosest gate. The least wrong of them when none is wrong little enough."""
    ruled = [point for point in curve if point.beats_derived]  # keeping none always is
    cap = min(max_wrong, curve[-1].wrong) if cap_wrong_at_derived else max_wrong
    allowed = [point for point in ruled if point.wrong <= cap + 1e-12]
    if not allowed:
        return min(ruled, key=lambda point: (point.wrong, -point.correct, point.threshold))
    return max(allowed, key=lambda point: (point.correct, -point.wrong, -point.vague, -point.threshold))


ENTRY_GATES = ("parameter", "result", "exception")  # the gates swept over Args, Returns and Raises entries


@dataclass(frozen=True)
class RatedFunction:
    """One function the reviewers rated in both systems: the model's part scores and the two ratings."""

    scores: dict[str, float]
    model: Rating
    derived: Rating


def rated_functions(blind: Path, off: Path) -> list[RatedFunction]:
    """Every function of a review (``key.csv`` and ``ratings-*.csv`` in ``blind``) that the
    reviewers rated both as the model wrote it and as derived, with its scores from ``off``."""
    with (blind / "key.csv").open(encoding="utf-8", newline="") as handle:
        key = [(int(row["id"]), row["system"], (row["path"], row["qualname"])) for row in csv.DictReader(handle)]
    ratings = read_ratings(sorted(blind.glob("ratings-*.csv")))
    rated: dict[tuple[str, str], dict[str, int]] = {}
    for item, system, function in key:
        if item in ratings:
            rated.setdefault(function, {})[system] = item
    scores = {function: row["scores"] for function, row in outputs_rows(off).items()}
    functions = []
    for function, items in sorted(rated.items()):
        if not {KEPT, REPLACED} <= items.keys():  # a review may hold more systems (the default, the own docstring)
            continue
        if function not in scores:
            raise ReviewError(f"{off}: no output for {function[0]}:{function[1]}, which the reviewers rated")
        functions.append(RatedFunction(scores[function], ratings[items[KEPT]], ratings[items[REPLACED]]))
    return functions


def reviewed_samples(blind: Path, off: Path) -> dict[str, list[Sample]]:
    """Per gate (``Thresholds``' field names), the samples of every function the reviewers
    rated in both systems."""
    return gate_samples(rated_functions(blind, off))


def gate_samples(functions: Sequence[RatedFunction]) -> dict[str, list[Sample]]:
    """Per gate (``Thresholds``' field names), one sample per rated part of its kind."""
    samples: dict[str, list[Sample]] = {name: [] for name in (SUMMARY, DESCRIPTION, *ENTRY_GATES)}
    for function in functions:
        kept, replaced, scores = function.model, function.derived, function.scores
        samples[SUMMARY].append(Sample(scores.get(SUMMARY), kept.summary, replaced.summary))
        if kept.description is not None:
            samples[DESCRIPTION].append(Sample(scores.get(DESCRIPTION), kept.description, "none"))
        for part, (kept_entry, replaced_entry) in _entry_pairs(kept, replaced).items():
            samples[gate_name(part)].append(Sample(scores.get(part), kept_entry, replaced_entry))
    return samples


def _entry_pairs(kept: Rating, replaced: Rating) -> dict[str, tuple[str, str]]:
    """Part name -> (its rating as the model wrote it, as derived), for the entries rated in both."""
    if kept.entries is None or replaced.entries is None:
        return {}
    model = {entry_part(name): rating for name, rating in kept.entries.items()}
    derived = {entry_part(name): rating for name, rating in replaced.entries.items()}
    return {part: (model[part], derived[part]) for part in model.keys() & derived.keys()}


@dataclass(frozen=True)
class DocstringShares:
    """What a set of gates gives whole docstrings on a review: shares of its functions."""

    correct: float  # summaries
    vague: float
    wrong: float
    wrong_entry: float | None  # docstrings with at least one wrong entry; None: the sheets did not ask


def docstring_shares(functions: Sequence[RatedFunction], thresholds: Thresholds) -> DocstringShares:
    """The summaries and entries the hook with ``thresholds`` would have written, rated part by
    part: the model's rating where its part passes the gate, the derived text's below it. The
    issue's targets are on whole docstrings (a docstring with a false entry), which the per-kind
    curves do not show. An estimate on the review the gates were chosen on, not a new review."""
    def kept(function: RatedFunction, part: str) -> bool:
        score = function.scores.get(part)
        return score is not None and score >= thresholds.gate(part)

    summaries: Counter[str] = Counter()
    wrong_entry, asked = 0, 0
    for function in functions:
        summaries[function.model.summary if kept(function, SUMMARY) else function.derived.summary] += 1
        if function.model.entries is None or function.derived.entries is None:
            continue
        asked += 1
        model = {entry_part(name): rating for name, rating in function.model.entries.items()}
        derived = {entry_part(name): rating for name, rating in function.derived.entries.items()}
        # An entry only one system wrote is that system's, as the hook would have written it.
        written = [model[part] if part in model and (kept(function, part) or part not in derived) else derived[part]
                   for part in model.keys() | derived.keys()]
        wrong_entry += "wrong" in written
    total = len(functions) or 1
    return DocstringShares(*(summaries[rating] / total for rating in SUMMARY_RATINGS),
                           wrong_entry / asked if asked else None)


def gate_value(threshold: float) -> float:
    """A sweep threshold as a gate: just under a sample's rounded score, so that sample stays
    kept; keeping every part is 0 and keeping none is ``math.inf`` ("never": not even a perfect
    score passes)."""
    if math.isinf(threshold):
        return 0.0 if threshold < 0 else math.inf
    return min(max(math.floor((threshold - 5e-5) * 1e4) / 1e4, 0.0), 1.0)


def _share(point: CurvePoint) -> str:
    return f"{100 * point.correct:.0f}% | {100 * point.vague:.0f}% | {100 * point.wrong:.0f}%"


def why_chosen(curve: Sequence[CurvePoint], chosen: CurvePoint) -> str:
    """One line on why the gate stands where it does, for the table at the top of ``curve.md``."""
    ruled = [point for point in curve if point.beats_derived and point.kept]
    if chosen.kept:
        return f"keeps {chosen.kept}: rated above derived text from its score up"
    if not ruled:
        return "never: no score where the model's part is rated above derived text"
    return (f"never: rated above derived text from {min(point.threshold for point in ruled):.4f} up, but every such "
            "gate leaves more wrong parts than allowed")


def curve_markdown(title: str, curve: Sequence[CurvePoint], chosen: CurvePoint, total: int, unit: str) -> str:
    lines = [f"### {title} ({total} {unit})", "",
             "| gate (keep score >=) | model parts kept | kept above / below derived | fitted preference at the gate "
             "| beats derived | correct | vague | wrong |", "|---:|---:|---:|---:|:---:|---:|---:|---:|"]
    for point in curve:
        mark = " **(chosen)**" if point == chosen else ""
        fit = "" if point.fit is None else f"{point.fit:+.2f}"
        lines.append(f"| {point.threshold:.4f}{mark} | {point.kept} | {point.above} / {point.below} | {fit} | "
                     f"{'yes' if point.beats_derived else 'no'} | {_share(point)} |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, kw_only=True)
class CalibrateArgs:
    runs: Path = arg(help="the folder with off/ and all/ (train.evaluate outputs) and blind/ (sheets, key, ratings)")
    review: tuple[Path, ...] = arg((), append=True, help="another review of the same functions (key.csv and "
                                   "ratings-*.csv), pooled with blind/: each rating is one more sample")
    model_dir: Path | None = arg(None, help="the model directory whose docucode.json is written")
    out: Path | None = arg(None, help="the docucode.json to write instead (a served model's gates, for the "
                           "hook's thresholds option)")
    max_wrong: float = arg(0.10, help="the most wrong parts of each kind the chosen gate may leave")
    cap_wrong_at_derived: bool = arg(False, help="and no more wrong parts than derived text alone leaves "
                                      "(issue 22's target on the far set)")
    calibration: str | None = arg(None, help="the review's name in docucode.json, which --explain quotes where "
                                  "a gate is never (default: 'blind review, RUNS')")
    never: tuple[str, ...] = arg((), append=True, help="a gate (summary, parameter, ...) set to never whatever this "
                                 "review's curve says: a kind another review, of functions the gates were not chosen "
                                 "on, found false more often than derived text")


def _target(args: CalibrateArgs) -> tuple[Path, Thresholds]:
    """The file the gates go to, and the gates it holds now (what an unrated kind keeps)."""
    if (args.model_dir is None) == (args.out is None):
        raise ValueError("give one of --model-dir (a model directory) and --out (a docucode.json file)")
    if args.model_dir is not None:
        return args.model_dir / THRESHOLDS_FILE, load_thresholds(args.model_dir)
    return args.out, configured_thresholds(args.out) if args.out.is_file() else NO_GATES


def calibrate(args: CalibrateArgs, say: Callable[[str], None] = print) -> Thresholds:
    """Sweep every gate, write ``curve.md`` into ``args.runs`` and the gates into ``docucode.json``."""
    target, before = _target(args)  # a wrong pair of flags fails before any reading
    unknown = sorted(set(args.never) - set(GATE_FIELDS))
    if unknown:
        raise ValueError(f"--never {unknown[0]}: the gates are {', '.join(GATE_FIELDS)}")
    functions = [function for blind in (args.runs / "blind", *args.review)
                 for function in rated_functions(blind, args.runs / "off" / OUTPUTS_FILE)]
    samples = gate_samples(functions)
    if not samples[SUMMARY]:
        raise ReviewError(f"{args.runs / 'blind'}: no function rated for both {KEPT!r} and {REPLACED!r}")
    unrated = [name for name in ENTRY_GATES if not samples[name]]
    if len(unrated) == len(ENTRY_GATES):
        raise ReviewError(f"{args.runs / 'blind'}: no entry rated for both systems (sheets without an entries column?)")
    calibration = args.calibration or f"blind review, {args.runs.as_posix()}"
    cap = f"at most {100 * args.max_wrong:.0f}% wrong" + (" and no more wrong than derived text alone"
                                                          if args.cap_wrong_at_derived else "")
    summary = ["| gate | chosen | correct | vague | wrong | derived alone: correct | vague | wrong | why |",
               "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    curves, gates = [], {}
    for name, kind_samples in samples.items():
        if not kind_samples:  # no such entry in the sample: the gate stays where it was
            curves += [f"### {name} (no rated parts: the gate is left as it was)", ""]
            summary.append(f"| {name} | (as it was) | | | | | | | no rated parts |")
            continue
        curve = sweep(kind_samples)
        chosen = choose_threshold(curve, args.max_wrong, args.cap_wrong_at_derived)
        why = why_chosen(curve, chosen)
        if name in args.never:
            kept_here = f"this curve's choice was {gate_value(chosen.threshold):.4f}" if chosen.kept else "so does this curve"
            chosen, why = curve[-1], f"never: --never (a review of other functions; {kept_here})"
        gates[name] = gate_value(chosen.threshold)
        unit = "functions" if name in (SUMMARY, DESCRIPTION) else "entries"
        shown = NEVER if math.isinf(gates[name]) else f"{gates[name]:.4f}"
        summary.append(f"| {name} | {shown} | {_share(chosen)} | {_share(curve[-1])} | {why} |")
        curves.append(curve_markdown(name, curve, chosen, len(kind_samples), unit))
    thresholds = replace(before, **gates, calibration=calibration)
    path = save_thresholds(target, thresholds)
    compared = {"model, ungated": replace(thresholds, **dict.fromkeys(GATE_FIELDS, 0.0)),
                f"the gates before (`{THRESHOLDS_FILE}` as it was)": before, "**the gates chosen**": thresholds,
                "derived text alone": replace(thresholds, **dict.fromkeys(GATE_FIELDS, math.inf))}
    docstrings = ["| gates | summaries correct | vague | wrong | docstrings with a wrong entry |", "|---|---:|---:|---:|---:|"]
    for name, gated in compared.items():
        shares = docstring_shares(functions, gated)
        entry = "" if shares.wrong_entry is None else f"{100 * shares.wrong_entry:.0f}%"
        docstrings.append(f"| {name} | {100 * shares.correct:.0f}% | {100 * shares.vague:.0f}% | "
                          f"{100 * shares.wrong:.0f}% | {entry} |")
    report = ["# Confidence gates: the trade-off curves", "",
              f"Chosen on: {calibration}. A gate keeps the model's part only where the reviewers rate it above the "
              "derived text at its score (the fitted preference of every part kept is above 0: 'beats derived'), "
              f"and then at the point with the most correct parts with {cap}. Shares are of all the rated parts "
              "of each kind, a part below the gate counted with the rating of the derived text that stands in "
              "for it (for a description: none).", "", *summary, "",
              f"Whole docstrings, {len(functions)} functions: each part rated as the model wrote it where it "
              "passes the gate and as derived below it (an estimate on the review the gates were chosen on; the "
              "before/after review measures them).", "", *docstrings, "", *curves,
              f"Written to `{THRESHOLDS_FILE if args.out is None else path}`: "
              f"{json.dumps(json.loads(path.read_text(encoding='utf-8')))}"]
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
