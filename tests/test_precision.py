"""The precision rules hold for any model text: through the real finder, grounding, rendering and insertion."""

from __future__ import annotations

import ast
import re

import pytest
from docstring_parser import parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docucode_hook.backends import Generation
from docucode_hook.code.records import Style
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.code.facts import prose_facts
from docucode_hook.precision.grounding import ground, grounded_text
from docucode_hook.precision.prose import BACKEND, DERIVED, DROPPED, GroundingOptions
from docucode_hook.docstrings.insert import insert_docstrings
from docucode_hook.docstrings.phrasing import repeated_ngram, restates_name
from docucode_hook.precision.truth import check_summary, mentioned_names

SOURCE = '''\
import abc
from contextlib import contextmanager
from typing import Iterator

LIMIT = 3


def numbers(limit: int):
    for n in range(limit):
        yield n


def log_message(message: str, level: int = 0) -> None:
    print(message, level)


def convert(amount: float, rate: float) -> float:
    if amount < 0:
        raise ValueError("negative amount")
    return amount * rate


async def fetch_page(url: str) -> bytes:
    return url.encode()


@contextmanager
def opened(path: str):
    handle = open(path)
    yield handle
    handle.close()


class Store(abc.ABC):
    def __init__(self, items: dict) -> None:
        self._items = items

    @property
    def size(self) -> int:
        return len(self._items)

    @abc.abstractmethod
    def flush(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_pairs(cls, pairs: list) -> "Store":
        return cls(dict(pairs))

    def get(self, key: str) -> int:
        return self._items[key]

    class Deeper:
        class Deepest:
            def reshape(self, values: dict[str, list[tuple[int, int, int, int, int]]], flag=False) -> dict[str, int]:
                return {key: len(value) for key, value in values.items()}
'''
CONTEXTS = {ctx.qualname: ctx for ctx in iter_contexts(SOURCE, "ledger.py")}

# Pieces a weak model writes: contradicting verbs, doctests, Examples sections, loops,
# names the code does not have, entries glued together, restated names, long words.
_PIECES = [
    "Return a list of the numbers.",
    "Returns the value.",
    "Yield each item.",
    "Set the size.",
    "Initialize the store.",
    "Raises NotImplementedError.",
    "Returns a coroutine that fetches the page.",
    "Convert the amount using `compute_rate`.",
    "See :func:`os.path.join` and `LIMIT`.",
    "The parser is a parser. The parser is a parser.",
    "This is a special case, but it is a special case of a special case.",
    ">>> convert(1.0, 2.0)\n2.0",
    "Examples:\n    >>> numbers(2)\n    [0, 1]",
    "Example\n-------\n>>> fetch_page('x')\nb'x'",
    "Args:\n    amount (float): The value to convert. rate (float): The rate.\n    rate: The rate.",
    "Args:\n    limit: The limit.\n    message: The message to log, which is written to the standard output of the process.",
    "Parameters\n----------\npath : str\n    The path.\nkey : str\n    The key to look up in `self._items`.",
    ":param values: The values. :param flag: The flag.\n:returns: The shapes.",
    "Returns:\n    The value stored under the key.\n\nRaises:\n    ValueError: If negative.",
    "https://example.invalid/" + "a" * 120,
    "word " * 40,
    "A long sentence that keeps on going well past any reasonable width for one line of a docstring in a file.",
]
_TEXT = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=60)), max_size=6).map("\n\n".join)


def _prose_parts(text: str) -> list[tuple[str, str]]:
    """(what, text) of every prose part of a written docstring, as a reader parses it back."""
    doc = parse(text)
    parts = [("summary", doc.short_description or "")]
    parts += [("description", paragraph) for paragraph in re.split(r"\n\s*\n", doc.long_description or "")]
    parts += [(f"param {p.arg_name}", p.description or "") for p in doc.params]
    parts += [("returns", r.description or "") for r in doc.many_returns]
    parts += [(f"raises {r.type_name}", r.description or "") for r in doc.raises]
    return parts


