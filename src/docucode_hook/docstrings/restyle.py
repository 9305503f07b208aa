"""Rewrite a docstring from one style into another without losing or changing a word, or not at all.

The docstring is cut into blocks as its own style reads it (``blocks.read_layout``), written in
the target style, and read back as the target style reads it. The result is used only when:

- it reads back as the same blocks: the head, each entry's name, type and description, each
  free section's title and body, each paragraph between sections, in the same order (a
  section the target style has no title for may come back as text, as napoleon would show it);
- its words (outside the section titles and field keywords that each style spells its own way)
  are the same words, as many times, as the original's;
- it reads as the target style only, so that a second run leaves it alone.

Otherwise the docstring stays as it is and ``Restyled.reason`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from docucode_hook.code.records import Style
from docucode_hook.docstrings.blocks import (
    FREE,
    NAMED_KINDS,
    TITLES,
    Entry,
    Layout,
    Prose,
    Section,
    Unreadable,
    indent_of,
    read_google,
    read_numpy,
    words,
)
from docucode_hook.docstrings.field_lists import read_sphinx
from docucode_hook.docstrings.styles import section_styles

INDENT = "    "
# The title each style gives an entry section.
GOOGLE_TITLES = {
    "params": "Args", "other_params": "Other Parameters", "kwargs": "Keyword Args", "attributes": "Attributes",
    "methods": "Methods", "receives": "Receives", "returns": "Returns", "yields": "Yields", "raises": "Raises",
    "warns": "Warns",
}
NUMPY_TITLES = {**GOOGLE_TITLES, "params": "Parameters", "kwargs": "Keyword Arguments"}
# Sphinx field keywords for an entry's text and its type, per section.
SPHINX_KEYS = {
    "params": ("param", "type"), "kwargs": ("keyword", "kwtype"), "attributes": ("ivar", "vartype"),
    "returns": ("returns", "rtype"), "yields": ("yields", "ytype"),
}


READERS = {Style.GOOGLE: read_google, Style.NUMPY: read_numpy, Style.SPHINX: read_sphinx}


def read_layout(text: str, style: Style) -> Layout:
    """``text`` (a cleaned docstring) cut into blocks as ``style`` reads it; Unreadable when it cannot be."""
    return READERS[style](text)


class Unconvertible(Exception):
    """The target style has no place for some part of the docstring; str(e) says which."""


@dataclass(frozen=True)
class Restyled:
    """The docstring in the target style, or None and the reason it is left as it is."""

    text: str | None
    reason: str | None = None


def restyle(text: str, source: Style, target: Style) -> Restyled:
    """``text`` (a cleaned docstring in ``source`` style) written in ``target`` style, losing nothing."""
    try:
        layout = read_layout(text, source)
        new = render_layout(layout, target)
    except (Unreadable, Unconvertible) as exc:
        return Restyled(None, str(exc))
    try:
        back = read_layout(new, target)
    except Unreadable as exc:  # text of the original that the target style reads as its own syntax
        return Restyled(None, f"in {target.value} style {exc}")
    if (difference := _first_difference(_comparable(layout, target), _comparable(back, target))) is not None:
        return Restyled(None, f"{difference} would read back differently in {target.value} style")
    before, after = words(text) - layout.syntax, words(new) - back.syntax
    if before != after:
        lost, added = sorted((before - after).elements()), sorted((after - before).elements())
        change = "; ".join(part for part in (_listed("lose", lost), _listed("add", added)) if part)
        return Restyled(None, f"it would {change}")
    if (styles := section_styles(new)) - {target}:
        other = ", ".join(sorted(style.value for style in styles - {target}))
        return Restyled(None, f"the result would still read as {other} style")
    return Restyled(new)


def _listed(verb: str, found: list[str]) -> str:
    if not found:
        return ""
    shown = ", ".join(repr(word) for word in found[:5])
    return f"{verb} {shown}" + (f" and {len(found) - 5} more" if len(found) > 5 else "")


def render_layout(layout: Layout, style: Style) -> str:
    """The blocks written in ``style``: head, then each block after one blank line.

    Raises Unconvertible for a part ``style`` has no place for.
    """
    out = list(layout.head)
    previous: Section | Prose | None = None
    for block in layout.blocks:
        together = style is Style.SPHINX and _is_entries(previous) and _is_entries(block)
        if out and not together:
            out.append("")  # fields of one Sphinx field list stay together
        if isinstance(block, Prose):
            _check_prose_place(previous, block, style)
            out += block.lines
        elif style is Style.GOOGLE:
            out += _google_section(block)
        elif style is Style.NUMPY:
            out += _numpy_section(block)
        else:
            out += _sphinx_section(block)
        previous = block
    return "\n".join(out)


def _is_entries(block: Section | Prose | None) -> bool:
    return isinstance(block, Section) and block.kind != FREE


def _check_prose_place(previous: Section | Prose | None, prose: Prose, style: Style) -> None:
    """Text after a section has a place of its own only where the style ends the section before it."""
    if not isinstance(previous, Section) or style is Style.GOOGLE:
        return  # Google: a section ends at the first line back at the margin
    if previous.kind == FREE:
        raise Unconvertible(f"the text after {previous.title} would join that section in {style.value} style")
    if style is Style.NUMPY and not prose.lines[0].startswith(".. "):
        # numpydoc reads every line up to the next title as the section's; a directive is the one
        # line the NumPy reader ends the entries at.
        raise Unconvertible(f"the text after {NUMPY_TITLES[previous.kind]} would be read as its entries "
                            f"in {style.value} style")
    # Sphinx: a field list ends at the first line at the margin that is not a field.


def _indented(lines: tuple[str, ...] | list[str], depth: int = 1) -> list[str]:
    return [INDENT * depth + line if line else "" for line in lines]


def _hanging(entry: Entry) -> list[str]:
    """``head: first line`` and the rest indented under it, as Google entries and Sphinx fields are
    written; a description whose later lines stand deeper than its first starts on the next line
    instead (napoleon and docutils dedent the lines under a head together, the first one included)."""
    first, *rest = entry.description or ("",)
    if min((indent_of(line) for line in rest if line), default=0) > 0:
        return ["", *_indented(entry.description)]
    return [first, *_indented(rest)]


# --------------------------------------------------------------------------- Google


def _google_section(section: Section) -> list[str]:
    if section.kind == FREE:
        return [f"{section.title}:", *_indented(section.body)]
    entries = section.entries
    lines = [f"{GOOGLE_TITLES[section.kind]}:"]
    if section.kind in ("returns", "yields"):
        if len(entries) > 1:
            raise Unconvertible(f"{len(entries)} {GOOGLE_TITLES[section.kind]} entries: google style has one")
        if entries[0].name:
            # napoleon and pydoclint would read "out (ndarray)" as the type.
            raise Unconvertible(f"{GOOGLE_TITLES[section.kind]} has the name {entries[0].name}: "
                                "a google result has none")
        return lines + _indented(_google_result(entries[0]))
    for entry in entries:
        if section.kind in NAMED_KINDS or entry.name:
            head = f"{entry.name} ({entry.type})" if entry.type else f"{entry.name}"
        elif entry.type is None:
            raise Unconvertible(f"a {GOOGLE_TITLES[section.kind]} entry names no exception")
        else:
            head = entry.type
        first, *rest = _hanging(entry)
        lines += _indented([f"{head}: {first}".rstrip(), *rest])
    return lines


def _google_result(entry: Entry) -> list[str]:
    """A Returns/Yields block: ``type: description``; its lines stay where they are (napoleon reads one block)."""
    description = list(entry.description)
    if entry.type is None:
        return description
    if not description:
        return [f"{entry.type}:"]
    return [f"{entry.type}: {description[0]}", *description[1:]]


# --------------------------------------------------------------------------- NumPy


def _numpy_section(section: Section) -> list[str]:
    title = section.title if section.kind == FREE else NUMPY_TITLES[section.kind]
    lines = [title, "-" * len(title)]
    if section.kind == FREE:
        return lines + list(section.body)
    for entry in section.entries:
        description = list(entry.description)
        if entry.name:
            head = f"{entry.name} : {entry.type}" if entry.type else entry.name
        elif entry.type:
            head = entry.type
        else:  # a result without a type: its first line stands where the type would
            head, description = description[0], description[1:]
        lines += [head, *_indented(description)]
    return lines


# --------------------------------------------------------------------------- Sphinx


def _sphinx_section(section: Section) -> list[str]:
    if section.kind == FREE:
        return [f".. rubric:: {section.title}", "", *section.body]
    if section.kind == "raises":
        lines = []
        for entry in section.entries:
            if not entry.type:
                raise Unconvertible("a Raises entry names no exception")
            first, *rest = _hanging(entry)
            lines += [f":raises {entry.type}: {first}".rstrip(), *rest]
        return lines
    if section.kind not in SPHINX_KEYS:
        raise Unconvertible(f"{NUMPY_TITLES[section.kind]} has no Sphinx field")
    key, type_key = SPHINX_KEYS[section.kind]
    if section.kind in ("returns", "yields"):
        if len(section.entries) > 1 or section.entries[0].name:
            what = "several entries" if len(section.entries) > 1 else f"the name {section.entries[0].name}"
            raise Unconvertible(f"{NUMPY_TITLES[section.kind]} has {what}: Sphinx's :{key}: field has none")
        entry = section.entries[0]
        first, *rest = _hanging(entry)
        lines = [f":{key}: {first}".rstrip(), *rest] if entry.description else []
        return lines + ([f":{type_key}: {entry.type}"] if entry.type else [])
    lines = []
    for entry in section.entries:
        if "," in (entry.name or ""):
            raise Unconvertible(f"the entry {entry.name} names several parameters: a Sphinx field names one")
        first, *rest = _hanging(entry)
        lines += [f":{key} {entry.name}: {first}".rstrip(), *rest]
        lines += [f":{type_key} {entry.name}: {entry.type}"] if entry.type else []
    return lines


# --------------------------------------------------------------------------- comparison


def _comparable(layout: Layout, target: Style) -> list[tuple]:
    """The blocks as the reader of ``target`` sees their meaning: entry sections by kind (their
    titles are each style's own), free sections by title and body, text merged where it meets.

    In Google style a section napoleon does not know is text (its title line and indented body).
    """
    merged: list[tuple] = [("text", tuple(layout.head))]
    for block in layout.blocks:
        if isinstance(block, Section) and block.kind == FREE and target is Style.GOOGLE \
                and block.title.lower() not in TITLES:
            block = Prose((f"{block.title}:", *_indented(block.body)))
        if isinstance(block, Prose):
            kept = merged[-1][1]
            if merged[-1][0] == "text":
                merged[-1] = ("text", (*kept, "", *block.lines) if kept else block.lines)
                continue
            merged.append(("text", block.lines))
            continue
        if block.kind == FREE:
            merged.append(("free", block.title, block.body))
        else:
            merged.append(("entries", block.kind, block.entries))
    return merged


def _first_difference(before: list[tuple], after: list[tuple]) -> str | None:
    for old, new in zip(before, after):
        if old != new:
            return _named_block(old)
    if len(before) != len(after):
        return _named_block((before + after)[min(len(before), len(after))])
    return None


def _named_block(block: tuple) -> str:
    if block[0] == "text":
        return "the text"
    if block[0] == "free":
        return f"the {block[1]} section"
    return f"the {NUMPY_TITLES[block[1]]} section"


__all__ = ["READERS", "Restyled", "Unconvertible", "read_layout", "render_layout", "restyle"]
