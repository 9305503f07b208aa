"""How sure the model is of each part it wrote, and which parts to keep.

A part is the summary, the extended description, one parameter's description, the Returns
(or Yields) description, or one exception's Raises description. Its score combines two
signals, each in [0, 1]:

- the model's own confidence: the geometric mean of its token probabilities inside the
  part (``exp`` of the mean natural-log probability);
- lexical support: the share of the part's content words that occur in the code's
  identifiers, split at underscores and camelCase humps.

``score = weight * confidence + (1 - weight) * support``. Neither signal alone separates
wrong from right summaries well (issue 14: AUC 0.62 and 0.67), so both are kept per part
and the thresholds are calibrated by blind review (``train.calibrate``).

The thresholds ship in the model directory, in ``docucode.json`` beside ``config.json``
(a file of our own: ``save_pretrained`` rewrites ``config.json``)::

    {"thresholds": {"summary": 0.35, "description": 0.5, "parameter": 0.3, "result": 0.3,
                    "exception": 0.3, "weight": 0.5}}

Missing keys, or a missing file, take the defaults of ``Thresholds``. A gate is a number from
0 to 1, or ``"never"``: the model does not write that part at all (``train.calibrate`` sets it
where no score of the model's part was rated above the derived text). ``"calibration"`` beside
``"thresholds"`` names the review that chose the gates, and ``--explain`` quotes it where a gate
is never::

    {"thresholds": {"summary": "never", ...}, "calibration": "far-set review, docs/eval/far-v1"}

Gates belong to the model they were calibrated for (the pipeline picks them,
``pipeline.confidence_gates``): a model without calibrated gates runs with ``NO_GATES`` unless
the ``thresholds`` option names its own (``configured_thresholds``: a file or an inline table,
where an unnamed gate lets every score pass).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docucode_hook.docstrings.sections import short_name
from docucode_hook.docstrings.phrasing import FILLER, words

THRESHOLDS_FILE = "docucode.json"
NEVER = "never"  # a gate in docucode.json that no score passes; math.inf in Thresholds
SUMMARY, DESCRIPTION = "summary", "description"
PARAMETER_PREFIX = "param:"
RESULT = "result"  # the Returns or Yields description
EXCEPTION_PREFIX = "raises:"  # and the exception's last name
# Words that carry no claim about the code: neither support nor contradict it.
_STOPWORDS = FILLER | frozenset(
    """and or not but from with into onto over under by in on at as if then else than when
    which who whose what where while all any each every some no other such only also
    has have had was were been being will would can could should may might must do does""".split()
)


GATE_FIELDS = ("summary", "description", "parameter", "result", "exception")  # the fields of Thresholds that gate
# What each gate's parts are called where a gate of "never" explains itself.
_GATED_PARTS = {"summary": "summaries", "description": "descriptions", "parameter": "parameter descriptions",
                "result": "Returns or Yields descriptions", "exception": "Raises descriptions"}
UNSURE, NOT_WRITTEN = "model unsure", "the model does not write"  # how a gate's reasons begin


@dataclass(frozen=True)
class Thresholds:
    """Minimum scores to keep each kind of part; uncalibrated defaults until a model ships its own.

    A gate of ``math.inf`` ("never" in ``docucode.json``) takes every part of its kind.
    """

    summary: float = 0.35
    description: float = 0.5  # filler or false in most second paragraphs: the strictest gate
    parameter: float = 0.3
    result: float = 0.3
    exception: float = 0.3
    weight: float = 0.5  # share of the model's confidence in the score; the rest is lexical support
    calibration: str = ""  # the review that chose the gates ("far-set review, docs/eval/far-v1")

    def gate(self, part: str) -> float:
        """The minimum score for ``part`` (a name as ``part_spans`` gives it)."""
        return getattr(self, gate_name(part))

    def why_gated(self, part: str, score: float) -> str:
        """Why ``part``, with ``score`` below its gate, is not the model's: unsure, or a gate of never."""
        gate = self.gate(part)
        if gate == math.inf:
            why = f"{NOT_WRITTEN} {_GATED_PARTS[gate_name(part)]}"
            return f"{why}: {self.calibration}" if self.calibration else why
        digits = 2 if f"{score:.2f}" != f"{gate:.2f}" else 4  # never "0.88 below 0.88"
        return f"{UNSURE}: {part} score {score:.{digits}f} below {gate:.{digits}f}"


