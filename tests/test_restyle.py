"""Converting docstrings between Google, NumPy and Sphinx without losing a word (issue 23).

Real docstrings of all three styles (tests/samples/docstrings/real.json, cited there) go into
the two other styles and back; generated ones must come back as the same text; what cannot
be converted is refused with its reason and never rewritten.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docucode_hook.code.records import Style
from docucode_hook.docstrings.blocks import FREE, SPHINX_FIELDS, TITLES, Entry, Layout, Prose, Section
from docucode_hook.docstrings.restyle import read_layout, render_layout, restyle
from docucode_hook.docstrings.styles import section_styles

SAMPLES = json.loads((Path(__file__).parent / "samples" / "docstrings" / "real.json").read_text(encoding="utf-8"))
PAIRS = [(sample, target) for sample in SAMPLES for target in Style if target.value != sample["style"]]
# The words each style spells its own way (section titles, field keywords). The check here is
# independent of the one restyle makes with its readers: it drops these words on both sides.
SYNTAX = {word.lower() for title in TITLES for word in re.findall(r"\w+", title)} | set(SPHINX_FIELDS) | {"rubric"}


def _content_words(text: str) -> Counter:
    # Sphinx names a typed parameter twice (":param x:", ":type x:"); the other styles once.
    named = set(re.findall(r"^:(?:param|keyword|ivar)(?: [^:\s]+)* ([^:\s]+):", text, re.M))
    text = re.sub(r"^:(?:type|kwtype|vartype) (\S+):", lambda m: ":" if m.group(1) in named else m.group(0), text,
                  flags=re.M)
    return Counter(word for word in re.findall(r"\w+", text) if word.lower() not in SYNTAX)


def _sample_id(pair: tuple[dict, Style]) -> str:
    sample, target = pair
    return f"{sample['package']}:{sample['qualname']}->{target.value}"


@pytest.mark.parametrize("pair", PAIRS, ids=[_sample_id(pair) for pair in PAIRS])
def test_real_docstring_converts_losing_no_word_and_comes_back(pair: tuple[dict, Style]) -> None:
    sample, target = pair
    source, text = Style(sample["style"]), sample["docstring"]
    assert section_styles(text) == {source}
    result = restyle(text, source, target)
    if result.text is None:
        assert result.reason  # refused, with a reason; the counts test below keeps refusals rare
        return
    assert _content_words(result.text) == _content_words(text)
    assert section_styles(result.text) == {target}  # so a second run leaves it alone
    back = restyle(result.text, target, source)
    assert back.text is not None, back.reason
    assert _content_words(back.text) == _content_words(text)
    # Converting the converted text again into the same style gives the same text.
    assert restyle(back.text, source, target).text == result.text


def test_most_real_docstrings_convert() -> None:
    refused = {_sample_id(pair): restyle(pair[0]["docstring"], Style(pair[0]["style"]), pair[1]).reason
               for pair in PAIRS}
    refused = {key: reason for key, reason in refused.items() if reason}
    # Named NumPy results have no place in Google's or Sphinx's Returns, and a paragraph after Returns
    # would become one of its entries in NumPy: the expected refusals.
    assert refused == {
        "numpy:roots->google": "Returns has the name out: a google result has none",
        "numpy:solve->google": "Returns has the name x: a google result has none",
        "numpy:roots->sphinx": "Returns has the name out: Sphinx's :returns: field has none",
        "numpy:solve->sphinx": "Returns has the name x: Sphinx's :returns: field has none",
        "accelerate:Accelerator.gather->numpy": "the text after Returns would be read as its entries in numpy style",
    }


def _sample(qualname: str) -> dict:
    return next(sample for sample in SAMPLES if sample["qualname"] == qualname)


def test_numpy_to_google_moves_types_and_keeps_every_section() -> None:
    text = _sample("colliders")["docstring"]
    result = restyle(text, Style.NUMPY, Style.GOOGLE)
    assert result.text is not None, result.reason
    assert result.text.startswith(text.split("\nParameters\n")[0].rstrip() + "\n\nArgs:\n    G (graph): A networkx")
    assert "Raises:\n    NetworkXNotImplemented: If `G` is an undirected graph.\n" in result.text
    for title in ("Yields:", "Examples:", "See Also:", "Notes:", "References:"):  # every section, in its order
        assert f"\n\n{title}\n    " in result.text
    # A doctest keeps its prompt and output lines; a reference keeps its continuation lines.
    assert "\n    >>> nx.is_directed_acyclic_graph(G)\n    True\n" in result.text
    assert '\n    .. [2] A Hyttinen, P.O. Hoyer, F. Eberhardt, M J ̈arvisalo, (2013)\n           "Discovering' in result.text


def test_a_named_result_is_refused_where_the_style_names_none() -> None:
    text = _sample("roots")["docstring"]
    assert restyle(text, Style.NUMPY, Style.GOOGLE).reason == "Returns has the name out: a google result has none"
    assert restyle(text, Style.NUMPY, Style.SPHINX).reason == "Returns has the name out: Sphinx's :returns: field has none"


def test_sphinx_to_google_keeps_the_directive_after_the_fields() -> None:
    text = _sample("Context.get_parameter_source")["docstring"]
    result = restyle(text, Style.SPHINX, Style.GOOGLE)
    assert result.text is not None, result.reason
    assert result.text.endswith(
        "Args:\n    name: The name of the parameter.\n\nReturns:\n    ParameterSource:\n\n"
        ".. versionchanged:: 8.0\n    Returns ``None`` if the parameter was not provided from any\n    source."
    )


def test_google_to_sphinx_writes_fields_and_rubrics() -> None:
    text = _sample("Accelerator.gather")["docstring"]
    result = restyle(text, Style.GOOGLE, Style.SPHINX)
    assert result.text is not None, result.reason
    assert ".. rubric:: Note\n\nThis gather happens in all processes.\n" in result.text
    assert ":param tensor: The tensors to gather across all processes.\n:type tensor: `torch.Tensor`, or a nested" in result.text
    # "type: text" in Returns is split only where the part before the colon reads as a type;
    # this one does not ("or a nested"), so it all stays text, as written.
    assert (":returns: `torch.Tensor`, or a nested tuple/list/dictionary of `torch.Tensor`: The gathered tensor(s). "
            "Note that the\n    first dimension") in result.text
    # The example after the sections stays after them, as text (Example: over an unindented block is not a section).
    assert result.text.endswith(text[text.index("Example:\n"):])


# --------------------------------------------------------------------------- refusals


def test_a_google_result_with_a_name_converts_to_numpy() -> None:
    google = "Find it.\n\nReturns:\n    count (int): How many.\n    rest (list): The others."
    numpy = "Find it.\n\nReturns\n-------\ncount : int\n    How many.\nrest : list\n    The others."
    assert restyle(google, Style.GOOGLE, Style.NUMPY).text == numpy
    assert restyle(numpy, Style.NUMPY, Style.GOOGLE).reason == "2 Returns entries: google style has one"


def test_text_after_a_free_section_is_refused_where_it_would_join_it() -> None:
    text = "Do it.\n\nNote:\n    Careful.\n\n.. versionadded:: 2.0"
    for target in (Style.NUMPY, Style.SPHINX):
        result = restyle(text, Style.GOOGLE, target)
        assert result.text is None
        assert result.reason == f"the text after Note would join that section in {target.value} style"


def test_an_unknown_sphinx_field_is_refused() -> None:
    result = restyle("Do it.\n\n:param x: The x.\n:meta private:", Style.SPHINX, Style.GOOGLE)
    assert (result.text, result.reason) == (None, "the field :meta: has no place in another style")


def test_a_section_that_is_not_a_list_of_entries_is_refused() -> None:
    result = restyle("Do it.\n\nArgs:\n    Just some words here.\n", Style.GOOGLE, Style.NUMPY)
    assert result.text is None and "Args has a line that is not an entry" in (result.reason or "")


def test_a_description_indented_under_its_first_line_starts_on_the_next_line() -> None:
    numpy = "Do it.\n\nParameters\n----------\nx : int\n    Choose one:\n\n        - a\n        - b\n"
    result = restyle(numpy, Style.NUMPY, Style.GOOGLE)
    assert result.text == "Do it.\n\nArgs:\n    x (int):\n        Choose one:\n\n            - a\n            - b"
    assert restyle(result.text, Style.GOOGLE, Style.NUMPY).text == numpy.rstrip()


def test_a_custom_numpy_section_becomes_text_in_google_style() -> None:
    numpy = "Do it.\n\nParameters\n----------\nx : int\n    The x.\n\nUsage\n-----\nCall it twice."
    result = restyle(numpy, Style.NUMPY, Style.GOOGLE)
    assert result.text == "Do it.\n\nArgs:\n    x (int): The x.\n\nUsage:\n    Call it twice."
    assert section_styles(result.text) == {Style.GOOGLE}


# --------------------------------------------------------------------------- properties

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)
_NAMES = st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True).filter(lambda name: not name.endswith("_"))
_TYPES = st.sampled_from(["int", "str, optional", "list of int", "dict[str, int]", "Path", "float or None"])
_EXCEPTIONS = st.sampled_from(["ValueError", "KeyError", "OSError", "errors.ParseError"])


@st.composite
def _paragraph(draw: st.DrawFn) -> list[str]:
    lines = draw(st.lists(st.lists(_WORD, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=3))
    return [line[0].upper() + line[1:] for line in lines[:1]] + lines[1:]


@st.composite
def _description(draw: st.DrawFn) -> tuple[str, ...]:
    blocks = [draw(_paragraph())]
    if draw(st.booleans()):
        blocks.append([f"- {item}" for item in draw(st.lists(_WORD, min_size=1, max_size=3))])
    if draw(st.booleans()):
        blocks.append(draw(_paragraph()))
    lines: list[str] = []
    for block in blocks:
        lines += ([""] if lines else []) + block
    return tuple(lines)


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    """Docstrings every style can hold: parameters, one typed result, exceptions, free sections."""
    head = draw(_paragraph())
    if draw(st.booleans()):
        head = [*head, "", *draw(_paragraph())]
    blocks: list[Section | Prose] = []
    names = draw(st.lists(_NAMES, min_size=1, max_size=4, unique=True))
    blocks.append(Section("params", "params", tuple(
        Entry(name, draw(st.one_of(st.none(), _TYPES)), draw(st.one_of(st.just(()), _description())))
        for name in names)))
    if draw(st.booleans()):
        blocks.append(Section(draw(st.sampled_from(["returns", "yields"])), "", (Entry(None, draw(_TYPES), draw(_description())),)))
    if draw(st.booleans()):
        raised = draw(st.lists(_EXCEPTIONS, min_size=1, max_size=2, unique=True))
        blocks.append(Section("raises", "", tuple(Entry(None, name, draw(_description())) for name in raised)))
    for title in draw(st.lists(st.sampled_from(["Notes", "Examples", "References", "Todo"]), max_size=2, unique=True)):
        body = [">>> f(1)", "2"] if title == "Examples" else list(draw(_description()))
        blocks.append(Section(FREE, title, body=tuple(body)))
    return Layout(tuple(head), tuple(blocks))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts(), source=st.sampled_from(list(Style)), target=st.sampled_from(list(Style)))
def test_converting_to_another_style_and_back_returns_the_same_text(layout: Layout, source: Style, target: Style) -> None:
    text = render_layout(layout, source)
    assert render_layout(read_layout(text, source), source) == text  # the reader reads what the writer wrote
    if target is source:
        return
    there = restyle(text, source, target)
    assert there.text is not None, there.reason
    assert _content_words(there.text) == _content_words(text)
    back = restyle(there.text, target, source)
    assert back.text == text, back.reason


_LINES = st.sampled_from([
    "Args:", "Returns:", "Parameters", "----------", "Notes", "-----", ":param x: the x", ":type x: int",
    ":returns: it", ":rtype: int", ":raises ValueError: when", "x : int", "x (int): the x", "int: the value",
    "    indented words", "        deeper words", "", ".. versionadded:: 1.0", ".. rubric:: Notes", ">>> f(1)",
    "Some prose: with a colon.", "ValueError: if bad", "- a list item", "Example:", "Other Parameters",
])


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_LINES, min_size=1, max_size=14), source=st.sampled_from(list(Style)),
       target=st.sampled_from(list(Style)))
def test_any_text_is_converted_without_a_word_lost_or_refused(lines: list[str], source: Style, target: Style) -> None:
    text = "Summary line.\n\n" + "\n".join(lines)
    result = restyle(text, source, target)
    if result.text is None:
        assert result.reason
        return
    assert _content_words(result.text) == _content_words(text)
    assert restyle(result.text, target, target).text is not None or target is source
