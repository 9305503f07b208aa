"""Scores for generated docstrings: BLEU-4, CodeBLEU, ROUGE-L, parameter agreement, style, summary checks."""

from __future__ import annotations

import ast
import math
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.docstrings.sections import documented_params, read_sections
from docucode_hook.docstrings.insert import InsertError, insert_docstrings
from docucode_hook.docstrings.phrasing import repeated_ngram, restates_name
from docucode_hook.backends.prompt import TRUNCATED as TRUNCATED_LINE
from docucode_hook.code.syntax import FUNCTIONS, GENERATOR_TYPES

# Underscores count as punctuation: CodeXGLUE's normaliser splits them out after its
# word/punctuation split, so `foo_bar` scores as three tokens there too.
_BLEU_TOKEN = re.compile(r"[^\W_]+|_|[^\w\s]")

def bleu_tokens(text: str) -> list[str]:
    """Lower-case and split punctuation from words, as CodeXGLUE's code-to-text evaluator does."""
    return _BLEU_TOKEN.findall(text.lower())


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def sentence_bleu4(reference: str, hypothesis: str) -> float:
    """Smoothed sentence BLEU-4 in [0, 1]: +1 on the 2- to 4-gram counts, CodeXGLUE's brevity penalty."""
    ref, hyp = bleu_tokens(reference), bleu_tokens(hypothesis)
    log_precision = 0.0
    for n in range(1, 5):
        matches = sum((_ngrams(hyp, n) & _ngrams(ref, n)).values())
        guesses = max(len(hyp) - n + 1, 0)
        smooth = 1 if n > 1 else 0
        # The float minimum keeps log() finite when a count is zero, as in the original.
        log_precision += math.log(matches + smooth + sys.float_info.min)
        log_precision -= math.log(guesses + smooth + sys.float_info.min)
    brevity = min(0.0, 1 - (len(ref) + 1) / (len(hyp) + 1))
    return math.exp(log_precision / 4 + brevity)


def smoothed_bleu4(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Average sentence score x100, the number CodeXGLUE reports for code-to-text."""
    _same_length(references, hypotheses)
    if not references:
        return 0.0
    return 100 * sum(map(sentence_bleu4, references, hypotheses)) / len(references)


_LITERAL_HEAD, _LITERAL_TAIL = "docstring = r'''", "'''"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _as_python(text: str) -> str:
    # A raw triple-quoted literal has no escape nodes, so every text gets the same tree once
    # nothing in it can end the literal early (a quote, a final backslash) or upset the parser
    # (control characters). Both sides are mapped alike, so n-gram matches are unchanged.
    body = _CONTROL.sub(" ", text).replace("'", "\u2019").rstrip("\\")
    return _LITERAL_HEAD + body + _LITERAL_TAIL


def _prose_tokens(source: str) -> list[str]:
    return bleu_tokens(source[len(_LITERAL_HEAD) : -len(_LITERAL_TAIL)])


def codebleu_scores(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """CodeBLEU x100 with its four components, on each docstring as a Python string literal.

    Prose is not code: parsed as Python, English gives tree-sitter error trees whose
    "syntax" and "dataflow" overlap is noise. As the literal ``docstring = '...'`` both
    texts have the same tree and one variable, so those two terms are a constant 100 and
    CodeBLEU = 50 + (n-gram + weighted n-gram) / 4: reported as the seed asks, but only
    the n-gram terms (on the same tokens as BLEU-4) carry information.
    """
    from codebleu import calc_codebleu

    _same_length(references, hypotheses)
    if not references:
        return {
            "codebleu": 0.0,
            "ngram_match": 0.0,
            "weighted_ngram_match": 0.0,
            "syntax_match": 0.0,
            "dataflow_match": 0.0,
        }
    scores = calc_codebleu(
        [_as_python(text) for text in references],
        [_as_python(text) for text in hypotheses],
        lang="python",
        tokenizer=_prose_tokens,
    )
    return {
        "codebleu": 100 * scores["codebleu"],
        "ngram_match": 100 * scores["ngram_match_score"],
        "weighted_ngram_match": 100 * scores["weighted_ngram_match_score"],
        "syntax_match": 100 * scores["syntax_match_score"],
        "dataflow_match": 100 * scores["dataflow_match_score"],
    }


def rouge_l(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure x100 (longest common subsequence of lower-cased words)."""
    from rouge_score.rouge_scorer import RougeScorer

    _same_length(references, hypotheses)
    if not references:
        return 0.0
    scorer = RougeScorer(["rougeL"])
    total = sum(scorer.score(ref, hyp)["rougeL"].fmeasure for ref, hyp in zip(references, hypotheses))
    return 100 * total / len(references)


def _same_length(references: Sequence[str], hypotheses: Sequence[str]) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")


def summary_of(docstring: str) -> str:
    """The first paragraph on one line: what BLEU-4 is scored on."""
    paragraph = docstring.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())


