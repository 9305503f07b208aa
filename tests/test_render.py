"""Renderer output for each style, checked against exact expected text."""

from __future__ import annotations

import pytest
from docstring_parser import Docstring
from docstring_parser.common import DocstringParam, DocstringRaises, DocstringReturns

from docucode_hook.context import Style
from docucode_hook.render import render_docstring


def _doc(summary: str, long: str | None = None, meta: list | None = None) -> Docstring:
    doc = Docstring()
    doc.short_description = summary
    doc.long_description = long
    doc.meta = meta or []
    return doc


def _param(name: str, description: str, type_name: str | None = None) -> DocstringParam:
    # is_optional/default set on purpose: the renderer must not leak them into the type.
    return DocstringParam(["param", name], description, name, type_name, True, "3")


FULL = _doc(
    "Sum the numbers.",
    "Long text\nover two lines.",
    [
        _param("a", "The first.", "int"),
        _param("b", "The second,\nwrapped by the author."),
        _param("*args", "More."),
        _param("**kwargs", "Options.", "str"),
        DocstringRaises(["raises", "ValueError"], "If a is negative.", "ValueError"),
        DocstringReturns(["returns"], "The sum.", "int", False),
    ],
)
GENERATOR = _doc("Count up.", None, [DocstringReturns(["yields"], "Each number.", None, True)])
UNTYPED_RETURN = _doc("Load it.", None, [_param("path", "The path."), DocstringReturns(["returns"], "The data.", None, False)])

CASES = [
    (
        FULL,
        Style.GOOGLE,
        "Sum the numbers.\n\nLong text\nover two lines.\n\nArgs:\n    a (int): The first.\n    b: The second,\n"
        "        wrapped by the author.\n    *args: More.\n    **kwargs (str): Options.\n\nReturns:\n    int: The sum.\n\n"
        "Raises:\n    ValueError: If a is negative.",
    ),
    (
        FULL,
        Style.NUMPY,
        "Sum the numbers.\n\nLong text\nover two lines.\n\nParameters\n----------\na : int\n    The first.\nb\n"
        "    The second,\n    wrapped by the author.\n*args\n    More.\n**kwargs : str\n    Options.\n\nReturns\n-------\n"
        "int\n    The sum.\n\nRaises\n------\nValueError\n    If a is negative.",
    ),
    (
        FULL,
        Style.SPHINX,
        "Sum the numbers.\n\nLong text\nover two lines.\n\n:param a: The first.\n:type a: int\n:param b: The second,\n"
        "    wrapped by the author.\n:param *args: More.\n:param **kwargs: Options.\n:type **kwargs: str\n"
        ":returns: The sum.\n:rtype: int\n:raises ValueError: If a is negative.",
    ),
    (GENERATOR, Style.GOOGLE, "Count up.\n\nYields:\n    Each number."),
    (GENERATOR, Style.NUMPY, "Count up.\n\nYields\n------\nEach number."),
    (GENERATOR, Style.SPHINX, "Count up.\n\n:yields: Each number."),
    (UNTYPED_RETURN, Style.GOOGLE, "Load it.\n\nArgs:\n    path: The path.\n\nReturns:\n    The data."),
    (UNTYPED_RETURN, Style.NUMPY, "Load it.\n\nParameters\n----------\npath\n    The path.\n\nReturns\n-------\nThe data."),
    (UNTYPED_RETURN, Style.SPHINX, "Load it.\n\n:param path: The path.\n:returns: The data."),
]


@pytest.mark.parametrize(("doc", "style", "expected"), CASES)
def test_render_each_style(doc: Docstring, style: Style, expected: str) -> None:
    assert render_docstring(doc, style) == expected


@pytest.mark.parametrize("style", list(Style))
def test_summary_only_is_one_line(style: Style) -> None:
    assert render_docstring(_doc("Run the program."), style) == "Run the program."


@pytest.mark.parametrize("style", list(Style))
def test_summary_and_long_description_only(style: Style) -> None:
    assert render_docstring(_doc("Run it.", "Twice."), style) == "Run it.\n\nTwice."


@pytest.mark.parametrize("style", list(Style))
def test_render_leaves_the_record_unchanged(style: Style) -> None:
    doc = _doc("Sum.", None, [_param("a", "A."), DocstringReturns(["returns"], "The sum.", None, False)])
    render_docstring(doc, style)
    assert (doc.params[0].is_optional, doc.params[0].default, doc.returns.type_name) == (True, "3", None)
