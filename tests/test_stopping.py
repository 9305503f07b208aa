"""Stopping a row early must never change what the cut keeps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docucode_hook.backends.model import cut_comment, cut_completion
from docucode_hook.backends.stopping import RowStopper, completion_done, loops

# Pieces that build the texts a small model writes: section lines, repeats, quotes, headers.
PIECES = st.sampled_from(
    ["Args:", "    x: The x.", "Return the sum.", "\n", "\n\n", "\r\n", '"""', "'''", '"', "'", "### ",
     "### Code", "#", " ", "a", ".5", "5", "-", "the ", "\x0b", "\x0c", "\x1e", "\u2028", "\ufffd", "\x00", "Returns:", "    The x."]
)
TEXTS = st.lists(PIECES, max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_a_docstring_stopped_where_done_cuts_like_the_whole_text(text: str) -> None:
    for end in range(len(text) + 1):
        if completion_done(text[:end]):
            assert cut_completion(text[:end]) == cut_completion(text)
            break


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_a_comment_stopped_where_done_cuts_like_the_whole_text(text: str) -> None:
    for end in range(len(text) + 1):
        if completion_done(text[:end], comment=True):
            assert cut_comment(text[:end]) == cut_comment(text)
            break


@pytest.mark.parametrize(
    ("text", "done"),
    [
        ("Return the sum.", False),
        ("Return the sum.\n\nArgs:\n    x: The x.\n", False),
        ("Return the sum.\n\nArgs:\n    x: The x.\n    x: The x.", False),  # the repeat may still grow
        ("Return the sum.\n\nArgs:\n    x: The x.\n    x: The x.\n", True),
        ('Return the sum."""', True),
        ("Return the sum.\n### Code", True),
        ("Return the sum.\n\n\n", False),  # blank lines repeat without looping
    ],
)
def test_docstring_done(text: str, done: bool) -> None:
    assert completion_done(text) is done


@pytest.mark.parametrize(("text", "done"), [("", False), ("\n\n", False), ("Sum the rows", False), ("\nSum the rows\n", True)])
def test_comment_done(text: str, done: bool) -> None:
    assert completion_done(text, comment=True) is done


def test_rows_are_checked_only_after_a_token_that_can_end_a_line() -> None:
    vocab = {1: "Return", 2: " the sum.", 3: "\n", 4: "x"}
    decoded: list[list[int]] = []

    def decode(ids):
        decoded.append(list(ids))
        return "".join(vocab[i] for i in ids)

    stopper = RowStopper(decode, [False, True])
    assert not stopper.done(0, [1, 2])
    assert not stopper.done(0, [1, 2, 3])
    assert stopper.done(1, [1, 2, 3])  # a comment ends with its first line
    assert not stopper.done(0, [1, 2, 3, 4])
    # Whole rows were decoded only when their newest token held the line break.
    assert [ids for ids in decoded if len(ids) > 1] == [[1, 2, 3], [1, 2, 3]]


@pytest.mark.parametrize(
    ("line", "looping"),
    [
        ('    sku (str): The name (e.g. "1.2.3.5.5.5.5.5.5', True),
        ("Return the the the the sum", True),
        ("----------", False),  # a NumPy section rule
        ("=" * 20, False),
        ("Connect to 0.0.0.0 by default.", False),
        ("Return the sum.", False),
    ],
)
def test_a_line_that_repeats_itself_loops(line: str, looping: bool) -> None:
    assert loops(line) is looping


def test_a_looping_line_is_cut_with_everything_after_it() -> None:
    raw = 'Restock an item.\n\nArgs:\n    sku: The name (e.g. "1.2.3.5.5.5.5.5.5.5.5'
    assert cut_completion(raw) == "Restock an item.\n\nArgs:"
    assert completion_done(raw)