@dataclass(frozen=True)
class ParamAgreement:
    missing: tuple[str, ...]  # in the signature, not documented
    invented: tuple[str, ...]  # documented, not in the signature

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def truthful(self) -> bool:
        return not self.invented


def param_agreement(docstring: str, signature_params: Sequence[str], style: Style) -> ParamAgreement:
    """Compare the documented parameters with the signature's (self/cls already removed)."""
    parsed = read_sections(docstring, style)
    documented = documented_params(parsed) if parsed is not None else []
    wanted = [name.lstrip("*") for name in signature_params]
    return ParamAgreement(
        missing=tuple(name for name in wanted if name not in documented),
        invented=tuple(name for name in documented if name not in wanted),
    )


def has_repetition(text: str, n: int = 3) -> bool:
    """True when some word n-gram occurs twice: the loop a small model falls into.

    The hook's own rule, which replaces such a summary with the template's.
    """
    return repeated_ngram(text, n) is not None


def summary_checks(summaries: Sequence[str], names: Sequence[str]) -> dict[str, float]:
    """Percentages of empty summaries, summaries that restate the name, and repetitive ones."""
    _same_length(summaries, names)
    total = len(summaries) or 1
    return {
        "empty": 100 * sum(not summary.strip() for summary in summaries) / total,
        "restates_name": 100 * sum(map(restates_name, summaries, names)) / total,
        "repetition": 100 * sum(map(has_repetition, summaries)) / total,
    }


@dataclass(frozen=True)
class StyleSubject:
    code: str  # a dedented def without its docstring
    docstring: str
    is_method: bool = False


def with_docstring(code: str, docstring: str) -> str:
    """``code`` (a dedented def) with ``docstring`` as its outermost function's docstring, inserted
    exactly as the hook inserts it. Raises InsertError or SyntaxError for code that cannot take one."""
    function = next(node for node in ast.parse(code).body if isinstance(node, FUNCTIONS))
    return insert_docstrings(code, {function.lineno: docstring})


def _style_module(subjects: Sequence[StyleSubject]) -> tuple[str, list[int | None]]:
    """One module holding every subject; each one's `def` line (None: it would not parse).

    pydoclint reports a finding on the line of the function's `def`: a nested function's
    findings are its own, not the subject's.
    """
    parts: list[str] = []
    def_lines: list[int | None] = []
    line = 1
    for subject in subjects:
        try:
            source = with_docstring(subject.code, subject.docstring)
            compile(source, "<subject>", "exec")
        except (InsertError, SyntaxError, ValueError):
            def_lines.append(None)
            continue
        if subject.is_method:
            # pydoclint skips `self` only inside a class.
            source = "class Subject:\n" + "".join(
                "    " + row if row.strip() else row for row in source.splitlines(True)
            )
        source = source.rstrip("\n") + "\n\n\n"
        tree = ast.parse(source)
        body = tree.body[0].body if subject.is_method else tree.body
        function = next(n for n in body if isinstance(n, FUNCTIONS))
        def_lines.append(line + function.lineno - 1)
        parts.append(source)
        line += source.count("\n")
    return "".join(parts), def_lines


_VIOLATION = re.compile(r"^\s+(\d+): (DOC\d+)", re.MULTILINE)
# pydoclint can only demand type hints everywhere or nowhere; these codes say which.
_TYPE_HINT_PRESENCE = frozenset({"DOC106", "DOC107", "DOC108", "DOC109", "DOC110", "DOC111"})