def gate_name(part: str) -> str:
    """The ``Thresholds`` field that gates ``part``: "summary", "description", "parameter", "result", "exception"."""
    if part.startswith(PARAMETER_PREFIX):
        return "parameter"
    if part.startswith(EXCEPTION_PREFIX):
        return "exception"
    return {SUMMARY: "summary", DESCRIPTION: "description", RESULT: "result"}[part]


class ThresholdsError(ValueError):
    """A ``docucode.json`` that cannot be read; str(e) names the file and the reason."""


# Every score passes: a model nobody calibrated gates for keeps its text (the truth checks still apply).
NO_GATES = Thresholds(summary=0.0, description=0.0, parameter=0.0, result=0.0, exception=0.0)


def parse_thresholds(raw: Any, source: str, base: Thresholds = Thresholds(), calibration: Any = "") -> Thresholds:
    """Thresholds from a ``{"summary": 0.6, "exception": "never", ...}`` mapping, keys missing from it
    taken from ``base``; ``source`` names where it came from in the error."""
    known = {*GATE_FIELDS, "weight"}
    if not isinstance(raw, Mapping) or set(raw) - known:
        raise ThresholdsError(f"{source}: 'thresholds' keys must be among {', '.join(sorted(known))}")
    if not isinstance(calibration, str):
        raise ThresholdsError(f"{source}: 'calibration' must be a string (got {calibration!r})")
    values = {}
    for key, value in raw.items():
        if value == NEVER and key in GATE_FIELDS:
            values[key] = math.inf
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            never = f' or "{NEVER}"' if key in GATE_FIELDS else ""
            raise ThresholdsError(f"{source}: thresholds.{key} must be a number from 0 to 1{never} (got {value!r})")
        else:
            values[key] = float(value)
    return replace(base, **values, calibration=calibration)


def _read_thresholds_file(path: Path, base: Thresholds) -> Thresholds:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        raw, calibration = document.get("thresholds", {}), document.get("calibration", "")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise ThresholdsError(f"{path}: not a JSON object with a 'thresholds' object ({exc})") from None
    except OSError as exc:
        raise ThresholdsError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_thresholds(raw, str(path), base, calibration)


def load_thresholds(model_dir: str | Path | None) -> Thresholds:
    """The thresholds in ``model_dir/docucode.json``; the defaults when there is no such file."""
    if model_dir is None:
        return Thresholds()
    path = Path(model_dir) / THRESHOLDS_FILE
    if not path.is_file():
        return Thresholds()
    return _read_thresholds_file(path, Thresholds())


def configured_thresholds(value: str | Path | Mapping[str, Any]) -> Thresholds:
    """The ``thresholds`` option: a ``docucode.json`` (or the directory holding one), or an inline table.

    A gate it does not name lets every score pass: only calibrated gates drop a model's text.
    """
    if isinstance(value, Mapping):
        return parse_thresholds(value, "[tool.docucode] thresholds", NO_GATES)
    path = Path(value)
    if path.is_dir():
        path = path / THRESHOLDS_FILE
    if not path.is_file():
        raise ThresholdsError(f"{path}: thresholds file not found")
    return _read_thresholds_file(path, NO_GATES)


def save_thresholds(target: str | Path, thresholds: Thresholds) -> Path:
    """Write ``thresholds`` as ``load_thresholds`` reads them back: into ``target/docucode.json`` where
    ``target`` is a directory (a model's), else into the file ``target`` (the ``thresholds`` option's)."""
    gates: dict[str, object] = {}
    for name in (*GATE_FIELDS, "weight"):
        value = getattr(thresholds, name)
        if value == math.inf and name != "weight":
            gates[name] = NEVER
        elif 0 <= value <= 1:
            gates[name] = value
        else:
            raise ThresholdsError(f"thresholds.{name} = {value!r} cannot be written: gates are 0 to 1 or never")
    document: dict[str, object] = {"thresholds": gates}
    if thresholds.calibration:
        document["calibration"] = thresholds.calibration
    path = Path(target) / THRESHOLDS_FILE if Path(target).is_dir() else Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Span:
    part: str  # "summary", "description", "param:<name>", "result" or "raises:<name>"
    start: int  # character offsets in the generated text, end exclusive
    end: int


_SECTION = re.compile(
    r"^[ \t]*(?:(?:Args|Arguments|Parameters|Params|Other Parameters|Keyword Args|Returns?|Yields?|Raises|"
    r"Examples?|Notes?|See Also|Attributes)\s*:?[ \t]*$|[:@](?:param|type|returns?|rtype|raises?|yields?|ytype)\b)",
    re.MULTILINE | re.IGNORECASE,
)


