"""Derived text reads as English: verbs and nouns taken from names correctly, no quotes around forward
references, a function's summary a command (issue 22: "Return the summarize.", "Return from dict.",
`"Station": From dict.`, "Input to be fine." were the failures)."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from docucode_hook.code.contexts import iter_contexts
from docucode_hook.code.facts import prose_facts
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.docstrings.phrasing import PREPOSITIONS, imperative, is_verb, words
from docucode_hook.precision.derive import derived_return, derived_summary
from docucode_hook.precision.grounding import grounded_text
from docucode_hook.precision.truth import check_parameter

NAMES = (Path(__file__).parent / "samples" / "names" / "function-names.txt").read_text(encoding="utf-8").split()


def context(source: str, qualname: str) -> FunctionContext:
    return next(ctx for ctx in iter_contexts(source, "m.py") if ctx.qualname == qualname)


@pytest.mark.parametrize(
    ("source", "qualname", "summary", "returns"),
    [
        ("class Report:\n    def summarize(self):\n        return self.text[:10]\n", "Report.summarize",
         "Summarize the report.", "The result."),
        ('def from_dict(data: dict) -> "Station":\n    return Station(**data)\n', "from_dict",
         "Return the station from the dict.", "A new `Station`."),
        ('def from_config(data: dict) -> "Optional[Station]":\n    if data:\n        return Station(**data)\n    return None\n',
         "from_config", "Return the station from the config.", "A new `Station`."),
        ("def contains_folder(name):\n    return name in FOLDERS\n", "contains_folder",
         "Check whether the name contains the folder.", "True if the name contains the folder, otherwise False."),
        ("class Case:\n    def tear_down(self):\n        self.db.close()\n", "Case.tear_down", "Tear down the case.", None),
        ("def on_click(event):\n    print(event)\n", "on_click", "Handle the click.", None),
        ("def indexed(rows):\n    return sorted(rows)\n", "indexed", "Return the indexed result.", "The indexed result."),
        ("def by_name(rows, name):\n    return [r for r in rows if r.name == name]\n", "by_name",
         "Return the result by the name.", "The result."),
        ("class Inventory:\n    def add(self, item):\n        self.items.append(item)\n", "Inventory.add", "Add the item.", None),
        ("def normalise_path(path):\n    return path.strip()\n", "normalise_path", "Normalise the path.", "The result."),
        ("def classify(text):\n    return 1\n", "classify", "Classify the text.", "The result."),
    ],
)
def test_summaries_and_returns_read_off_names(source: str, qualname: str, summary: str, returns: str | None) -> None:
    ctx = context(source, qualname)
    facts = prose_facts(ctx)
    assert derived_summary(ctx, facts) == summary
    assert (derived_return(ctx, facts) if ctx.returns_value else None) == returns


def test_forward_references_are_written_unquoted() -> None:
    source = 'class Station:\n    @classmethod\n    def from_dict(cls, data: "dict[str, Any]") -> "Station":\n        return cls(**data)\n'
    text = grounded_text(None, context(source, "Station.from_dict"), Style.GOOGLE)
    assert '"' not in text and "'" not in text
    assert "Returns:\n    Station: A new `Station`." in text
    assert "data (dict[str, Any]):" in text


@pytest.mark.parametrize(
    ("name", "description", "function", "kept"),
    [
        ("fine", "Input to be fine.", "smooth", False),
        ("q", "Sequence of values to be percentile.", "percentile", False),
        ("q", "Rank to be used.", "percentile", True),
        ("q", "The rank, between 0 and 100.", "percentile", True),
    ],
)
def test_to_be_and_a_name_is_no_description(name: str, description: str, function: str, kept: bool) -> None:
    assert check_parameter(name, description, [name], function).kept is kept


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("Returns the sum.", "Return the sum."),
        ("Applies the patch.", "Apply the patch."),
        ("Determines whether it fits.", "Determine whether it fits."),
        ("Process all rows.", "Process all rows."),
        ("The sum of the values.", None),
        ("This function adds two numbers.", None),
        ("Helper that adds.", None),
        ("Getting the rows.", None),
        ("`x` doubled.", "`x` doubled."),
    ],
)
def test_a_functions_summary_is_a_command(summary: str, expected: str | None) -> None:
    assert imperative(summary) == expected


_OPENERS = {"Return", "Yield", "Run", "Check", "Convert", "Handle", "Create", "Manage", "Initialise", "Iterate", "Calculate"}


def _well_formed(summary: str, name: str) -> None:
    assert re.fullmatch(r"[A-Z][^\n\"]*\.", summary), summary
    first = summary.split()[0]
    assert first in _OPENERS or is_verb(first.lower()), (name, summary)
    assert imperative(summary) == summary, (name, summary)
    lowered = summary.lower()
    assert " the the " not in lowered and " the a " not in lowered and " the an " not in lowered, (name, summary)
    # A verb or a preposition is no noun: "Return the summarize.", "Return from dict."
    after = re.match(r"(?:Return|Yield) (?:the )?(\w+)", summary)
    if after and words(name)[0] not in ("return", "yield", "get"):
        word = after.group(1).lower()
        assert word not in PREPOSITIONS and not (is_verb(word) and summary.endswith(f" {word}.")), (name, summary)


@pytest.mark.parametrize("name", NAMES)
def test_every_real_name_gives_a_well_formed_summary(name: str) -> None:
    for body in ("return value", "print(value)", "yield value"):
        ctx = context(f"def {name}(value):\n    {body}\n", name)
        _well_formed(derived_summary(ctx, prose_facts(ctx)), name)


_WORDS = st.sampled_from(
    ["get", "summarize", "from", "by", "on", "to", "is", "has", "contains", "indexed", "counting", "tear", "down",
     "dict", "user", "name", "rows", "report", "main", "x", "value", "as", "with", "setup", "classify", "data"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=4), st.sampled_from(["return value", "print(value)", "yield value"]),
       st.sampled_from(["", " -> int", ' -> "Station"']))
def test_any_name_gives_a_well_formed_summary(parts: list[str], body: str, annotation: str) -> None:
    name = "_".join(parts)
    assume(not keyword.iskeyword(name))
    ctx = context(f"def {name}(value){annotation}:\n    {body}\n", name)
    facts = prose_facts(ctx)
    _well_formed(derived_summary(ctx, facts), name)
    result = derived_return(ctx, facts)
    assert re.fullmatch(r"[A-Z`][^\n\"]*\.", result) and not result.lower().startswith(tuple(f"{p} " for p in PREPOSITIONS)), result
    assert words(name)  # the strategy never builds a name without words