def _docstrings(source: str) -> dict[str, str]:
    tree = ast.parse(source)
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(node):
            found[node.name] = ast.get_docstring(node)
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raws=st.fixed_dictionaries({name: _TEXT for name in CONTEXTS}),
    style=st.sampled_from(list(Style)),
    width=st.sampled_from([72, 88, 100]),
)
def test_any_model_text_holds_to_the_precision_rules(raws: dict[str, str], style: Style, width: int) -> None:
    options = GroundingOptions(width=width)
    texts = {ctx.lineno: grounded_text(raws[name], ctx, style, options=options) for name, ctx in CONTEXTS.items()}
    written = insert_docstrings(SOURCE, texts)
    new_lines = set(written.splitlines()) - set(SOURCE.splitlines())
    assert all(len(line) <= width for line in new_lines), [line for line in new_lines if len(line) > width]
    assert ">>>" not in written and not re.search(r"^\s*Examples?:?\s*$", written, re.MULTILINE)
    docstrings = _docstrings(written)
    for qualname, ctx in CONTEXTS.items():
        text = docstrings[ctx.name]
        facts = prose_facts(ctx)
        parsed = parse(text)
        assert check_summary(parsed.short_description, facts).kept, (qualname, parsed.short_description)
        names = [p.name for p in ctx.parameters]
        for what, part in _prose_parts(text):
            assert repeated_ngram(part) is None, (qualname, what, part)
            unknown = [n for n in mentioned_names(part) if n.split(".")[0] not in facts.known_names
                       and not (n.startswith(("self.", "cls.")) and n.split(".")[1] in facts.known_names)]
            assert not unknown, (qualname, what, part)
            if what.startswith("param "):
                name = what.split()[1].lstrip("*")
                assert not (part and restates_name(part, name)), (qualname, part)
                others = [n for n in names if n != name]
                assert not any(re.search(rf"\b{re.escape(n)}\s*(\([^)]*\))?\s*:", part) for n in others), part


@pytest.mark.parametrize(
    ("qualname", "raw", "expected"),
    [
        ("numbers", "Return a list of the numbers below the limit.", "Yield the numbers below the limit."),
        ("log_message", "Returns the message written to the log.", "Log the message."),
        ("Store.size", "Returns the number of stored items.", "The number of stored items."),
        ("Store.flush", "Raises NotImplementedError.", "Flush the store."),
        ("Store.from_pairs", "Initialize the store from pairs.", "Create a store from the pairs."),
        ("fetch_page", "Returns a coroutine that fetches the page.", "Fetch the page."),
        ("opened", "Yield the file handle for the path.", "Manage the `opened` context for the duration of a `with` block."),
    ],
)
def test_summaries_that_contradict_the_code_are_reworded_or_derived(qualname: str, raw: str, expected: str) -> None:
    grounded = ground(raw, CONTEXTS[qualname], Style.GOOGLE)
    assert grounded.doc.short_description == expected
    summary = next(part for part in grounded.parts if part.part == "summary")
    assert summary.reason  # --explain says why it is not the model's wording


def test_examples_and_swallowed_entries_are_reported() -> None:
    raw = ("Convert an amount at a rate.\n\n>>> convert(1.0, 2.0)\n2.0\n\n"
           "Args:\n    amount (float): The sum to convert. rate (float): The rate.\n")
    grounded = ground(raw, CONTEXTS["convert"], Style.GOOGLE)
    assert ">>>" not in grounded.text
    params = {p.arg_name: p.description for p in grounded.doc.params}
    assert params == {"amount": "The sum to convert.", "rate": "Used in `amount * rate`."}
    origins = {(p.part, p.origin) for p in grounded.parts}
    assert {("examples", DROPPED), ("param amount", BACKEND), ("param rate", DERIVED), ("summary", BACKEND)} <= origins
    assert "ValueError" in grounded.text and "`amount < 0`" in grounded.text  # derived from the guard


def test_todo_placeholders_mark_what_a_reviewer_must_write() -> None:
    options = GroundingOptions(placeholders="todo")
    grounded = ground("Returns the message.\n\nArgs:\n    message: The message.", CONTEXTS["log_message"], Style.GOOGLE, options=options)
    assert grounded.doc.short_description == "TODO: describe the summary."
    assert [p.description for p in grounded.doc.params] == ["TODO: describe `message`.", "TODO: describe `level`."]