def part_spans(text: str, parameters: Sequence[str], exceptions: Sequence[str] = ()) -> list[Span]:
    """Where the summary, the extended description and each entry's description lie in ``text``.

    Read the same way in every style: the summary is the first paragraph, the description
    runs from there to the first section title or field, and a parameter's or exception's
    description is the rest of its entry line (``x (int): ...``, ``x : int``, ``:param x:
    ...``, ``:raises E: ...``) and the lines indented under it. The result's description is
    its section's text up to the next section (``:returns:`` to the end of its entry).
    """
    spans: list[Span] = []
    lines = _lines_with_offsets(text)
    first = next((index for index, (_, line) in enumerate(lines) if line.strip()), None)
    if first is None:
        return spans
    section = _SECTION.search(text)
    head_end = section.start() if section else len(text)
    index = first
    while index < len(lines) and lines[index][1].strip() and lines[index][0] < head_end:
        index += 1
    summary_end = lines[index - 1][0] + len(lines[index - 1][1])
    spans.append(Span(SUMMARY, lines[first][0] + _indent(lines[first][1]), summary_end))
    description = text[summary_end:head_end]
    if description.strip():
        start = summary_end + len(description) - len(description.lstrip())
        spans.append(Span(DESCRIPTION, start, summary_end + len(description.rstrip())))
    numpy = bool(re.search(r"^[ \t]*(?:Parameters|Other Parameters)[ \t]*\n[ \t]*-{3,}", text, re.MULTILINE))
    for name in parameters:
        span = _entry_span(text, lines, PARAMETER_PREFIX, name.lstrip("*"), head_end, numpy)
        if span:
            spans.append(span)
    result = _result_span(text, lines, head_end)
    if result:
        spans.append(result)
    raises = re.search(r"^[ \t]*Raises[ \t]*:?[ \t]*$", text[head_end:], re.MULTILINE)
    raises_at = head_end + raises.start() if raises else head_end
    numpy_raises = bool(re.search(r"^[ \t]*Raises[ \t]*\n[ \t]*-{3,}", text, re.MULTILINE))
    for name in dict.fromkeys(short_name(name) for name in exceptions):
        span = _entry_span(text, lines, EXCEPTION_PREFIX, name, raises_at, numpy_raises)
        if span:
            spans.append(span)
    return spans


def _lines_with_offsets(text: str) -> list[tuple[int, str]]:
    out, offset = [], 0
    for line in text.split("\n"):
        out.append((offset, line))
        offset += len(line) + 1
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _entry_span(
    text: str, lines: list[tuple[int, str]], prefix: str, name: str, after: int, numpy: bool
) -> Span | None:
    if prefix == EXCEPTION_PREFIX:  # "ValueError" or "errors.ValueError"; Sphinx ":raises E:"
        name_re, field = rf"(?:[\w.]+\.)?{re.escape(name)}", r"raises?|except(?:ion)?"
    else:  # "*args", and "\*args" as Sphinx escapes it
        name_re, field = rf"\\?\*{{0,2}}{re.escape(name)}", "param"
    entry = re.compile(
        rf"^[ \t]*(?::(?:{field})\s+(?:[^:\s]+\s+)?{name_re}:"  # Sphinx, with or without a type
        rf"|{name_re}\s*(?:\([^\n]*?\))?\s*:"  # Google "x (int):", NumPy "x : int"
        rf"|{name_re}[ \t]*$)"  # NumPy without a type
    )
    for index, (offset, line) in enumerate(lines):
        if offset < after:
            continue
        match = entry.match(line)
        if not match:
            continue
        # A NumPy entry line holds the name and type; the description is on the indented lines below.
        is_numpy_header = numpy and bool(re.match(rf"^[ \t]*{name_re}\s*(?::|$)", line))
        start = offset + len(line) if is_numpy_header else offset + match.end()
        end = offset + len(line)
        for next_offset, next_line in lines[index + 1 :]:
            if next_line.strip() and _indent(next_line) <= _indent(line):
                break
            if next_line.strip():
                end = next_offset + len(next_line)
        while start < end and text[start] in " \t\n":
            start += 1
        return Span(prefix + name, start, end) if start < end else None
    return None


_RESULT_TITLE = re.compile(r"^[ \t]*(?:Returns?|Yields?)[ \t]*:?[ \t]*$", re.MULTILINE | re.IGNORECASE)
_RESULT_FIELD = re.compile(r"^[ \t]*:(?:returns?|yields?):[ \t]*", re.MULTILINE)


