"""train.metrics against values worked out by hand (comments show the arithmetic)."""

from __future__ import annotations

import ast
import math

import pytest
from pydoclint_venv import pydoclint_executable

from docucode_hook.code.records import Style
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.docstrings.sections import documented_params, read_sections
from docucode_hook.docstrings.phrasing import restates_name
from train.metrics import (
    StyleSubject,
    bleu_tokens,
    codebleu_scores,
    has_repetition,
    param_agreement,
    code_only_findings,
    pydoclint_clean,
    rouge_l,
    sentence_bleu4,
    smoothed_bleu4,
    summary_checks,
    summary_of,
    with_docstring,
)


def test_bleu_tokens_lower_case_and_split_punctuation_and_underscores() -> None:
    assert bleu_tokens("Return foo_bar's Value, (fast).") == [
        "return",
        "foo",
        "_",
        "bar",
        "'",
        "s",
        "value",
        ",",
        "(",
        "fast",
        ")",
        ".",
    ]


def test_sentence_bleu4_short_hypothesis() -> None:
    # ref: return the sum of a and b .  (8 tokens)   hyp: return the sum .  (4 tokens)
    # 1-grams 4/4; 2-grams 2/3 -> (2+1)/(3+1); 3-grams 1/2 -> 2/3; 4-grams 0/1 -> 1/2
    # product 1 * 3/4 * 2/3 * 1/2 = 1/4; brevity exp(1 - 9/5) = exp(-4/5)
    expected = (1 / 4) ** (1 / 4) * math.exp(-4 / 5)
    assert sentence_bleu4("Return the sum of a and b.", "Return the sum.") == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.317724, abs=1e-6)


def test_sentence_bleu4_long_hypothesis_has_no_brevity_penalty() -> None:
    # ref: add two numbers (3)   hyp: add two numbers now (4)
    # 1-grams 3/4 (no smoothing); 2-grams (2+1)/(3+1); 3-grams (1+1)/(2+1); 4-grams (0+1)/(1+1)
    expected = (3 / 4 * 3 / 4 * 2 / 3 * 1 / 2) ** (1 / 4)
    assert sentence_bleu4("Add two numbers", "add two numbers now") == pytest.approx(expected, rel=1e-12)


def test_sentence_bleu4_identical_is_one_and_empty_follows_codexglue() -> None:
    assert sentence_bleu4("Open the file.", "open  the FILE .") == pytest.approx(1.0)
    # An empty hypothesis has 0/0 counts (log ratio 0) and brevity 1 - (2+1)/(0+1) = -2.
    assert sentence_bleu4("two words", "") == pytest.approx(math.exp(-2))


def test_smoothed_bleu4_averages_sentences_times_100() -> None:
    first = (1 / 4) ** (1 / 4) * math.exp(-4 / 5)
    score = smoothed_bleu4(["Return the sum of a and b.", "Open the file."], ["Return the sum.", "Open the file."])
    assert score == pytest.approx(100 * (first + 1) / 2)
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        smoothed_bleu4(["a", "b"], ["a"])


def test_rouge_l_is_the_lcs_f_measure() -> None:
    # LCS("return the sum of a and b", "return the sum") = 3: P = 3/3, R = 3/7, F = 2PR/(P+R) = 0.6
    assert rouge_l(["Return the sum of a and b."], ["Return the sum."]) == pytest.approx(60.0)
    # Order matters: LCS of "a b c" and "c b a" is 1, so P = R = F = 1/3.
    assert rouge_l(["alpha beta gamma"], ["gamma beta alpha"]) == pytest.approx(100 / 3)


def test_codebleu_ngram_term_and_constant_syntax_and_dataflow() -> None:
    # n-gram term: every hypothesis n-gram matches, brevity exp(1 - 6/4) = exp(-0.5).
    scores = codebleu_scores(["a b c d e f"], ["a b c d"])
    assert scores["ngram_match"] == pytest.approx(100 * math.exp(-0.5))
    different = codebleu_scores(
        ['Return the sum.\n\nArgs:\n    a: It\'s "a".'], ["Open a file\\ and '''read''' it.\x00\\"]
    )
    for result in (scores, different):
        assert result["syntax_match"] == 100.0 and result["dataflow_match"] == 100.0
        assert result["codebleu"] == pytest.approx(50 + (result["ngram_match"] + result["weighted_ngram_match"]) / 4)
    assert different["ngram_match"] < 5
    # (Unsmoothed, so a text needs four tokens for a 4-gram: shorter ones score below 100.)
    assert codebleu_scores(["Return the same text."], ["Return the same text."])["codebleu"] == pytest.approx(100.0)