def pydoclint_clean(subjects: Sequence[StyleSubject], style: Style, pydoclint: Path) -> list[list[str]]:
    """pydoclint's violation codes for each subject (empty: clean), run from its own venv.

    Type hints are not checked: the code under test is often unannotated, and whether the
    renderer repeats types is a style choice, not a mistake. Short docstrings are checked.
    """
    module, def_lines = _style_module(subjects)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "subjects.py").write_text(module, encoding="utf-8")
        # Run in the temp directory so that no pyproject.toml around us configures pydoclint.
        result = subprocess.run(
            [
                str(Path(pydoclint).absolute()),  # it runs from the temp directory
                f"--style={Style(style).value}",
                "--arg-type-hints-in-signature=False",
                "--arg-type-hints-in-docstring=False",
                "--check-return-types=False",
                "--check-yield-types=False",
                "--skip-checking-short-docstrings=False",
                "--allow-init-docstring=True",  # the wrapping class has no docstring of its own
                "--check-class-attributes=False",
                "--quiet",
                "subjects.py",
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    output = result.stdout + result.stderr
    if result.returncode not in (0, 1) or (result.returncode == 1 and not _VIOLATION.search(output)):
        raise RuntimeError(f"{pydoclint}: exit {result.returncode}: {output.strip()[-300:]}")
    found = [(int(line), code) for line, code in _VIOLATION.findall(output) if code not in _TYPE_HINT_PRESENCE]
    return [["unparsable"] if at is None else [code for line, code in found if line == at] for at in def_lines]


# pydoclint 0.12 asks these of the code itself, so no docstring can clear them, and a
# docstring tool must not change code. Each reason names the codes it explains.
CODE_ONLY_REASONS = {
    # pydoclint read the prompt's cut body, not the function: any code may be an artefact.
    "truncated snippet": None,
    # It accepts a Yields section only under such an annotation (DOC403) and wants one
    # without it (DOC402); jsh9/pydoclint#127.
    "generator without a Generator/Iterator annotation": frozenset(
        {"DOC201", "DOC202", "DOC203", "DOC402", "DOC403", "DOC404", "DOC405"}
    ),
    # It names the exception after the call: `raise exc.with_traceback(tb)` raises
    # "exc.with_traceback", which only a docstring naming a method as an exception satisfies.
    "raise exc.with_traceback()": frozenset({"DOC502", "DOC503"}),
}


# `raise exc.with_traceback(tb)` as a statement of its own line.
_WITH_TRACEBACK = re.compile(r"^\s*raise\s+[\w.]+\.with_traceback\(", re.MULTILINE)


def _code_only_reasons(ctx: FunctionContext) -> list[str]:
    """The finder's facts about the function, read the way pydoclint reads the code."""
    if any(line.strip() == TRUNCATED_LINE.strip() for line in ctx.code.splitlines()):
        return ["truncated snippet"]
    reasons = []
    annotation = ctx.returns_annotation or ""
    if ctx.is_generator and not any(name in annotation for name in GENERATOR_TYPES):
        reasons.append("generator without a Generator/Iterator annotation")
    if _WITH_TRACEBACK.search(ctx.code):
        reasons.append("raise exc.with_traceback()")
    return reasons


def code_only_findings(ctx: FunctionContext, found: Sequence[str]) -> str | None:
    """Why no docstring could clear pydoclint's ``found`` codes on ``ctx``'s code, or None.

    None as well when some code in ``found`` is not explained: that one is a real finding.
    """
    if not found:
        return None
    reasons = _code_only_reasons(ctx)
    explained: set[str] = set()
    for reason in reasons:
        codes = CODE_ONLY_REASONS[reason]
        if codes is None:
            return reason
        explained |= codes
    return ", ".join(reasons) if reasons and set(found) <= explained else None


__all__ = [
    "CODE_ONLY_REASONS",
    "ParamAgreement",
    "StyleSubject",
    "bleu_tokens",
    "code_only_findings",
    "codebleu_scores",
    "has_repetition",
    "param_agreement",
    "pydoclint_clean",
    "rouge_l",
    "sentence_bleu4",
    "smoothed_bleu4",
    "summary_checks",
    "summary_of",
    "with_docstring",
]
