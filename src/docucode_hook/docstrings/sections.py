"""Reading existing docstrings: their sections, what they document, and the one rule for "stale"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from docstring_parser import Docstring, DocstringStyle, parse
from docstring_parser.common import DocstringRaises

from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.docstrings.phrasing import one_line
from docucode_hook.code.syntax import promises_value

PARSER_STYLES = {
    Style.GOOGLE: DocstringStyle.GOOGLE,
    Style.NUMPY: DocstringStyle.NUMPYDOC,
    Style.SPHINX: DocstringStyle.REST,
}

# Every finding code the check reports, by what it is about; stale_sections names DCU101-DCU104.
CODES = {
    "config": "DCU001",
    "missing": "DCU100",
    "params": "DCU101",
    "returns": "DCU102",
    "yields": "DCU103",
    "raises": "DCU104",
    "style": "DCU105",
}

# docstring_parser's AUTO tries these in this order and keeps the result with the most sections.
# It is not called directly: it keeps a failed style's ParseError in a local, a reference cycle
# through the traceback's frames that holds the caller's whole AST until the cyclic collector
# runs, which on a large tree cost --check about half its time.
_ANY_STYLE = (DocstringStyle.REST, DocstringStyle.GOOGLE, DocstringStyle.NUMPYDOC, DocstringStyle.EPYDOC)

# What any docstring_parser style needs to find a section: a title line ("Args:"), a NumPy
# underline, a field (":param", "@param", "::") or a directive (".. deprecated::"). Text with
# none of these is summary-only and is not parsed (about half of all docstrings).
_MAY_HAVE_SECTIONS = re.compile(r"^[ \t]*(?:[A-Za-z][A-Za-z ]*:[ \t]*$|-+[ \t]*$|[:@]\S|\.\. )", re.M)


def _parse_as(text: str, style: DocstringStyle) -> Docstring | None:
    try:
        return parse(text, style)
    except Exception:  # ParseError, and IndexError from docstring_parser's own bugs (pyasn1's docstrings)
        return None


def may_have_sections(raw: str) -> bool:
    """False when the raw docstring ``raw`` is summary-only, also after ``inspect.cleandoc``:
    cleaning removes only leading whitespace and lines, but turns tabs into spaces (so a tab is a maybe)."""
    return "\n" in raw and ("\t" in raw or _MAY_HAVE_SECTIONS.search(raw) is not None)


def read_sections(text: str, style: Style) -> Docstring | None:
    """The cleaned docstring ``text`` parsed, when it has sections; None for a summary-only one.

    ``style`` is tried first; when it finds no section, every style docstring_parser knows is
    tried and the one that finds the most wins (the first of equals, as its AUTO does).
    """
    if "\n" not in text or not _MAY_HAVE_SECTIONS.search(text):
        return None
    chosen_style = PARSER_STYLES[style]
    chosen = _parse_as(text, chosen_style)
    if chosen is not None and chosen.meta:
        return chosen
    # The chosen style is one of the four: its parse is reused rather than done again.
    tried = (chosen if any_style is chosen_style else _parse_as(text, any_style) for any_style in _ANY_STYLE)
    parsed = [doc for doc in tried if doc is not None]
    best = max(parsed, key=lambda doc: len(doc.meta), default=None)
    return best if best is not None and best.meta else None


def documented_params(doc: Docstring) -> list[str]:
    """Parameter names the docstring documents ("Other Parameters" included), stars dropped."""
    names = []
    for meta in doc.params:
        if meta.args[0] in ("param", "other_param"):
            # NumPy allows "a, b : int"; "*args" and "args" both name the same parameter.
            names += [part.strip().lstrip("*") for part in meta.arg_name.split(",") if part.strip()]
    return names


def documented_raises(doc: Docstring) -> list[DocstringRaises]:
    """The Raises entries: docstring_parser also lists a NumPy "Warns" section under ``raises``.

    A warning is issued (``warnings.warn``), not raised, so it is neither an exception the
    body must document nor one documented "but never raised".
    """
    return [meta for meta in doc.raises if meta.args[0] != "warns"]


def short_name(name: str) -> str:
    """``pkg.errors.Error`` -> ``Error``: exceptions match by their last name."""
    return name.rsplit(".", 1)[-1].strip()


@dataclass(frozen=True)
class DefinitionShape:
    """What the stale rule reads about a definition: the finder builds it from the AST, refresh from a context."""

    kind: str  # "function" | "class" | "module"
    name: str
    parameters: tuple[str, ...]  # documentable names, stars dropped; a class's are its __init__'s
    returns_value: bool = False
    is_generator: bool = False
    raises: tuple[str, ...] = ()
    is_stub: bool = False  # abstract, or a placeholder body: may document what it does not do
    is_property: bool = False
    promises_value: bool = False  # a return annotation other than None

    @classmethod
    def of(cls, ctx: FunctionContext) -> DefinitionShape:
        """The facts a context already holds."""
        return cls(
            kind=ctx.kind,
            name=ctx.name,
            parameters=tuple(param.name for param in ctx.parameters),
            returns_value=ctx.returns_value,
            is_generator=ctx.is_generator,
            raises=ctx.raises,
            is_stub=ctx.is_stub or ctx.is_abstract,
            is_property=ctx.is_property,
            promises_value=promises_value(one_line(ctx.returns_annotation)),
        )


def stale_sections(doc: Docstring, code: DefinitionShape) -> dict[str, str]:
    """The sections of ``doc`` that disagree with the code, each with what is wrong, in section order.

    Keys are "params", "returns", "yields", "raises" (see ``CODES``). A section the author
    did not write is stale only when the code needs it; a summary-only docstring is never
    stale (``read_sections`` gives None for it).
    """
    stale: dict[str, str] = {}
    if problem := _parameter_problem(doc, code):
        stale["params"] = problem
    if code.kind != "function":
        return stale
    for kind, problem in (("returns", _return_problem(doc, code)), ("yields", _yield_problem(doc, code))):
        if problem:
            stale[kind] = problem
    if problem := _raise_problem(doc, code.raises):
        stale["raises"] = problem
    return stale


def _parameter_problem(doc: Docstring, code: DefinitionShape) -> str | None:
    documented = documented_params(doc)
    expected = code.parameters
    missing = [name for name in expected if name not in documented]
    unknown = [name for name in dict.fromkeys(documented) if name not in expected]
    # Classes and __init__ may document their arguments in either docstring: require them only once started.
    if (code.kind == "class" or code.name == "__init__") and not documented:
        missing = []
    parts = [f"{label}: {', '.join(names)}" for label, names in (("missing", missing), ("unknown", unknown)) if names]
    return f"docstring parameters do not match signature ({'; '.join(parts)})" if parts else None


def _return_problem(doc: Docstring, code: DefinitionShape) -> str | None:
    documented = any(not meta.is_generator for meta in doc.many_returns)
    if documented and not code.returns_value and not code.is_generator and not (code.is_stub or code.promises_value):
        return "docstring documents a return value but the function returns nothing"
    # A generator's ``return x`` ends the iteration; its Yields section is what callers read.
    if code.returns_value and not documented and not code.is_generator and not code.is_property:
        return "function returns a value but the docstring has no Returns section"
    return None


def _yield_problem(doc: Docstring, code: DefinitionShape) -> str | None:
    documented = any(meta.is_generator for meta in doc.many_returns)
    if documented and not code.is_generator and not code.is_stub:
        return "docstring documents yielded values but the function does not yield"
    if code.is_generator and not documented:
        return "function yields but the docstring has no Yields section"
    return None


def _raise_problem(doc: Docstring, raised: tuple[str, ...]) -> str | None:
    documented = [meta.type_name for meta in documented_raises(doc) if meta.type_name]
    undocumented = [name for name in raised if short_name(name) not in {short_name(d) for d in documented}]
    if undocumented:
        return f"raised exceptions not documented in Raises: {', '.join(undocumented)}"
    never_raised = [name for name in documented if short_name(name) not in {short_name(r) for r in raised}]
    if raised and never_raised:
        return f"Raises documents exceptions never raised: {', '.join(never_raised)}"
    return None


__all__ = [
    "CODES",
    "PARSER_STYLES",
    "DefinitionShape",
    "documented_params",
    "documented_raises",
    "may_have_sections",
    "read_sections",
    "short_name",
    "stale_sections",
]