def _result_span(text: str, lines: list[tuple[int, str]], after: int) -> Span | None:
    """The Returns/Yields section's text (its type line included) up to the next section, or a
    ``:returns:`` field's entry."""
    field = _RESULT_FIELD.search(text, after)
    title = _RESULT_TITLE.search(text, after)
    if field and not (title and title.start() < field.start()):
        start = end = field.end()
        entry_indent = _indent(text[field.start() : field.end()])
        for offset, line in lines:
            if offset < field.start():
                continue
            if offset > field.start() and line.strip() and (_indent(line) <= entry_indent or line.lstrip().startswith(":")):
                break
            if line.strip():
                end = offset + len(line)
    elif title:
        start = title.end() + 1
        underline = re.match(r"[ \t]*-{3,}[ \t]*\n?", text[start:])
        start += underline.end() if underline else 0
        following = _SECTION.search(text, start)
        end = len(text[: following.start() if following else len(text)].rstrip())
    else:
        return None
    while start < end and text[start] in " \t\n":
        start += 1
    return Span(RESULT, start, end) if start < end else None


@dataclass(frozen=True)
class PartScore:
    part: str
    text: str
    mean_logprob: float | None  # None: no token of the part carried a log-probability
    min_logprob: float | None
    support: float
    score: float


def span_logprobs(token_logprobs: Sequence[tuple[int, float]], start: int, end: int) -> tuple[float, float] | None:
    """(mean, minimum) log-probability of the tokens whose first character lies in [start, end)."""
    inside = [logprob for offset, logprob in token_logprobs if start <= offset < end]
    return (sum(inside) / len(inside), min(inside)) if inside else None


def lexical_support(text: str, code_words: Iterable[str]) -> float:
    """The share of the text's content words found among ``code_words`` (1.0 when it has none)."""
    vocabulary = {word for identifier in code_words for word in words(identifier)}
    content = [word for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text) for word in words(token)]
    content = [word for word in content if word not in _STOPWORDS and len(word) > 2]
    if not content:
        return 1.0
    return sum(word in vocabulary for word in content) / len(content)


def code_identifiers(code: str) -> list[str]:
    """The identifiers of a piece of code, the raw material for ``lexical_support``."""
    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code)


def score_parts(
    text: str,
    token_logprobs: Sequence[tuple[int, float]],
    parameters: Sequence[str],
    code: str,
    weight: float = Thresholds.weight,
    exceptions: Sequence[str] = (),
) -> dict[str, PartScore]:
    """A score per part of the generated ``text``; a part without log-probabilities is scored on
    lexical support alone."""
    identifiers = code_identifiers(code)
    scores = {}
    for span in part_spans(text, parameters, exceptions):
        part_text = text[span.start : span.end]
        support = lexical_support(part_text, identifiers)
        logprobs = span_logprobs(token_logprobs, span.start, span.end)
        if logprobs is None:
            mean = low = None
            score = support
        else:
            mean, low = logprobs
            score = weight * math.exp(mean) + (1 - weight) * support
        scores[span.part] = PartScore(span.part, part_text, mean, low, support, score)
    return scores


@dataclass(frozen=True)
class Decision:
    # The parts under their gate (the description is dropped, the others replaced), each with
    # why: "model unsure: summary score 0.21 below 0.35", or "the model does not write summaries".
    reasons: dict[str, str]


def decide(scores: dict[str, PartScore], thresholds: Thresholds) -> Decision:
    """Which parts fall below their gate (``Thresholds.gate``), and why (``Thresholds.why_gated``)."""
    return Decision({
        part: thresholds.why_gated(part, score.score)
        for part, score in sorted(scores.items())
        if score.score < thresholds.gate(part)
    })


def is_gate_reason(reason: str) -> bool:
    """Whether a part's reason (as ``--explain`` shows it) says a gate took the model's text."""
    return UNSURE in reason or NOT_WRITTEN in reason


__all__ = [
    "DESCRIPTION",
    "Decision",
    "EXCEPTION_PREFIX",
    "GATE_FIELDS",
    "NEVER",
    "NOT_WRITTEN",
    "PARAMETER_PREFIX",
    "RESULT",
    "PartScore",
    "SUMMARY",
    "Span",
    "NO_GATES",
    "THRESHOLDS_FILE",
    "Thresholds",
    "ThresholdsError",
    "UNSURE",
    "code_identifiers",
    "configured_thresholds",
    "decide",
    "gate_name",
    "is_gate_reason",
    "lexical_support",
    "load_thresholds",
    "parse_thresholds",
    "part_spans",
    "save_thresholds",
    "score_parts",
    "span_logprobs",
]