def test_summary_of_joins_the_first_paragraph() -> None:
    assert summary_of("  Add two\n   numbers.\n\nArgs:\n    a: x.\n") == "Add two numbers."
    assert summary_of("") == ""


@pytest.mark.parametrize(
    ("style", "text", "expected"),
    [
        (Style.GOOGLE, "Do.\n\nArgs:\n    a (int): x.\n    *args: y.\n    **kw: z.\n", ("a", "args", "kw")),
        (Style.NUMPY, "Do.\n\nParameters\n----------\nx, y : int\n    Both.\n", ("x", "y")),
        (Style.SPHINX, "Do.\n\n:param a: x.\n:param int b: y.\n", ("a", "b")),
        (Style.GOOGLE, "Do.\n\nArgs:\n    no colon here\n", ()),
    ],
)
def test_documented_params(style: Style, text: str, expected: tuple[str, ...]) -> None:
    parsed = read_sections(text, style)
    assert tuple(documented_params(parsed) if parsed is not None else ()) == expected


def test_param_agreement_missing_and_invented() -> None:
    text = "Do.\n\nArgs:\n    a: x.\n    *args: y.\n    ghost: z.\n"
    agreement = param_agreement(text, ["a", "b", "*args"], Style.GOOGLE)
    assert agreement.missing == ("b",) and agreement.invented == ("ghost",)
    assert not agreement.complete and not agreement.truthful
    exact = param_agreement("Do.\n\nArgs:\n    a: x.\n", ["a"], Style.GOOGLE)
    assert exact.complete and exact.truthful
    assert param_agreement("Just a summary.", [], Style.GOOGLE).complete


@pytest.mark.parametrize(
    ("summary", "name", "expected"),
    [
        ("Gets the value.", "get_value", True),
        ("Return the value.", "getValue", True),  # "return" and "the" are filler; camelCase split
        ("Fetch the value.", "getValue", False),
        ("Get value from the cache.", "get_value", False),
        ("", "get_value", False),
    ],
)
def test_restates_name(summary: str, name: str, expected: bool) -> None:
    assert restates_name(summary, name) is expected


def test_has_repetition_counts_repeated_trigrams() -> None:
    assert has_repetition("Read the file and read the file again.")
    assert not has_repetition("Return the value of the key.")
    assert has_repetition("a b a b", n=2) and not has_repetition("a b a b", n=3)


def test_summary_checks_percentages() -> None:
    summaries = ["", "Gets the value.", "the cache the cache the cache", "Load settings from disk."]
    names = ["f", "get_value", "cache", "load"]
    # 1 of 4 empty; "Gets the value." restates get_value and "the cache ..." restates cache; 1 repeats.
    assert summary_checks(summaries, names) == {"empty": 25.0, "restates_name": 50.0, "repetition": 25.0}


def test_with_docstring_inserts_first_and_keeps_code() -> None:
    code = "@cache\ndef f(x): return g(x)  # why\n"
    text = 'Say """hi""" and \\n.\n\nArgs:\n    x: The x.'
    result = with_docstring(code, text)
    function = ast.parse(result).body[0]
    assert ast.get_docstring(function) == text
    assert [ast.dump(node) for node in function.body[1:]] == [ast.dump(ast.parse("return g(x)").body[0])]
    assert "@cache" in result and "# why" in result
    nested = with_docstring("def outer():\n    def inner():\n        pass\n    return inner\n", "Outer.")
    tree = ast.parse(nested).body[0]
    assert ast.get_docstring(tree) == "Outer." and ast.get_docstring(tree.body[1]) is None


