"""A docstring cut into verbatim blocks as one style reads it: its head, sections, entries and prose.

docstring_parser reads docstrings for their meaning and drops text on the way (blank lines,
indentation, directives, sections it does not know). Conversion between styles must lose
nothing, so this reader keeps every line: the head (summary and description) as written, each
free section's body (Notes, Examples, See Also, custom ones) as written, each entry's
description as a block of lines, and any prose between sections. What is style syntax and not
text (a section title that another style names otherwise, a Sphinx field's keyword) is counted
in ``Layout.syntax``, so that ``restyle`` can prove that no word of the text was lost.

The grammar follows the tools that render each style: napoleon for Google (a section ends at
the first line back at the title's indentation; an entry's description is its first line plus
the indented lines under it; a Returns section is one block), numpydoc for NumPy (a section
runs to the next title; an entry's description is the indented block under its head line),
and docutils field lists for Sphinx (``:param x:`` and its indented lines; ``.. rubric::``
opens a free section).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# Sections whose body is a list of entries. Named entries start with a name; the others with a type.
NAMED_KINDS = ("params", "other_params", "kwargs", "attributes", "methods", "receives")
TYPED_KINDS = ("returns", "yields", "raises", "warns")
FREE = "free"  # a section kept verbatim: Notes, Examples, See Also, Todo, custom ones

# napoleon's section names (with the aliases ruff and docstring_parser accept), lower case.
TITLES = {
    **dict.fromkeys(("args", "arguments", "parameters", "params"), "params"),
    **dict.fromkeys(("keyword args", "keyword arguments", "kwargs"), "kwargs"),
    **dict.fromkeys(("other parameters", "other args", "other arguments", "other params"), "other_params"),
    "attributes": "attributes", "methods": "methods", "receive": "receives", "receives": "receives",
    "return": "returns", "returns": "returns", "yield": "yields", "yields": "yields",
    "raise": "raises", "raises": "raises", "warn": "warns", "warns": "warns",
    **dict.fromkeys(
        ("attention", "caution", "danger", "error", "example", "examples", "hint", "important", "note", "notes",
         "references", "see also", "tip", "todo", "warning", "warnings"),
        FREE,
    ),
}

# Sphinx field keywords: which section an entry goes to, and whether the field gives its type.
SPHINX_FIELDS = {
    **dict.fromkeys(("param", "parameter", "arg", "argument"), ("params", False)),
    **dict.fromkeys(("key", "keyword", "kwarg", "kwparam"), ("kwargs", False)),
    "type": ("params", True), "kwtype": ("kwargs", True),
    **dict.fromkeys(("ivar", "var"), ("attributes", False)), "vartype": ("attributes", True),
    **dict.fromkeys(("returns", "return"), ("returns", False)), "rtype": ("returns", True),
    **dict.fromkeys(("yields", "yield"), ("yields", False)), "ytype": ("yields", True),
    **dict.fromkeys(("raises", "raise", "except", "exception"), ("raises", False)),
}

_WORD = re.compile(r"\w+")
_UNDERLINE = re.compile(r"[-=]{3,}[ \t]*")
_GOOGLE_TITLE = re.compile(r"([A-Za-z][A-Za-z ]*?):[ \t]*")
# A parameter or attribute name: ``x``, ``*args``, ``obj.attr``, ``a, b``.
_NAME = re.compile(r"\*{0,2}[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*\*{0,2}[A-Za-z_][\w.]*)*")
# A method as a Methods section names it: ``fit(X, y)``.
_METHOD = re.compile(r"[A-Za-z_]\w*\(.*\)")
_PROSE_WORDS = frozenset("a an the if is are when to for that which with this it be will".split())
_TYPE_LINKS = frozenset({"of", "or", "and", "optional", "|", "default"})


class Unreadable(Exception):
    """The docstring does not follow its style's grammar closely enough to be cut without guessing."""


@dataclass(frozen=True)
class Entry:
    """One entry of a section: ``name (type): description`` in Google, ``name : type`` in NumPy."""

    name: str | None
    type: str | None
    description: tuple[str, ...] = ()  # a block: its lines dedented together, first line included


@dataclass(frozen=True)
class Section:
    kind: str  # one of NAMED_KINDS or TYPED_KINDS, or FREE
    title: str  # as written; a free section keeps it, an entry section takes the target style's
    entries: tuple[Entry, ...] = ()
    body: tuple[str, ...] = ()  # a free section's lines


