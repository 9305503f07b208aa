"""Per-part confidence: spans in every style, scores, gates, thresholds on disk, calibration curve."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from docstring_parser import Docstring
from docstring_parser.common import DocstringParam, DocstringRaises, DocstringReturns
from hypothesis import given, settings
from hypothesis import strategies as st

from docucode_hook.precision.confidence import (
    NEVER,
    PartScore,
    Thresholds,
    ThresholdsError,
    decide,
    is_gate_reason,
    lexical_support,
    load_thresholds,
    part_spans,
    save_thresholds,
    score_parts,
    span_logprobs,
)
from docucode_hook.code.records import Style
from docucode_hook.docstrings.render import render_docstring


def _doc(summary: str, long: str | None, params: list[tuple[str, str]], raises: str = "If it is empty.") -> Docstring:
    doc = Docstring()
    doc.short_description, doc.long_description = summary, long
    doc.meta = [DocstringParam(["param", name], text, name, "int", None, None) for name, text in params]
    doc.meta.append(DocstringReturns(["returns"], "The total.", "int", False))
    doc.meta.append(DocstringRaises(["raises", "ValueError"], raises, "ValueError"))
    return doc


def _flat(text: str) -> str:
    return " ".join(text.split())


_WORD = st.from_regex(r"[a-z]{1,10}", fullmatch=True)
_SENTENCE = st.lists(_WORD, min_size=1, max_size=25).map(lambda ws: " ".join(ws) + ".")


@settings(max_examples=150, deadline=None)
@given(
    _SENTENCE,
    st.none() | _SENTENCE,
    st.lists(_SENTENCE, min_size=1, max_size=3),
    _SENTENCE,
    st.sampled_from(list(Style)),
    st.sampled_from([None, 40, 88]),
)
def test_spans_find_every_part_in_every_style(
    summary: str, long: str | None, texts: list[str], raises: str, style: Style, width: int | None
) -> None:
    names = ["alpha", "beta", "gamma"][: len(texts)]
    text = render_docstring(_doc(summary, long, list(zip(names, texts)), raises), style, width=width)
    found = {span.part: _flat(text[span.start : span.end]) for span in part_spans(text, names, ["errors.ValueError"])}
    expected = {"summary": summary, **({"description": long} if long else {})}
    expected |= {f"param:{name}": body for name, body in zip(names, texts)}
    expected["raises:ValueError"] = raises
    # The result's span keeps a type written on its lines (Google "int: The total.", NumPy's type line).
    assert found.pop("result").endswith("The total.")
    assert found == expected


def test_spans_of_a_model_like_text() -> None:
    text = (
        "Convert money.\n\nUses the rate.\n\nArgs:\n    amount (float): The value\n        to convert.\n    *rate: Ratio.\n"
        "\nReturns:\n    The money\n    converted.\n\nRaises:\n    KeyError: If the rate is unknown.\n"
    )
    parts = {span.part: text[span.start : span.end] for span in part_spans(text, ["amount", "*rate", "missing"], ["KeyError", "OSError"])}
    assert parts == {
        "summary": "Convert money.",
        "description": "Uses the rate.",
        "param:amount": "The value\n        to convert.",
        "param:rate": "Ratio.",
        "result": "The money\n    converted.",
        "raises:KeyError": "If the rate is unknown.",
    }
    sphinx = "Convert.\n\n:param amount: The value.\n:returns: The money,\n    converted.\n:rtype: float\n:raises KeyError: If unknown.\n"
    parts = {span.part: sphinx[span.start : span.end] for span in part_spans(sphinx, ["amount"], ["KeyError"])}
    assert parts["result"] == "The money,\n    converted." and parts["raises:KeyError"] == "If unknown."
    assert part_spans("", ["x"]) == []


def test_span_logprobs_counts_tokens_that_start_inside() -> None:
    tokens = [(0, -0.1), (5, -0.3), (10, -2.0), (15, -0.5)]
    assert span_logprobs(tokens, 5, 15) == (pytest.approx(-1.15), -2.0)
    assert span_logprobs(tokens, 16, 20) is None


def test_lexical_support_splits_identifiers() -> None:
    code = "def read_lines(path: str) -> list[str]:\n    return Path(path).readText().splitlines()"
    identifiers = re.findall(r"\w+", code)
    assert lexical_support("Read the lines of the path.", identifiers) == 1.0
    assert lexical_support("Read the lines from a socket.", identifiers) == pytest.approx(2 / 3)
    assert lexical_support("The text.", identifiers) == 1.0  # "text" from readText
    assert lexical_support("It is.", identifiers) == 1.0  # no content word: nothing to contradict


CODE = "def convert(amount, rate):\n    return amount * rate"
TEXT = "Convert the amount.\n\nMagic unicorn galaxy.\n\nArgs:\n    amount: The amount to convert.\n    rate: Banana.\n"


def _logprobs(text: str, low_part: str, value: float) -> tuple[tuple[int, float], ...]:
    """One token per word: -0.05 each, ``value`` inside ``low_part``."""
    start = text.index(low_part)
    return tuple(
        (match.start(), value if start <= match.start() < start + len(low_part) else -0.05)
        for match in re.finditer(r"\S+", text)
    )


def test_scores_combine_both_signals() -> None:
    scores = score_parts(TEXT, _logprobs(TEXT, "Convert the amount.", -3.0), ["amount", "rate"], CODE)
    assert set(scores) == {"summary", "description", "param:amount", "param:rate"}
    summary = scores["summary"]
    assert summary.mean_logprob == pytest.approx(-3.0) and summary.support == 1.0
    assert summary.score == pytest.approx(0.5 * math.exp(-3.0) + 0.5)
    assert scores["description"].support == 0.0
    assert scores["param:rate"].score < scores["param:amount"].score
    # Without log-probabilities (the template, a server that does not report them) support alone counts.
    plain = score_parts(TEXT, (), ["amount", "rate"], CODE)
    assert plain["summary"].mean_logprob is None and plain["summary"].score == 1.0


def test_decide_gates_each_part() -> None:
    scores = score_parts(TEXT, _logprobs(TEXT, "Banana.", -4.0), ["amount", "rate"], CODE)
    decision = decide(scores, Thresholds())
    assert set(decision.reasons) == {"description", "param:rate"}
    assert all(reason.startswith(f"model unsure: {part} score ") and "below" in reason
               for part, reason in decision.reasons.items())
    lenient = decide(scores, Thresholds(summary=0, description=0, parameter=0))
    assert not lenient.reasons
    strict = decide({"summary": PartScore("summary", "x", -9.0, -9.0, 0.0, 0.01)}, Thresholds())
    assert set(strict.reasons) == {"summary"}
    sections = {part: PartScore(part, "x", -1.0, -1.0, 0.5, 0.4) for part in ("result", "raises:KeyError")}
    assert set(decide(sections, Thresholds(result=0.5)).reasons) == {"result"}
    assert set(decide(sections, Thresholds(exception=0.5)).reasons) == {"raises:KeyError"}


def test_thresholds_from_the_model_directory(tmp_path: Path) -> None:
    assert load_thresholds(None) == Thresholds() == load_thresholds(tmp_path)
    (tmp_path / "docucode.json").write_text(json.dumps({"thresholds": {"summary": 0.6, "weight": 0.25}}))
    assert load_thresholds(tmp_path) == Thresholds(summary=0.6, weight=0.25)
    (tmp_path / "docucode.json").write_text(json.dumps({"thresholds": {"summary": 2}}))
    with pytest.raises(ThresholdsError, match=r"docucode.json: thresholds.summary must be a number from 0 to 1"):
        load_thresholds(tmp_path)
    (tmp_path / "docucode.json").write_text(json.dumps({"thresholds": {"sumary": 0.5}}))
    with pytest.raises(ThresholdsError, match="keys must be among"):
        load_thresholds(tmp_path)
    (tmp_path / "docucode.json").write_text("{not json")
    with pytest.raises(ThresholdsError, match="docucode.json: not a JSON object"):
        load_thresholds(tmp_path)


def test_a_gate_of_never_takes_every_part_of_its_kind_and_says_why(tmp_path: Path) -> None:
    # What train.calibrate writes where the model's part was not rated above derived text at any score.
    shipped = Thresholds(summary=math.inf, exception=math.inf, parameter=0.62, calibration="far-set review")
    path = save_thresholds(tmp_path, shipped)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["thresholds"]["summary"] == written["thresholds"]["exception"] == NEVER
    assert written["calibration"] == "far-set review"
    assert load_thresholds(tmp_path) == shipped
    # Even a perfect score does not pass a gate of never; a gate of 1 still lets it through.
    perfect = {part: PartScore(part, "x", 0.0, 0.0, 1.0, 1.0) for part in ("summary", "raises:KeyError", "param:x")}
    reasons = decide(perfect, shipped).reasons
    assert reasons == {"summary": "the model does not write summaries: far-set review",
                       "raises:KeyError": "the model does not write Raises descriptions: far-set review"}
    assert all(is_gate_reason(reason) for reason in reasons.values())
    assert not decide(perfect, Thresholds(summary=1.0, exception=1.0)).reasons
    # Without a calibration note the reason stands alone.
    assert decide(perfect, Thresholds(summary=math.inf)).reasons["summary"] == "the model does not write summaries"
    # A score just under its gate says so in as many digits as it takes.
    close = {"result": PartScore("result", "x", -0.1, -0.1, 0.9, 0.8815)}
    assert decide(close, Thresholds(result=0.8821)).reasons["result"] == "model unsure: result score 0.8815 below 0.8821"
    # "never" is for gates only; the weight is a share.
    (tmp_path / "docucode.json").write_text(json.dumps({"thresholds": {"weight": "never"}}))
    with pytest.raises(ThresholdsError, match=r"thresholds.weight must be a number from 0 to 1 \(got 'never'\)"):
        load_thresholds(tmp_path)
    (tmp_path / "docucode.json").write_text(json.dumps({"thresholds": {"summary": "nevermore"}}))
    with pytest.raises(ThresholdsError, match=r'thresholds.summary must be a number from 0 to 1 or "never"'):
        load_thresholds(tmp_path)
    (tmp_path / "docucode.json").write_text(json.dumps({"thresholds": {}, "calibration": 3}))
    with pytest.raises(ThresholdsError, match="'calibration' must be a string"):
        load_thresholds(tmp_path)


def test_scores_with_log_probabilities_from_a_real_model(tiny_model_dir: Path) -> None:
    """Teacher-forced log-probs of the tiny model, mapped to character offsets as a backend does."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    encoded = tokenizer(TEXT, return_offsets_mapping=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(encoded["input_ids"]).logits[0]
    logprobs = torch.log_softmax(logits[:-1], dim=-1).gather(1, encoded["input_ids"][0, 1:, None])[:, 0]
    offsets = [int(start) for start, _ in encoded["offset_mapping"][0, 1:]]
    token_logprobs = tuple(zip(offsets, logprobs.tolist()))
    scores = score_parts(TEXT, token_logprobs, ["amount", "rate"], CODE)
    for part in scores.values():
        assert part.mean_logprob is not None and part.min_logprob <= part.mean_logprob < 0
        assert 0 < part.score <= 1
    summary_end = TEXT.index("\n")
    inside = [value for offset, value in token_logprobs if offset < summary_end and offset >= 0]
    assert scores["summary"].mean_logprob == pytest.approx(sum(inside) / len(inside))
