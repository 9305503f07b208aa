"""Truth checks of prose against the code, on contexts the real finder builds from real source."""

from __future__ import annotations

import doctest
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docucode_hook.code.facts import prose_facts
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.docstrings.phrasing import repeated_ngram, restates_name
from docucode_hook.precision.truth import (
    check_description,
    check_names,
    check_parameter,
    check_repeats,
    check_summary,
    mentioned_names,
    strip_examples,
)

SOURCE = '''
import os.path
from collections import OrderedDict as Ordered
from contextlib import contextmanager
import abc


def numbers(limit: int):
    for n in range(limit):
        yield n


def log(message: str) -> None:
    print(message)


def total(values: list[float]) -> float:
    return sum(values)


async def fetch(url: str) -> bytes:
    return await os.path.read(url)


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
    def area(self) -> float:
        ...

    def save(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_pairs(cls, pairs: list) -> "Store":
        return cls(dict(pairs))

    def get(self, key: str, default=None):
        if key not in self._items:
            raise KeyError(key)
        return self._items[key]

    def __enter__(self):
        return self
'''
CONTEXTS = {ctx.qualname: ctx for ctx in iter_contexts(SOURCE, "store.py")}


def facts(qualname: str):
    return prose_facts(CONTEXTS[qualname])


def test_facts_read_from_real_contexts() -> None:
    assert facts("numbers").is_generator
    assert facts("opened").is_context_manager and facts("opened").is_generator
    assert facts("Store.__enter__").is_context_manager
    assert facts("Store.size").is_property
    assert facts("Store.area").is_stub and facts("Store.save").is_stub
    assert not facts("Store.get").is_stub
    assert facts("Store.from_pairs").is_constructor and not facts("Store.get").is_constructor
    assert facts("fetch").is_async
    assert facts("Store.get").return_expressions == ("self._items[key]",)
    assert {"os", "path", "Ordered", "OrderedDict", "collections", "Store", "key", "_items", "len"} <= facts(
        "Store.get"
    ).known_names


# (qualname, summary, action, replacement) — "replace" with None means derived text goes there.
SUMMARY_TABLE = [
    ("numbers", "Return a list of numbers below the limit.", "replace", "Yield numbers below the limit."),
    ("numbers", "Returns the numbers up to the limit.", "replace", None),
    ("numbers", "Count up and return a list of the numbers.", "replace", None),
    ("numbers", "Return an iterator over the numbers below the limit.", "keep", None),
    ("numbers", "Yield each number below the limit.", "keep", None),
    ("log", "Return the printed message.", "replace", None),
    ("log", "Yield the message.", "replace", None),
    ("log", "Print the message.", "keep", None),
    ("total", "Return the sum of the values.", "keep", None),
    ("opened", "Yield an open handle to the path.", "replace", None),
    ("opened", "Return a generator over the file.", "replace", None),
    ("opened", "Open the file for the duration of the block.", "keep", None),
    ("Store.size", "Return the number of stored items.", "replace", "The number of stored items."),
    ("Store.size", "Gets number of stored items.", "replace", "The number of stored items."),
    ("Store.size", "Returns whether it is empty.", "replace", "Whether it is empty."),
    ("Store.size", "Set the size.", "replace", None),
    ("Store.size", "The number of stored items.", "keep", None),
    ("Store.area", "Return the area of the shape.", "keep", None),
    ("Store.area", "Raise NotImplementedError.", "replace", None),
    ("Store.save", "Save the store; not implemented here.", "replace", None),
    ("Store.save", "Save the store.", "keep", None),
    ("Store.from_pairs", "Initialise the store from pairs.", "replace", None),
    ("Store.from_pairs", "Create a store from key-value pairs.", "keep", None),
    ("fetch", "Return a coroutine that downloads the URL.", "replace", None),
    ("fetch", "Download the URL synchronously.", "replace", None),
    ("fetch", "Download the URL asynchronously.", "keep", None),
    ("Store.get", "Look up `key` in the store.", "keep", None),
    ("Store.get", "Look up the key with :meth:`Store.lookup_many`.", "keep", None),  # checked by its first part
    ("Store.get", "Look up the key with `fetch_remote`.", "replace", None),
    ("Store.get", "Get the value for the key for the value for the key.", "replace", None),
]


@pytest.mark.parametrize(("qualname", "summary", "action", "replacement"), SUMMARY_TABLE)
def test_check_summary(qualname: str, summary: str, action: str, replacement: str | None) -> None:
    verdict = check_summary(summary, facts(qualname))
    assert verdict.action == action, verdict.reason
    assert verdict.text == replacement
    assert bool(verdict.reason) == (action != "keep")


def test_strip_examples_every_style() -> None:
    google = "Add.\n\nArgs:\n    a: One.\n\nExamples:\n    >>> add(1, 2)\n    3\n\n    More text.\n\nReturns:\n    The sum."
    numpy = "Add.\n\nExamples\n--------\n>>> add(1, 2)\n3\n\nNotes\n-----\nFast."
    sphinx = "Add.\n\n:Example:\n\n>>> add(1, 2)\n3\n\n:param a: One."
    inline = "Add two numbers.\n\nFor instance:\n\n>>> add(1,\n... 2)\n3\n\nThat is all."
    assert strip_examples(google)[0] == "Add.\n\nArgs:\n    a: One.\n\nReturns:\n    The sum."
    assert strip_examples(numpy)[0] == "Add.\n\nNotes\n-----\nFast."
    assert strip_examples(sphinx)[0] == "Add.\n\n:param a: One."
    assert strip_examples(inline)[0] == "Add two numbers.\n\nFor instance:\n\nThat is all."
    assert strip_examples("Add.\n\nArgs:\n    a: One.") == ("Add.\n\nArgs:\n    a: One.", ())
    assert strip_examples(google)[1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Add.", "", "    text", ">>> f(1)", "... 2", "3", "Examples:", "Examples", "--------",
                                 "Example::", ":Example:", ".. rubric:: Examples", "Args:", "    a: One."]), max_size=14)
       .map("\n".join) | st.text(max_size=200))
