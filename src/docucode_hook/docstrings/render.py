"""Render a structured docstring as Google, NumPy or Sphinx text (no quotes, no indentation)."""

from __future__ import annotations

import copy
import inspect
import re
import textwrap

from docstring_parser import Docstring, DocstringStyle, compose
from docstring_parser.common import DocstringParam, DocstringRaises, DocstringReturns

from docucode_hook.code.records import Style

INDENT = "    "
_COMPOSED = {Style.GOOGLE: DocstringStyle.GOOGLE, Style.NUMPY: DocstringStyle.NUMPYDOC}
# compose writes ": text" for a Google return that has no type; the colon belongs to the type.
_UNTYPED_GOOGLE_RETURN = re.compile(r"^(    ):(?: |$)", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")


def render_docstring(doc: Docstring, style: Style, width: int | None = None, indent: int = 0) -> str:
    """The docstring's text in ``style``: summary, blank line, description, then sections.

    With ``width``, lines are wrapped so that once the docstring is written into a body
    indented by ``indent`` columns, no line of the file is longer than ``width`` (see
    ``wrap_lines``).
    """
    if style is Style.SPHINX:
        text = _render_sphinx(doc)
    else:
        text = compose(_prepared(doc, style), style=_COMPOSED[style], indent=INDENT)
        if style is Style.GOOGLE:
            text = _UNTYPED_GOOGLE_RETURN.sub(r"\1", text)
        # NumPy's compose opens every section with its own blank line after ours.
        text = _BLANK_RUNS.sub("\n\n", text).strip()
    return text if width is None else wrap_lines(text, style, width, indent)


# The first line shares the file's line with the opening quotes and, in a one-line
# docstring, the closing ones; a raw string adds its "r".
_QUOTES_ON_FIRST_LINE = len('r"""') + len('"""')


def summary_room(width: int, indent: int) -> int:
    """The columns a summary has on its line: a summary wrapped onto a second line reads to ruff as a
    summary without its period (D400/D415) and without the blank line after it (D205)."""
    return width - indent - _QUOTES_ON_FIRST_LINE


_GOOGLE_TITLE = re.compile(r"^[A-Z][A-Za-z ]*:$")
_NUMPY_UNDERLINE = re.compile(r"^-{3,}$")
# The head of an entry that must stay on one line: a Google "name (type):" or "type:", a Sphinx
# ":param x:". A Google head is one word, or a name and a parenthesised type: prose with a colon is not one.
_GOOGLE_ENTRY = re.compile(r"^\s*((?:[^\s(:]+\s*\([^\n]*?\)|[^\s:]*\[[^\n]*?\]|[^\s:]+):)(?=\s|$)")
_SPHINX_FIELD = re.compile(r"^(:[^:]+:)")
_GLUE = "\0"  # stands for a space that must not break a line (no docstring text holds NUL here)


def wrap_lines(text: str, style: Style, width: int, indent: int = 0) -> str:
    """Break every line longer than ``width - indent`` columns at spaces, keeping the layout.

    A continuation keeps the line's own indentation, except where the style indents it under
    an entry: a Google entry (``name (type): text`` in a section) and a Sphinx field
    (``:param x: text``) continue one level deeper. Section titles, NumPy underlines and
    NumPy ``name : type`` lines are never broken, nor an entry's head (``name (type):``).
    The first line leaves room for the quotes. A single word longer than the room is left whole.
    """
    lines = text.split("\n")
    out: list[str] = []
    in_section = False
    for number, line in enumerate(lines):
        following = lines[number + 1] if number + 1 < len(lines) else ""
        own = len(line) - len(line.lstrip())
        hang, glued = own, line
        if style is Style.GOOGLE:
            if _GOOGLE_TITLE.match(line):
                in_section = True
            elif in_section and own == len(INDENT):
                hang = own + len(INDENT)
                glued = _glue(line, _GOOGLE_ENTRY)
        elif style is Style.NUMPY:
            if _NUMPY_UNDERLINE.match(following.strip()) or _NUMPY_UNDERLINE.match(line.strip()):
                in_section = True
                out.append(line)
                continue
            if in_section and own == 0:
                if " : " in line or line.rstrip().endswith(":"):
                    out.append(line)
                    continue
                hang = len(INDENT)
        elif line.startswith(":"):
            hang = len(INDENT)
            glued = _glue(line, _SPHINX_FIELD)
        room = width - indent - (_QUOTES_ON_FIRST_LINE if number == 0 else 0)
        if len(line) <= room:
            out.append(line)
            continue
        wrapped = textwrap.wrap(
            glued.strip(),
            width=max(room, 1),
            initial_indent=" " * own,
            subsequent_indent=" " * hang,
            break_long_words=False,
            break_on_hyphens=False,
        )
        out += [part.replace(_GLUE, " ") for part in wrapped]
    return "\n".join(out)


def _glue(line: str, head: re.Pattern[str]) -> str:
    match = head.match(line)
    if not match:
        return line
    return line[: match.start(1)] + match.group(1).replace(" ", _GLUE) + line[match.end(1) :]


# Each guide's words for a parameter's default, after its description. Google: napoleon's
# example_google.py ("param2 (str, optional): The second parameter. Defaults to None.");
# NumPy: numpydoc's format guide lets the description detail the default ("Default is 3.");
# Sphinx: the field-list form its tools write (":param retries: ..., defaults to 3").
_DEFAULT_WORDS = {Style.GOOGLE: "Defaults to {}.", Style.NUMPY: "Default is {}.", Style.SPHINX: "Defaults to {}."}


def with_default(description: str | None, default: str, style: Style) -> str:
    """``description`` followed by the parameter's default as the style's guide words it."""
    text = without_default_sentence(description or "").rstrip(" ,;:")
    if style is Style.SPHINX and text:
        return f"{text.rstrip('.')}, defaults to {default}."
    if text and not text.endswith((".", "!", "?")):
        text += "."
    sentence = _DEFAULT_WORDS[style].format(default)
    return f"{text} {sentence}" if text else sentence


# A default stated at the end of a description, in any guide's words: it is the signature's to say.
_DEFAULT_SENTENCE = re.compile(
    r"(?:^|(?<=[.!?])\s+|\s*[,;]\s*|\s*\()(?:defaults? (?:to|is)|by default,?|default:)\s[^\n]*$", re.I
)


def without_default_sentence(text: str) -> str:
    """``text`` without a trailing sentence or clause that states a default ("Defaults to 3.")."""
    return _DEFAULT_SENTENCE.sub("", text.strip()).strip()


def _prepared(doc: Docstring, style: Style) -> Docstring:
    """A copy that compose renders as we want: blank lines set, defaults in each guide's words."""
    prepared = copy.deepcopy(doc)
    has_sections = bool(prepared.meta)
    prepared.blank_after_short_description = bool(prepared.long_description or has_sections)
    prepared.blank_after_long_description = bool(prepared.long_description and has_sections)
    for meta in prepared.meta:
        if _colon_breaks_line(meta, style):
            # Google splits "name (type): text" and "type: text" at the first colon, and NumPy a
            # return's "name : type" line: a type such as Literal[":memory:"] would be cut in two
            # when parsed back (the description garbled, the name unknown). It is in the signature.
            meta.type_name = None
        if isinstance(meta, DocstringParam):
            _word_default(meta, style)
        elif isinstance(meta, DocstringReturns) and style is Style.NUMPY and not meta.type_name:
            # A NumPy entry's first line is its type; with none known the description stands alone,
            # its later lines indented under the first (unindented, each would read as one more entry).
            first, _, rest = (meta.description or "").partition("\n")
            meta.type_name, meta.description = first, inspect.cleandoc(rest) or None
    return prepared


def _word_default(meta: DocstringParam, style: Style) -> None:
    """Move a new entry's default into its description, in the style's words; mark it optional
    only where the style's linter reads the mark: pydoclint (defaults) takes Google's
    ``(int, optional)`` but reports NumPy's ``int, optional`` and a Sphinx ``:type: int, optional``
    as a type that disagrees with the signature (DOC105)."""
    if meta.default is not None:
        meta.description = with_default(meta.description, meta.default, style)
    if meta.is_optional and meta.type_name and style is Style.GOOGLE:
        meta.type_name = f"{meta.type_name}, optional"  # compose would write "int?"
    meta.is_optional = meta.default = None


def _colon_breaks_line(meta: object, style: Style) -> bool:
    type_name = getattr(meta, "type_name", None)
    if not type_name or ":" not in type_name or isinstance(meta, DocstringRaises):
        return False
    return style is Style.GOOGLE or (style is Style.NUMPY and isinstance(meta, DocstringReturns))


def _render_sphinx(doc: Docstring) -> str:
    doc = copy.deepcopy(doc)
    for meta in doc.params:
        _word_default(meta, Style.SPHINX)
    head = [part for part in (doc.short_description, doc.long_description) if part]
    fields = [line for meta in _sphinx_order(doc) for line in _sphinx_fields(meta)]
    return "\n\n".join(head + (["\n".join(fields)] if fields else []))


def _sphinx_order(doc: Docstring) -> list[DocstringParam | DocstringReturns | DocstringRaises]:
    returns = [meta for meta in doc.many_returns if not meta.is_generator]
    yields = [meta for meta in doc.many_returns if meta.is_generator]
    return [*doc.params, *returns, *yields, *doc.raises]


def _sphinx_fields(meta: DocstringParam | DocstringReturns | DocstringRaises) -> list[str]:
    if isinstance(meta, DocstringParam):
        fields = [_field(f"param {meta.arg_name}", meta.description)]
        return fields + ([_field(f"type {meta.arg_name}", meta.type_name)] if meta.type_name else [])
    if isinstance(meta, DocstringReturns):
        name, type_field = ("yields", "ytype") if meta.is_generator else ("returns", "rtype")
        fields = [_field(name, meta.description)]
        return fields + ([_field(type_field, meta.type_name)] if meta.type_name else [])
    return [_field(f"raises {meta.type_name}", meta.description)]


def render_epydoc_fields(doc: Docstring) -> str:
    """Epydoc fields (``@param x: text``) for the sections of ``doc``, as ``refresh_sections``
    writes them into an epydoc docstring.

    Read back by docstring_parser, as the finder reads them: ``@param`` comes before its
    ``@type`` (an entry is named after whichever comes first, and only "param" counts as a
    documented parameter), and a name is a bare identifier (``@param *args:`` and ``@raise
    mod.Error:`` are not read as fields; the finder compares the last dotted part anyway).
    """
    fields = []
    for meta in _sphinx_order(doc):
        if isinstance(meta, DocstringParam):
            name = (meta.arg_name or "").lstrip("*")
            description = meta.description if meta.default is None else with_default(meta.description, meta.default, Style.GOOGLE)
            fields.append(_field(f"param {name}", description, "@"))
            fields += [_field(f"type {name}", meta.type_name, "@")] if meta.type_name else []
        elif isinstance(meta, DocstringReturns):
            name, type_field = ("yield", "ytype") if meta.is_generator else ("return", "rtype")
            fields.append(_field(name, meta.description, "@"))
            fields += [_field(type_field, meta.type_name, "@")] if meta.type_name else []
        else:
            fields.append(_field(f"raise {(meta.type_name or '').rsplit('.', 1)[-1]}".rstrip(), meta.description, "@"))
    return "\n".join(fields)


def _field(name: str, body: str | None, marker: str = ":") -> str:
    lines = (body or "").splitlines() or [""]
    return "\n".join([f"{marker}{name}: {lines[0]}".rstrip(), *(INDENT + line if line else "" for line in lines[1:])])


__all__ = [
    "INDENT",
    "render_docstring",
    "render_epydoc_fields",
    "summary_room",
    "with_default",
    "without_default_sentence",
    "wrap_lines",
]