@dataclass(frozen=True)
class Prose:
    """Text between or after sections that belongs to none of them (a directive, a paragraph)."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    head: tuple[str, ...]  # summary and description, as written
    blocks: tuple[Section | Prose, ...] = ()
    syntax: Counter = field(default_factory=Counter, compare=False)  # words that are style syntax, not text


def words(text: str) -> Counter:
    """The words of ``text`` (runs of letters, digits and underscores), counted."""
    return Counter(_WORD.findall(text))


def dedent(lines: list[str]) -> list[str]:
    """Lines without their common indentation and trailing spaces, blank lines at both ends dropped."""
    lines = trimmed(lines)
    margin = min((len(line) - len(line.lstrip()) for line in lines if line), default=0)
    return [line[margin:] for line in lines]


def indent_of(line: str) -> int:
    """Columns of leading whitespace."""
    return len(line) - len(line.lstrip())


def looks_like_type(text: str) -> bool:
    """Whether the text before a colon is a type (``int``, ``list of str``, ``dict[str, int] or None``),
    not the start of a sentence ("True if found")."""
    if not text or text != text.strip() or text.endswith((".", ",")):
        return False
    bare = re.sub(r"\[[^\]]*\]|\([^)]*\)|`[^`]*`", "x", text)
    parts = bare.replace(",", " , ").split()
    if len(parts) == 1:
        return bool(re.fullmatch(r"[\w.:~`*|\[\]()'\"-]+", bare))
    return any(p in _TYPE_LINKS for p in parts) and not any(p.lower() in _PROSE_WORDS for p in parts)


def split_on_colon(line: str) -> tuple[str, str] | None:
    """``line`` cut at its first colon that ends a head (followed by a space or the end), outside
    brackets, parentheses and backticks; None when it has none."""
    depth, quoted = 0, False
    for index, char in enumerate(line):
        if char == "`":
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ":" and depth == 0 and line[index + 1 : index + 2] in ("", " ", "\t"):
            return line[:index].rstrip(), line[index + 1 :].strip()
    return None


def named_head(text: str, kind: str = "params") -> tuple[str, str | None] | None:
    """``name`` or ``name (type)`` -> (name, type); None when ``text`` is neither (a Methods
    entry's name carries its arguments: ``fit(X, y)``)."""
    if _NAME.fullmatch(text) or (kind == "methods" and _METHOD.fullmatch(text)):
        return text, None
    if text.endswith(")"):
        depth = 0
        for index in range(len(text) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(text[index], 0)
            if depth == 0:
                name, type_name = text[:index].rstrip(), text[index + 1 : -1].strip()
                return (name, type_name) if _NAME.fullmatch(name) and type_name else None
    return None


def hanging(first: str, rest: list[str]) -> tuple[str, ...]:
    """A description written after its head (``x: first`` then indented lines): one block, a
    blank line after the first kept (it parts two paragraphs)."""
    if not first:
        return tuple(dedent(rest))
    lines = trimmed(["x", *rest])[1:]  # trailing blank lines only
    margin = min((indent_of(line) for line in lines if line), default=0)
    return (first, *(line[margin:] for line in lines))


def _title(line: str) -> str | None:
    """The section title ``line`` opens in a Google docstring (``Args:``), else None."""
    match = _GOOGLE_TITLE.fullmatch(line)
    return match.group(1) if match and match.group(1).lower() in TITLES else None


# --------------------------------------------------------------------------- Google


def read_google(text: str) -> Layout:
    """A Google docstring's blocks: sections open at a known title over an indented block."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _title(line) and _opens_block(lines, i)]
    syntax: Counter = Counter()
    blocks: list[Section | Prose] = []
    head_end = starts[0] if starts else len(lines)
    position = head_end
    for start in starts:
        if start < position:
            continue  # inside the previous section's body
        if start > position:
            blocks.append(Prose(tuple(dedent(lines[position:start]))))
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or indent_of(lines[end]) > 0):
            end += 1
        title = _title(lines[start]) or ""
        kind = TITLES[title.lower()]
        body = dedent(lines[start + 1 : end])
        if kind != FREE:
            syntax += words(title)
        blocks.append(_google_section(kind, title, body))
        position = end
    if position < len(lines) and any(line.strip() for line in lines[position:]):
        blocks.append(Prose(tuple(dedent(lines[position:]))))
    return Layout(tuple(dedent(lines[:head_end])), tuple(blocks), syntax)


def _opens_block(lines: list[str], index: int) -> bool:
    """A title is a section only when an indented line follows it (napoleon reads an empty one as text)."""
    for line in lines[index + 1 :]:
        if line.strip():
            return indent_of(line) > 0
    return False


def _google_section(kind: str, title: str, body: list[str]) -> Section:
    if kind == FREE:
        return Section(kind, title, body=tuple(body))
    if kind in ("returns", "yields") and not _starts_named_entry(body[0]):
        return Section(kind, title, (_google_result(body),))
    entries = []
    for head, rest in _heads(body, title):
        parts = split_on_colon(head)
        before, first = parts if parts else (head, "")
        if kind in NAMED_KINDS or kind in ("returns", "yields"):
            named = named_head(before, kind) if parts else None
            if named is None or (kind in ("returns", "yields") and named[1] is None):
                raise Unreadable(f"{title} has a line that is not an entry: {head.strip()!r}")
            entries.append(Entry(named[0], named[1], hanging(first, rest)))
        else:
            if not looks_like_type(before):
                raise Unreadable(f"{title} has a line that is not an entry: {head.strip()!r}")
            entries.append(Entry(None, before, hanging(first, rest)))
    return Section(kind, title, tuple(entries))


def _starts_named_entry(line: str) -> bool:
    parts = split_on_colon(line)
    named = named_head(parts[0]) if parts else None
    return named is not None and named[1] is not None


def _google_result(body: list[str]) -> Entry:
    """A Returns/Yields block: ``type: description`` or the description alone (napoleon's reading)."""
    parts = split_on_colon(body[0])
    if parts and looks_like_type(parts[0]):
        type_name, first = parts
        return Entry(None, type_name, tuple([first, *body[1:]] if first else dedent(body[1:])))
    return Entry(None, None, tuple(body))


def _heads(body: list[str], title: str) -> list[tuple[str, list[str]]]:
    """Entries of a dedented section body: each unindented line and the lines under it."""
    found: list[tuple[str, list[str]]] = []
    for line in body:
        if line and indent_of(line) == 0:
            found.append((line, []))
        elif found:
            found[-1][1].append(line)
        else:
            raise Unreadable(f"{title} opens with an indented line")
    return found


# --------------------------------------------------------------------------- NumPy


def read_numpy(text: str) -> Layout:
    """A NumPy docstring's blocks: sections open at a title over its underline and run to the next."""
    lines = text.split("\n")
    # A title numpydoc does not know must follow a blank line: under a doctest, "name" over
    # "----" is the table it prints, not a section.
    starts = [
        i for i in range(len(lines) - 1)
        if lines[i].strip() and indent_of(lines[i]) == 0 and _UNDERLINE.fullmatch(lines[i + 1])
        and (lines[i].strip().lower() in TITLES or i == 0 or not lines[i - 1].strip())
    ]
    syntax: Counter = Counter()
    blocks: list[Section | Prose] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        title = lines[start].strip()
        kind = TITLES.get(title.lower(), FREE)
        body = trimmed(lines[start + 2 : end])
        if kind == FREE:
            # napoleon dedents a section's body: "Notes" over an indented paragraph is that paragraph.
            blocks.append(Section(kind, title, body=tuple(dedent(body))))
            continue
        syntax += words(title)
        # A directive at the margin (".. versionadded::") ends the entries: numpydoc has no
        # entry that starts with "..", and the line belongs to the docstring, not to an entry.
        cut = next((i for i, line in enumerate(body) if line.startswith(".. ")), len(body))
        blocks.append(Section(kind, title, tuple(_numpy_entry(kind, title, h, r) for h, r in _heads(body[:cut], title))))
        if cut < len(body):
            blocks.append(Prose(tuple(dedent(body[cut:]))))
    head_end = starts[0] if starts else len(lines)
    return Layout(tuple(dedent(lines[:head_end])), tuple(blocks), syntax)


def _numpy_entry(kind: str, title: str, head: str, rest: list[str]) -> Entry:
    description = tuple(dedent(rest))
    name, colon, type_name = head.partition(" : ")
    if not colon and (match := re.fullmatch(r"(\*{0,2}[A-Za-z_]\w*):[ \t]+(\S.*)", head)):
        name, type_name = match.groups()  # "x: int", a common slip numpydoc reads as a name
    elif not colon:
        name, type_name = head, ""
    name, type_name = name.strip(), type_name.strip() or None
    if kind in NAMED_KINDS:
        if not (_NAME.fullmatch(name) or (kind == "methods" and _METHOD.fullmatch(name))):
            raise Unreadable(f"{title} has a line that is not an entry: {head.strip()!r}")
        return Entry(name, type_name, description)
    if colon or type_name:
        if not _NAME.fullmatch(name):
            raise Unreadable(f"{title} has a line that is not an entry: {head.strip()!r}")
        return Entry(name, type_name, description)
    if looks_like_type(name):
        return Entry(None, name, description)
    if kind in ("raises", "warns"):
        raise Unreadable(f"{title} has a line that is not an exception: {head.strip()!r}")
    # "Returns\n-------\nThe number of rows." -- a description where numpydoc wants a type.
    return Entry(None, None, (name, *description))


def trimmed(lines: list[str]) -> list[str]:
    """Lines as written, without trailing spaces and without blank lines at both ends."""
    lines = [line.rstrip() for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


__all__ = [
    "FREE", "NAMED_KINDS", "SPHINX_FIELDS", "TITLES", "TYPED_KINDS", "Entry", "Layout", "Prose", "Section",
    "Unreadable", "dedent", "hanging", "indent_of", "looks_like_type", "named_head", "read_google", "read_numpy",
    "split_on_colon", "trimmed", "words",
]