def test_a_long_entry_head_leaves_its_type_to_the_signature() -> None:
    ctx = CONTEXTS["Store.Deeper.Deepest.reshape"]
    fits = ground("Count the values per key.", ctx, Style.GOOGLE, options=GroundingOptions(width=88))
    assert [p.type_name for p in fits.doc.params] == ["dict[str, list[tuple[int, int, int, int, int]]]", None]
    grounded = ground("Count the values per key.", ctx, Style.GOOGLE, options=GroundingOptions(width=72))
    assert [p.type_name for p in grounded.doc.params] == [None, None]
    assert all(ctx.body_indent + len(line) <= 72 for line in grounded.text.splitlines())
    assert any(p.part == "type of values" and p.origin == DROPPED for p in grounded.parts)


def test_low_confidence_parts_give_way_to_derived_text() -> None:
    raw = "Convert the amount to another currency.\n\nIt is very fast.\n\nArgs:\n    amount: Money to convert.\n    rate: Exchange rate."
    ctx = CONTEXTS["convert"]
    sure = Generation(raw, tuple((offset, -0.01) for offset in range(0, len(raw), 3)))
    unsure = Generation(raw, tuple((offset, -6.0) for offset in range(0, len(raw), 3)))
    kept = ground(raw, ctx, Style.GOOGLE, generation=sure)
    assert kept.doc.short_description == "Convert the amount to another currency."
    assert [p.description for p in kept.doc.params] == ["Money to convert.", "Exchange rate."]
    gated = ground(raw, ctx, Style.GOOGLE, generation=unsure)
    assert gated.doc.short_description == "Convert the amount."  # derived from the name
    assert gated.doc.long_description is None
    reasons = {p.part: p.reason for p in gated.parts}
    assert reasons["summary"].startswith("model unsure: summary score")
    assert reasons["description"].startswith("model unsure: description score")
    # Without log-probabilities (template, a server that sends none) no gate applies.
    assert ground(raw, ctx, Style.GOOGLE, generation=Generation(raw)).doc.long_description == "It is very fast."


def test_unsure_returns_and_raises_give_way_to_text_read_off_the_code() -> None:
    raw = ("Convert the amount.\n\nArgs:\n    amount: Money.\n    rate: Ratio.\n\n"
           "Returns:\n    The amount in euros.\n\nRaises:\n    ValueError: If the rate is unknown.")
    ctx = CONTEXTS["convert"]
    sections = raw.index("Returns:")
    # Sure of everything but the two sections: only they give way, to what the code shows.
    logprobs = tuple((offset, -6.0 if offset >= sections else -0.01) for offset in range(0, len(raw), 3))
    gated = ground(raw, ctx, Style.GOOGLE, generation=Generation(raw, logprobs))
    assert [p.description for p in gated.doc.params] == ["Money.", "Ratio."]
    assert gated.doc.returns.description != "The amount in euros."
    assert gated.doc.raises[0].description == "If `amount < 0`."  # the guard that raises it
    reasons = {p.part: (p.origin, p.reason) for p in gated.parts}
    assert reasons["returns"][0] == DERIVED and reasons["returns"][1].startswith("model unsure: result score")
    assert reasons["raises ValueError"][1].startswith("model unsure: raises:ValueError score")
    sure = tuple((offset, -0.01) for offset in range(0, len(raw), 3))
    kept = ground(raw, ctx, Style.GOOGLE, generation=Generation(raw, sure))
    assert kept.doc.returns.description == "The amount in euros."
    assert kept.doc.raises[0].description == "If the rate is unknown."


def test_a_doctest_prompt_inside_a_sentence_gives_way() -> None:
    # Found by Hypothesis: "0>>>" passed the examples rule, which looks for prompts at line starts.
    grounded = ground("0>>>\n\nArgs:\n    amount: See >>> below.", CONTEXTS["convert"], Style.GOOGLE)
    assert ">>>" not in grounded.text
    reasons = {part.part: part.reason for part in grounded.parts}
    assert reasons["summary"] == reasons["param amount"] == "a doctest prompt (>>>)"


@pytest.mark.parametrize("description", [":", ":0", ":note: keep it"])
def test_a_description_line_that_opens_like_a_field_is_dropped(description: str) -> None:
    # Hypothesis found it: a ":" or ":0" kept as the description, and a reader then took the
    # Sphinx fields below it for more description.
    ctx = CONTEXTS["Store.Deeper.Deepest.reshape"]
    text = grounded_text(f"Return a list of the numbers.\n\n{description}", ctx, Style.SPHINX,
                         options=GroundingOptions(width=72))
    assert parse(text).long_description is None and [p.arg_name for p in parse(text).params] == ["values", "flag"]
