"""Log-probabilities read in both server formats and placed in the text that is kept, split characters included.

The shapes below are the ones the engines send: OpenAI's completions format with
``text_offset`` counted from the prompt's start and ``""`` for a partial character
(llama-cpp-python 0.3.36, seen against its real server here), OpenAI's ``bytes:\\x..`` tokens,
and the chat format with (llama.cpp, OpenAI) or without (llama-cpp-python) each token's bytes.
"""

from __future__ import annotations

import pytest

from docucode_hook.backends.chat import clean_answer
from docucode_hook.backends.logprobs import place_logprobs, read_logprobs
from docucode_hook.backends.prompt import build_prompt
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.code.records import Style


def chat_choice(tokens: list[str], with_bytes: bool = True, raw: list[bytes] | None = None) -> dict:
    pieces = raw or [token.encode("utf-8") for token in tokens]
    return {"logprobs": {"content": [
        {"token": token, "logprob": -0.1 * (k + 1), "bytes": list(piece) if with_bytes else None}
        for k, (token, piece) in enumerate(zip(tokens, pieces))
    ]}}


def test_completions_format_by_joined_tokens() -> None:
    choice = {"logprobs": {"tokens": ["Add", " two", " numbers", "."], "token_logprobs": [-0.1, -0.2, -0.3, -0.4]}}
    assert read_logprobs(choice, "Add two numbers.") == ([0, 3, 7, 15], [-0.1, -0.2, -0.3, -0.4])


def test_chat_format_by_bytes() -> None:
    choice = chat_choice(["Add", " two", " numbers", "."])
    assert read_logprobs(choice, "Add two numbers.") == ([0, 3, 7, 15], pytest.approx([-0.1, -0.2, -0.3, -0.4]))


def test_a_character_split_across_tokens_keeps_every_score_chat_bytes() -> None:
    # "—" is three bytes, split 2 + 1 across tokens; each token starts in the character its first byte is in.
    text = "a—b"
    dash = "—".encode("utf-8")
    choice = chat_choice(["a", "\ufffd", "\ufffdb"], raw=[b"a", dash[:2], dash[2:] + b"b"])
    assert read_logprobs(choice, text) == ([0, 1, 1], pytest.approx([-0.1, -0.2, -0.3]))


def test_a_character_split_across_bytes_tokens_completions() -> None:
    choice = {"logprobs": {"tokens": ["a", "bytes:\\xe2\\x80", "bytes:\\x94", "b"], "token_logprobs": [-1, -2, -3, -4]}}
    assert read_logprobs(choice, "a—b") == ([0, 1, 1, 2], [-1.0, -2.0, -3.0, -4.0])


def test_llama_cpp_python_completions_offsets_place_partial_characters() -> None:
    # Its answer for prompt "東京 東京 東京 東京 東京" (14 characters): tokens of partial characters are "".
    choice = {"logprobs": {"tokens": [" ", "", "", "", "", " ", "", ""], "token_logprobs": [-1, -2, -3, -4, -5, -6, -7, -8],
                           "text_offset": [14, 15, 15, 16, 16, 17, 18, 18]}}
    starts, values = read_logprobs(choice, " 東京 東")
    assert starts == [0, 1, 1, 2, 2, 3, 4, 4] and len(values) == 8


def test_llama_cpp_python_chat_tokens_without_bytes() -> None:
    # Its chat answer: the same tokens converted to the chat format, bytes null.
    text = 'The word is "くり'
    tokens = ["The", " word", " is", ' "', "", "", "", ""]
    starts, values = read_logprobs(chat_choice(tokens, with_bytes=False), text)
    assert starts == [0, 3, 8, 11, 13, 13, 13, 13] and len(values) == 8


def test_reasoning_tokens_before_the_content_are_left_out() -> None:
    tokens = ["<think>", "hmm", "</think>", "Add", " two", "."]
    starts, values = read_logprobs(chat_choice(tokens), "Add two.")
    assert starts == [0, 3, 7] and values == pytest.approx([-0.4, -0.5, -0.6])


def test_tokens_of_a_stop_string_start_past_the_text() -> None:
    choice = {"logprobs": {"tokens": ["Add", ".", '"""'], "token_logprobs": [-0.1, -0.2, -0.3]}}
    assert read_logprobs(choice, "Add.") == ([0, 3, 4], [-0.1, -0.2, -0.3])


@pytest.mark.parametrize("logprobs", [None, {}, {"content": "x"}, {"tokens": ["a"], "token_logprobs": []},
                                      {"tokens": ["zz"], "token_logprobs": [-1.0]}])
def test_unusable_logprobs_give_none(logprobs: object) -> None:
    assert read_logprobs({"logprobs": logprobs}, "Add.") == ([], [])


def test_after_cleaning_a_chat_answer_offsets_point_into_the_cleaned_text() -> None:
    ctx = next(iter_contexts("def add(a, b):\n    return a + b\n", "calc.py"))
    prompt = build_prompt(ctx, Style.GOOGLE)
    tokens = ["Here", " is", " the", " docstring", ":\n\n", "```", "python\n", '"""', "Add", " a", " and", " b", ".",
              "\n\n", "Args", ":\n", "    a", ":", " The", " first", ".\n", '"""\n', "```"]
    answer = "".join(tokens)
    cleaned = clean_answer(prompt, answer)
    assert cleaned.text == "Add a and b.\n\nArgs:\n    a: The first."
    starts, values = read_logprobs(chat_choice(tokens), answer)
    placed = place_logprobs(cleaned.origins, len(answer), starts, values)
    # Every token inside the docstring keeps its score at its own first character; the talk around it has none.
    where = {cleaned.text[offset:].split()[0] if cleaned.text[offset:].strip() else "": value for offset, value in placed}
    assert [offset for offset, _ in placed] == [0, 3, 5, 9, 11, 12, 14, 18, 20, 25, 26, 30, 36]
    assert where["Add"] == pytest.approx(-0.9) and all(0 <= offset < len(cleaned.text) for offset, _ in placed)
