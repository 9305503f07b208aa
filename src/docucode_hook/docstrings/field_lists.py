"""Sphinx docstrings cut into verbatim blocks: field lists (``:param x:``) and ``.. rubric::`` sections.

A field runs from its ``:key args:`` line through the indented lines under it, as docutils
reads a field list; a ``:type x:`` field (``:rtype:``, ``:vartype x:`` ...) joins the entry it
types, wherever it stands. A ``.. rubric:: Title`` line opens a free section that runs to the
next field or rubric, which is how ``restyle`` writes Notes or Examples in Sphinx style.
Unknown fields (``:meta:``, ``:cvar:``) have no place in the other styles and make the
docstring unreadable for conversion.
"""

from __future__ import annotations

import re
from collections import Counter

from docucode_hook.docstrings.blocks import (
    FREE,
    SPHINX_FIELDS,
    Entry,
    Layout,
    Prose,
    Section,
    Unreadable,
    dedent,
    hanging,
    indent_of,
    trimmed,
    words,
)

_SPHINX_FIELD = re.compile(r":(?P<key>[A-Za-z]+)(?:[ \t]+(?P<args>[^:]*?))?:(?:[ \t]+(?P<rest>.*?))?[ \t]*")
_RUBRIC = re.compile(r"\.\. rubric::[ \t]+(?P<title>\S.*?)[ \t]*")


def read_sphinx(text: str) -> Layout:
    """A Sphinx docstring's blocks: its head, fields grouped into sections, rubrics, text between."""
    lines = text.split("\n")

    def opens(line: str) -> bool:
        return bool(_SPHINX_FIELD.fullmatch(line) or _RUBRIC.fullmatch(line))

    starts = [i for i, line in enumerate(lines) if opens(line)]
    head_end = starts[0] if starts else len(lines)
    syntax: Counter = Counter()
    items: list[tuple[str, object]] = []  # ("field", (key, args, description)), ("free", Section), ("prose", lines)
    position = head_end
    while position < len(lines):
        line = lines[position]
        if rubric := _RUBRIC.fullmatch(line):
            end = position + 1
            while end < len(lines) and not opens(lines[end]):
                end += 1
            syntax["rubric"] += 1
            items.append(("free", Section(FREE, rubric.group("title"), body=tuple(trimmed(lines[position + 1 : end])))))
        elif field_match := _SPHINX_FIELD.fullmatch(line):
            end = position + 1
            while end < len(lines) and (not lines[end].strip() or indent_of(lines[end]) > 0):
                end += 1
            description = hanging(field_match.group("rest") or "", lines[position + 1 : end])
            items.append(("field", (field_match.group("key"), field_match.group("args"), description)))
        else:
            end = position + 1
            while end < len(lines) and not opens(lines[end]):
                end += 1
            if any(text.strip() for text in lines[position:end]):
                items.append(("prose", tuple(dedent(lines[position:end]))))
        position = end
    return Layout(tuple(dedent(lines[:head_end])), tuple(_sphinx_blocks(items, syntax)), syntax)


def _sphinx_blocks(items: list[tuple[str, object]], syntax: Counter) -> list[Section | Prose]:
    """Fields grouped into sections (a run of entries of one kind), each ``:type x:`` joined to its entry."""
    slots: list[dict] = []  # per entry: its section, name, type and description, in the order first met
    named: dict[tuple[str, str], int] = {}
    order: list[object] = []  # slot index | Section | Prose, in the docstring's order
    for kind, value in items:
        if kind != "field":
            order.append(value if kind == "free" else Prose(value))
            continue
        key, args, description = value
        if key not in SPHINX_FIELDS:
            raise Unreadable(f"the field :{key}: has no place in another style")
        section, gives_type = SPHINX_FIELDS[key]
        syntax[key] += 1
        args = (args or "").strip()
        if gives_type and len(description) > 1:
            raise Unreadable(f"the field :{key}: spans lines")
        part = "type" if gives_type else "description"
        text = (description[0] if description else "") if gives_type else description
        if section == "raises":
            if not args:
                raise Unreadable(f"the field :{key}: names no exception")
            slots.append({"section": section, "name": None, "type": args, "description": description})
            order.append(len(slots) - 1)
            continue
        name, slot = None, None
        if section in ("returns", "yields"):
            if args:
                raise Unreadable(f"the field :{key} {args}: names what it returns")
            # A :rtype: joins the last :returns: that has no type yet, and the other way round.
            last = [i for i, found in enumerate(slots) if found["section"] == section]
            slot = last[-1] if last and slots[last[-1]][part] is None else None
        else:
            parts = args.split()
            if not parts or (gives_type and len(parts) > 1):
                raise Unreadable(f"the field :{key} {args}: names no parameter")
            name = parts[-1]
            owner = section
            if gives_type and section == "params" and (section, name) not in named and ("kwargs", name) in named:
                owner = "kwargs"  # ":type x:" for a ":keyword x:"
            slot = named.get((owner, name))
            if slot is not None and (slots[slot][part] is not None or len(parts) > 1):
                raise Unreadable(f"two :{key}: fields for {name}")
            if slot is not None:
                syntax.update(words(name))  # the name stands twice in Sphinx, once in the other styles
            elif len(parts) > 1:  # ":param int x:", the type inline
                slots.append({"section": section, "name": name, "type": " ".join(parts[:-1]), "description": None})
                slot = named[(section, name)] = len(slots) - 1
                order.append(slot)
        if slot is None:
            slots.append({"section": section, "name": name, "type": None, "description": None})
            slot = len(slots) - 1
            if name is not None:
                named[(section, name)] = slot
            order.append(slot)
        slots[slot][part] = text
    return _runs(order, slots)


def _runs(order: list[object], slots: list[dict]) -> list[Section | Prose]:
    """Entries in order, a section for each run of one kind; free sections and prose between them."""
    blocks: list[Section | Prose] = []
    run: list[Entry] = []
    run_kind = ""
    for item in [*order, None]:
        if isinstance(item, int) and (not run or slots[item]["section"] == run_kind):
            slot = slots[item]
            run_kind = slot["section"]
            run.append(Entry(slot["name"], slot["type"] or None, tuple(slot["description"] or ())))
            continue
        if run:
            blocks.append(Section(run_kind, run_kind, tuple(run)))
            run = []
        if isinstance(item, int):
            slot = slots[item]
            run_kind = slot["section"]
            run.append(Entry(slot["name"], slot["type"] or None, tuple(slot["description"] or ())))
        elif item is not None:
            blocks.append(item)
    return blocks


__all__ = ["read_sphinx"]