def test_pydoclint_clean_maps_violations_to_subjects() -> None:
    subjects = [
        StyleSubject(
            "def add(a: int, b: int = 2) -> int:\n    return a + b\n",
            "Add.\n\nArgs:\n    a: First.\n    b: Second.\n\nReturns:\n    The sum.",
        ),
        StyleSubject(
            "def push(self, item):\n    self.items.append(item)\n", "Push.\n\nArgs:\n    item: The item.", True
        ),
        StyleSubject("def half(x):\n    return x / 2\n", "Halve it."),
        StyleSubject("def broken(:\n    pass\n", "Broken."),
        StyleSubject("def stop():\n    raise ValueError('no')\n", "Stop.\n\nRaises:\n    ValueError: Always."),
    ]
    codes = pydoclint_clean(subjects, Style.GOOGLE, pydoclint_executable())
    assert codes[0] == [] and codes[1] == [] and codes[4] == []
    assert {"DOC101", "DOC201"} <= set(codes[2])  # x undocumented, no Returns section
    assert codes[3] == ["unparsable"]


def test_pydoclint_findings_of_a_nested_function_are_not_the_subjects() -> None:
    code = "def outer(x):\n    def inner(y):\n        return y\n    return inner(x)\n"
    documented = "Outer.\n\nArgs:\n    x: The value.\n\nReturns:\n    The result."
    subjects = [StyleSubject(code, documented), StyleSubject("@decorate\ndef half(x):\n    return x / 2\n", "Half.")]
    codes = pydoclint_clean(subjects, Style.GOOGLE, pydoclint_executable())
    assert codes[0] == []  # inner has no docstring: pydoclint does not check it against outer's
    assert {"DOC101", "DOC201"} <= set(codes[1])  # reported on the def line, under a decorator


def _context(code: str):
    """The finder's context of the one function in ``code``."""
    return next(iter_contexts(code, "subject.py"))


# Each of these, documented as well as a docstring can be, still fails pydoclint 0.12.
CODE_ONLY = {
    "generator without a Generator/Iterator annotation": (
        "def pairs(x):\n    for i in x:\n        yield i, i\n",
        "Pairs.\n\nArgs:\n    x: Items.\n\nYields:\n    Each item twice.",
    ),
    "raise exc.with_traceback()": (
        "def load(x):\n    try:\n        return int(x)\n    except ValueError as exc:\n"
        "        raise exc.with_traceback(None)\n",
        "Load it.\n\nArgs:\n    x: Text.\n\nReturns:\n    The number.\n\nRaises:\n    ValueError: Bad text.",
    ),
}


@pytest.mark.parametrize("reason", CODE_ONLY)
def test_findings_only_a_code_change_clears_are_told_apart(reason: str) -> None:
    code, docstring = CODE_ONLY[reason]
    (found,) = pydoclint_clean([StyleSubject(code, docstring)], Style.GOOGLE, pydoclint_executable())
    assert found, "pydoclint 0.12 still flags it"
    assert code_only_findings(_context(code), found) == reason


def test_a_bare_return_without_annotation_is_a_finding_a_docstring_can_clear() -> None:
    code = "def show(x):\n    if not x:\n        return\n    print(x)\n"
    without, with_none = pydoclint_clean(
        [StyleSubject(code, "Show it.\n\nArgs:\n    x: The value."),
         StyleSubject(code, "Show it.\n\nArgs:\n    x: The value.\n\nReturns:\n    None.")],
        Style.GOOGLE, pydoclint_executable(),
    )
    assert without == ["DOC201"] and with_none == []
    assert code_only_findings(_context(code), without) is None


def test_a_real_finding_is_not_excused_by_a_code_only_reason() -> None:
    generator = CODE_ONLY["generator without a Generator/Iterator annotation"][0]
    assert code_only_findings(_context(generator), ["DOC403", "DOC101"]) is None  # DOC101: an undocumented parameter
    assert code_only_findings(_context("def f(x):\n    return x\n"), ["DOC201"]) is None
    assert code_only_findings(_context("def f(x):\n    y = x\n    ...  # truncated\n"), ["DOC201"]) == "truncated snippet"
    assert code_only_findings(_context("def f(x):\n    return\n"), []) is None