def test_no_example_survives(text: str) -> None:
    cleaned, _ = strip_examples(text)
    assert not re.search(r"^\s*>>>", cleaned, re.MULTILINE)
    assert not re.search(r"^\s*(?:\.\. rubric::\s*)?:?Examples?:{0,2}\s*$", cleaned, re.MULTILINE | re.IGNORECASE)
    # What is left parses as no doctest at all.
    assert not doctest.DocTestParser().get_examples(cleaned)
    assert strip_examples(cleaned)[0] == cleaned


def test_names_in_backticks_and_roles() -> None:
    known = facts("Store.get").known_names
    assert mentioned_names("Use :func:`os.path.join` and ``key``, `self._items` or :class:`~pkg.Thing <Ordered>`.") == [
        "os.path.join", "Ordered", "key", "self._items",
    ]
    assert check_names("Calls :func:`os.path.join` on ``key``.", known).kept
    assert check_names('Decodes ``"utf-8"`` text and `a + b`.', known).kept  # not names
    assert check_names("Sets `self._items`.", known).kept
    dropped = check_names("Delegates to :meth:`Cache.evict`.", known)
    assert dropped.action == "drop" and "Cache.evict" in dropped.reason
    assert not check_names("Uses `self.cache`.", known).kept


def test_repeats() -> None:
    assert repeated_ngram("The parser is a parser. The parser is a parser.") == "the parser is"
    assert repeated_ngram("Flip the image to flip the image") == "flip the image"
    assert repeated_ngram("Read the file and parse the rows.") is None
    assert check_repeats("a b c d a b c").action == "drop"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab cd.\n"), max_size=120), st.text(max_size=80))
def test_description_check_holds_for_any_text(text: str, extra: str) -> None:
    kept, reasons = check_description(text + extra, facts("Store.get").known_names)
    if kept is not None:
        for paragraph in kept.split("\n\n"):
            assert repeated_ngram(paragraph) is None
            assert check_names(paragraph, facts("Store.get").known_names).kept


def test_description_drops_only_the_bad_parts() -> None:
    text = "Looks the key up in `self._items`. Falls back to `remote_fetch`.\n\nThe store is a store. The store is a store."
    kept, reasons = check_description(text, facts("Store.get").known_names)
    assert kept == "Looks the key up in `self._items`."
    assert len(reasons) == 2


PARAMETER_TABLE = [
    ("n", "The n.", "replace", None),
    ("n_items", "The n items.", "replace", None),
    ("n_items", "The number of items.", "keep", None),
    ("amount", "The value to convert. rate (float): The exchange rate.", "replace", "The value to convert."),
    ("amount", "The value to convert.\nrate: The exchange rate.", "replace", "The value to convert."),
    ("amount", "The amount. rate (float): The rate.", "replace", None),
    ("amount", "The amount in the given rate: dollars.", "keep", None),  # "rate:" mid-sentence is prose
    ("amount", "Amount to convert :param rate: the rate", "replace", "Amount to convert."),
    ("rate", "Conversion rate, e.g. 1.1.", "keep", None),
]


@pytest.mark.parametrize(("name", "description", "action", "replacement"), PARAMETER_TABLE)
def test_check_parameter(name: str, description: str, action: str, replacement: str | None) -> None:
    verdict = check_parameter(name, description, ["n", "n_items", "amount", "rate"])
    assert (verdict.action, verdict.text) == (action, replacement), verdict.reason


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.sampled_from(["amount", "rate", "n"]))
def test_parameter_check_holds_for_any_text(description: str, name: str) -> None:
    others = [other for other in ("amount", "rate", "n") if other != name]
    verdict = check_parameter(name, description, ["amount", "rate", "n"])
    final = verdict.text if verdict.action == "replace" else description
    if final is None:
        return
    for other in others:
        assert not re.search(rf"(?:^|\s){other}\s*\([^()]*\)\s*:(?!:)", final)
    assert not restates_name(final, name) or not final.strip()


_SUMMARY_WORDS = st.sampled_from(
    "Return Returns Yield Get Gets Set Raise Initialise Create a an the list of numbers iterator generator "
    "coroutine synchronously not implemented placeholder whether `key` `nothing` items".split()
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SUMMARY_WORDS, min_size=1, max_size=10).map(" ".join) | st.text(max_size=80), st.sampled_from(sorted(CONTEXTS)))
def test_summary_check_holds_for_any_text(summary: str, qualname: str) -> None:
    fact = facts(qualname)
    verdict = check_summary(summary, fact)
    if verdict.action == "replace" and verdict.text is not None:
        assert check_summary(verdict.text, fact).kept  # a rewrite never needs rewriting again
    if verdict.kept and fact.is_generator and not fact.is_context_manager:
        assert not re.match(r"Returns?\s+(?:a |the )?list\b", summary, re.IGNORECASE)
    if verdict.kept and not (fact.returns_value or fact.is_generator or fact.is_stub or fact.is_property):
        assert not re.match(r"Returns?\b", summary.strip(), re.IGNORECASE)


def test_a_description_that_only_adds_the_default_still_restates_the_name() -> None:
    verdict = check_parameter("catalog", "The catalog. Defaults to None.", ["catalog", "schema"])
    assert verdict.action == "replace"
    assert check_parameter("catalog", "The catalog to search. Defaults to None.", ["catalog"]).action == "keep"
