"""The chat API's messages, and chat answers as instruction-tuned models write them, cleaned to the docstring."""

from __future__ import annotations

import pytest

from docucode_hook.backends.chat import chat_messages, clean_answer, example_docstring
from docucode_hook.backends.prompt import build_comment_prompt, build_prompt
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.code.records import Style
from docucode_hook.docstrings.sections import read_sections

SOURCE = '''import os


def add(a: int, b: int = 2) -> int:
    return a + b
'''
ADD = next(iter_contexts(SOURCE, "calc.py"))
PROMPT = build_prompt(ADD, Style.GOOGLE)
DOC = "Add two numbers.\n\nArgs:\n    a: The first.\n    b: The second.\n\nReturns:\n    The sum."

# (what a chat model answered, the docstring text that must be kept)
ANSWERS = [
    pytest.param(DOC, DOC, id="plain"),
    pytest.param(f'Here is a Google-style docstring for `add`:\n\n```python\n"""{DOC}\n"""\n```\n\n'
                 "This docstring describes the parameters and the return value.", DOC, id="preamble-fence-quotes-postamble"),
    pytest.param(f"Sure! Here's the docstring:\n\n{DOC}", DOC, id="interjection-preamble"),
    pytest.param(f'"""{DOC}\n"""', DOC, id="opens-with-quotes"),
    pytest.param(f'"""{DOC}"""', DOC, id="quotes-on-one-line"),
    pytest.param(f"r'''{DOC}'''", DOC, id="raw-single-quotes"),
    pytest.param('```python\ndef add(a: int, b: int = 2) -> int:\n    """Add two numbers.\n\n    Args:\n        a: The first.\n'
                 '        b: The second.\n\n    Returns:\n        The sum.\n    """\n    return a + b\n```', DOC, id="echoed-def-in-fence"),
    pytest.param('def add(a: int,\n        b: int = 2) -> int:\n    """Add two numbers."""', "Add two numbers.", id="echoed-def-two-lines"),
    pytest.param(f"<think>\nThe function adds a and b. It returns an int.\n</think>\n\n{DOC}", DOC, id="think-block"),
    pytest.param(f"The user wants a docstring.\n</think>\n{DOC}", DOC, id="think-opened-by-the-template"),
    pytest.param(f"{DOC}\n\nExample usage:\n```python\nadd(1, 2)\n```", DOC, id="fenced-aside-after"),
    pytest.param(DOC.replace("\n", "\r\n"), DOC, id="crlf"),
    pytest.param(f"{DOC}\n\nLet me know if you want it in another style!", DOC, id="closing-remark"),
    pytest.param(f'{DOC}\n"""', DOC, id="stray-closing-quotes"),
]


@pytest.mark.parametrize(("answer", "kept"), ANSWERS)
def test_chat_answers_are_cleaned_to_the_docstring(answer: str, kept: str) -> None:
    cleaned = clean_answer(PROMPT, answer)
    assert cleaned is not None and cleaned.text == kept
    # Every kept character points at itself in the answer (a line break may have been "\r\n").
    assert len(cleaned.origins) == len(cleaned.text)
    assert list(cleaned.origins) == sorted(set(cleaned.origins))
    for char, origin in zip(cleaned.text, cleaned.origins):
        assert answer[origin] == char or (char == "\n" and answer[origin] == "\r")


@pytest.mark.parametrize("answer", ["<think>\nLet me look at the parameters first, then", "", "```python\n```", '""""""',
                                    "```python\ndef add(a: int, b: int = 2) -> int:\n    return a + b\n```\n\nThis adds."])
def test_answers_without_docstring_text_give_nothing(answer: str) -> None:
    assert clean_answer(PROMPT, answer) is None


def test_an_answer_cut_at_the_token_limit_loses_its_unfinished_line() -> None:
    cleaned = clean_answer(PROMPT, "Add two numbers.\n\nArgs:\n    a: The first.\n    b: The sec", cut_short=True)
    assert cleaned is not None and cleaned.text == "Add two numbers.\n\nArgs:\n    a: The first."


def test_an_answer_cut_in_an_aside_keeps_its_docstring_whole() -> None:
    # SmolLM2-135M-Instruct's answer for join_all, cut at 160 tokens inside its fenced example.
    answer = ("Join the parts.\n\nRaises:\n    ValueError: If the list is empty.\n\nExample:\n\n```python\n"
              'join_all([\n    "hello",\n')
    cleaned = clean_answer(PROMPT, answer, cut_short=True)
    assert cleaned.text == "Join the parts.\n\nRaises:\n    ValueError: If the list is empty."


def test_a_summary_that_reads_like_a_preamble_is_kept() -> None:
    # Only a line ending in a colon, or an interjection, introduces an answer.
    answer = "This is the sum of a and b.\n\nArgs:\n    a: The first."
    assert clean_answer(PROMPT, answer).text == answer


def test_comment_answers_keep_the_comment_line() -> None:
    # A leading "#" is the comments module's to drop, as for the model backend's comments.
    code = "def total(lines):\n    count = 0\n    for line in lines:\n        if line.strip():\n            count += 1\n    return count"
    prompt = build_comment_prompt("total", code, 3, 5)
    assert clean_answer(prompt, "Here is a comment:\n# Count the lines that are not blank\n").text == \
        "# Count the lines that are not blank"
    assert clean_answer(prompt, "```python\n# Count non-blank lines\n```").text == "# Count non-blank lines"
    assert clean_answer(prompt, "Count non-blank lines\n\nThis comment explains the loop.").text == "Count non-blank lines"


@pytest.mark.parametrize("style", list(Style))
def test_the_messages_hold_instruction_example_and_function(style: Style) -> None:
    messages = chat_messages(build_prompt(ADD, style), style)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    name = {Style.GOOGLE: "Google", Style.NUMPY: "NumPy", Style.SPHINX: "Sphinx"}[style]
    assert name in messages[0]["content"]
    ask = messages[-1]["content"]
    assert ask.startswith(f"Write a {name}-style docstring for the Python function `add`.")
    assert "Context:\nimport: import os" in ask and "```python\ndef add(a: int, b: int = 2) -> int:\n    return a + b\n```" in ask
    assert "###" not in ask  # DocuCode's section headers are for its own models
    # The example answer is in the asked style: the hook's own reader finds its sections.
    example = messages[2]["content"]
    assert example == example_docstring(style)
    sections = read_sections(example, style)
    assert [p.arg_name for p in sections.params] == ["values", "factor"]
    assert [r.type_name for r in sections.raises] == ["ValueError"] and sections.returns is not None
