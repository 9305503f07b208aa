"""Refresh a stale docstring: rewrite exactly the sections ``stale_sections`` names, keep the rest verbatim."""

from __future__ import annotations

import inspect

from docstring_parser import Docstring, DocstringStyle
from docstring_parser.common import DocstringMeta, DocstringParam, DocstringReturns
from docstring_parser.google import GoogleParser
from docstring_parser.numpydoc import NumpydocParser

from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.docstrings.sections import DefinitionShape, documented_raises, read_sections, stale_sections
from docucode_hook.precision.grounding import grounded_params, grounded_raises, return_description
from docucode_hook.docstrings.phrasing import annotation_text, describe_return, one_line, summarise
from docucode_hook.docstrings.render import render_docstring, render_epydoc_fields
from docucode_hook.code.syntax import yield_type

_DETECTED = {DocstringStyle.GOOGLE: Style.GOOGLE, DocstringStyle.NUMPYDOC: Style.NUMPY, DocstringStyle.REST: Style.SPHINX}


def refresh_sections(existing: str, ctx: FunctionContext, style: Style) -> str:
    """Rewrite the sections of a stale docstring that disagree with the code; keep the rest verbatim.

    The sections rewritten are exactly those ``stale_sections`` names (the rule ``--check``
    reports): a removed parameter, a missing one, an undocumented exception. Everything else
    (summary, prose, examples, notes, "See Also", sections that still agree) keeps the
    author's exact text, so a second pass reads the same docstring and changes nothing. The
    docstring is read as the check reads it; new sections are written in the style it was
    read in, else in ``style``.
    """
    text = inspect.cleandoc(existing)
    if ctx.kind == "module":  # the check never calls a module docstring stale
        return text or summarise(ctx)
    parsed = read_sections(text, style) or Docstring()
    checked = [meta for meta in parsed.params if meta.args[0] in ("param", "other_param")]
    checked += [*parsed.many_returns, *documented_raises(parsed)]
    # Sections are written in the docstring's own style, epydoc's ``@param`` fields included: in
    # another style they would be a second set of fields, and the next pass would read only one
    # of the two sets (Cython's epydoc docstrings). Prose lines that only some other parser reads
    # as fields (":attr:" read as Sphinx) get the configured style.
    epydoc = bool(checked) and parsed.style is DocstringStyle.EPYDOC
    own = _DETECTED.get(parsed.style) if checked else None
    sections = _Sections(text, own or style, ctx, epydoc=epydoc)
    for kind, metas in _new_sections(parsed, ctx).items():
        sections.replace(kind, metas)
    return sections.text()


# The sections refresh may rewrite, in the order new ones are placed; keyed by what the parsers call them.
_KINDS = ("params", "returns", "yields", "raises")
_SECTION_KINDS = {
    "param": "params", "other_param": "params", "returns": "returns", "yields": "yields", "raises": "raises",
}
_GOOGLE, _NUMPY = GoogleParser(), NumpydocParser()
_REST_KINDS = {
    "param": "params", "parameter": "params", "arg": "params", "argument": "params", "type": "params",
    "returns": "returns", "return": "returns", "rtype": "returns",
    "yields": "yields", "yield": "yields", "ytype": "yields",
    "raises": "raises", "raise": "raises", "except": "raises", "exception": "raises",
}
# docstring_parser.epydoc: "@type x:" belongs to "@param x:"; "@return:" and "@yield:" share one entry.
_EPYDOC_KINDS = {
    "param": "params", "type": "params", "return": "returns", "rtype": "returns",
    "yield": "yields", "ytype": "yields", "raise": "raises",
}


def _new_sections(parsed: Docstring, ctx: FunctionContext) -> dict[str, list[DocstringMeta]]:
    """The new entries of each section ``stale_sections`` names (an empty list removes the section)."""
    new: dict[str, list[DocstringMeta]] = {}
    has_returns = any(not meta.is_generator for meta in parsed.many_returns)
    for kind in stale_sections(parsed, DefinitionShape.of(ctx)):
        if kind == "params":
            new["params"] = list(grounded_params(_with_other_params(parsed), ctx, keep=True))
        elif kind == "returns":
            added = not has_returns  # else it documents a value the function does not return
            new["returns"] = [DocstringReturns(["returns"], *_result_parts(parsed, ctx, False), False)] if added else []
        elif kind == "yields" and not ctx.is_generator:
            new["yields"] = []
        elif kind == "yields":
            new["yields"] = [DocstringReturns(["yields"], *_result_parts(parsed, ctx, True), True)]
            if has_returns and not ctx.returns_value:
                # "Returns: an iterator over ..." on a generator: that text becomes its Yields, in its place.
                new["returns"] = []
        elif kind == "raises":
            new["raises"] = list(grounded_raises(parsed, ctx, keep=True))
    return new


# NumPy's "Other Parameters" and Sphinx's ":arg x:" are merged into the rewritten parameters.
_MERGED_PARAMS = ("other_param", "parameter", "arg", "argument")


def _with_other_params(parsed: Docstring) -> Docstring:
    """A copy whose "Other Parameters" (and ``:arg x:``) entries count as parameters, their text kept."""
    merged = Docstring(style=parsed.style)
    merged.meta = [
        DocstringParam(["param", *meta.args[1:]], meta.description, meta.arg_name, meta.type_name, None, None)
        if isinstance(meta, DocstringParam) and meta.args[0] in _MERGED_PARAMS else meta
        for meta in parsed.meta
    ]
    return merged


def _result_parts(parsed: Docstring, ctx: FunctionContext, generator: bool) -> tuple[str, str | None]:
    """(description, type) of a new Returns/Yields entry, reusing the author's text of the other one."""
    found = next((meta for meta in parsed.many_returns if return_description(meta)), None)
    annotation = annotation_text(ctx.returns_annotation)
    type_name = yield_type(annotation) if generator else annotation
    return (return_description(found) if found else None) or describe_return(ctx), type_name


class _Sections:
    """A docstring as lines, cut where its parser cuts sections, so that sections can be swapped.

    Google: a title line (``Args:``) and the indented lines after it, as docstring_parser
    reads them. NumPy: a title, its underline, everything up to the next title. Sphinx: a
    ``:field:`` line and its indented continuation. Epydoc (``epydoc=True``, whatever
    ``style``): an ``@field:`` line and everything up to the next one. Lines outside the
    sections that get rewritten are never touched.
    """

    def __init__(self, text: str, style: Style, ctx: FunctionContext, epydoc: bool = False) -> None:
        self.style, self.ctx, self.epydoc = style, ctx, epydoc
        # Field lists (Sphinx, epydoc) have no section titles; this is what opens a field.
        self.marker = "@" if epydoc else ":" if style is Style.SPHINX else None
        self.lines = text.split("\n") if text else []
        self.spans: list[tuple[int, int, str]] = []  # (start, end, kind) in line numbers, end exclusive
        self.edits: dict[int, list[str] | None] = {}  # span index -> new lines (None: removed)
        self.inserts: list[tuple[int, int, list[str]]] = []  # (line, order, lines)
        cut = {Style.GOOGLE: self._cut_google, Style.NUMPY: self._cut_numpy, Style.SPHINX: self._cut_sphinx}[style]
        (self._cut_epydoc if epydoc else cut)()
        # A docstring that opens with a section has no summary: the template's goes first.
        self.has_summary = bool(self.lines) and not (self.spans and self.spans[0][0] == 0)

    def _cut_google(self) -> None:
        for start, line in enumerate(self.lines):
            if title := _GOOGLE.titles_re.fullmatch(line):
                kind = _SECTION_KINDS.get(_GOOGLE.sections[title.group(1)].key, "other")
                self._add(start, self._indented_end(start), kind)

    def _cut_numpy(self) -> None:
        text = "\n".join(self.lines)
        matches = list(_NUMPY.titles_re.finditer(text))
        starts = [text.count("\n", 0, match.start()) for match in matches]
        for index, (start, match) in enumerate(zip(starts, matches)):
            end = starts[index + 1] if index + 1 < len(starts) else len(self.lines)
            title = next(group for group in match.groups() if group is not None)
            self._add(start, end, _SECTION_KINDS.get(_NUMPY.sections[title].key, "other"))

    def _cut_sphinx(self) -> None:
        for start, line in enumerate(self.lines):
            if line.startswith(":"):
                # As docstring_parser.rest reads a field: ":key args: text".
                key = (line.lstrip(":").split(":", 1)[0].split() or [""])[0]
                self._add(start, self._indented_end(start), _REST_KINDS.get(key, "other"))

    def _cut_epydoc(self) -> None:
        # As docstring_parser.epydoc reads a field: from an "@" line to the next one, prose included.
        starts = [index for index, line in enumerate(self.lines) if line.startswith("@")]
        for start, end in zip(starts, [*starts[1:], len(self.lines)]):
            key = (self.lines[start][1:].split(":", 1)[0].split() or [""])[0]
            self._add(start, end, _EPYDOC_KINDS.get(key, "other"))

    def _indented_end(self, start: int) -> int:
        """The end of a block that runs while lines are blank or indented."""
        end = start + 1
        while end < len(self.lines) and (not self.lines[end].strip() or self.lines[end][0].isspace()):
            end += 1
        return end

    def _add(self, start: int, end: int, kind: str) -> None:
        while end > start + 1 and not self.lines[end - 1].strip():
            end -= 1
        self.spans.append((start, end, kind))

    def replace(self, kind: str, metas: list[DocstringMeta]) -> None:
        """Put ``metas`` where the ``kind`` sections are (the first of them), or where such a section belongs."""
        new = self._render(kind, metas)
        mine = [index for index, span in enumerate(self.spans) if span[2] == kind]
        for index in mine:
            self.edits[index] = None
        if mine and new and self.marker is None:
            # Keep the author's title line ("Arguments:", "Parameters" and its underline).
            header = 2 if self.style is Style.NUMPY else 1
            start = self.spans[mine[0]][0]
            self.edits[mine[0]] = self.lines[start : start + header] + new[header:]
        elif mine and new:
            self.edits[mine[0]] = new
        elif new:
            self.inserts.append((self._place(kind), _KINDS.index(kind), new))

    def _place(self, kind: str) -> int:
        """The line a new ``kind`` section goes before: after earlier kinds, before later ones."""
        order = _KINDS.index(kind)
        earlier = [span for span in self.spans if span[2] in _KINDS[:order]]
        if earlier:
            return earlier[-1][1]
        later = [span for span in self.spans if span[2] in _KINDS[order + 1 :]]
        if later:
            return later[0][0]
        if self.spans and self.marker is None:
            return self.spans[0][0]
        if self.spans:
            return self.spans[-1][1]
        return len(self.lines)

    def _render(self, kind: str, metas: list[DocstringMeta]) -> list[str]:
        if not metas:
            return []
        doc = Docstring()
        doc.meta = list(metas)
        text = render_epydoc_fields(doc) if self.epydoc else render_docstring(doc, self.style)
        return [line.rstrip() for line in text.split("\n")]

    def text(self) -> str:
        """The docstring with the edits made: one blank line where a new or rewritten block meets text."""
        out: list[list[str]] = [[line] for line in self.lines]
        for index, (start, end, _) in enumerate(self.spans):
            if index in self.edits:
                new = self.edits[index]
                out[start] = [_CUT] if new is None else [_CUT, *new, _CUT]
                for line in range(start + 1, end):
                    out[line] = []
        out.append([])
        for line, _, new in sorted(self.inserts, key=lambda item: item[:2], reverse=True):
            out[line] = [_CUT, *new, _CUT, *out[line]]
        lines = _close_cuts([line for lines in out for line in lines], self.marker)
        summary = [] if self.has_summary else [summarise(self.ctx), ""] if lines else [summarise(self.ctx)]
        return "\n".join(summary + lines).strip()


_CUT = "\0cut\0"  # marks where a block was put or taken out; no docstring line is this


def _in_field_list(lines: list[str], marker: str) -> bool:
    """Whether the last line belongs to a field that refresh knows (not prose read as one)."""
    kinds = _REST_KINDS if marker == ":" else _EPYDOC_KINDS
    for line in reversed(lines):
        if line.strip() and not line[0].isspace():
            key = (line.lstrip(marker).split(":", 1)[0].split() or [""])[0]
            return line.startswith(marker) and key in kinds
    return False


def _close_cuts(lines: list[str], marker: str | None) -> list[str]:
    """Exactly one blank line where a block was put or taken out (none at either end).

    Only the blank lines touching a cut are merged: the author's own spacing elsewhere is
    kept. ``marker`` (":" Sphinx, "@" epydoc): fields that meet at a cut stay in one list,
    without a blank line.
    """
    out: list[str] = []
    index = 0
    while index < len(lines):
        if lines[index] != _CUT:
            out.append(lines[index])
            index += 1
            continue
        while index < len(lines) and (lines[index] == _CUT or not lines[index].strip()):
            index += 1
        while out and not out[-1].strip():
            out.pop()
        if out and index < len(lines):
            tight = marker is not None and lines[index].startswith(marker) and _in_field_list(out, marker)
            if not tight:
                out.append("")
    return out


__all__ = ["refresh_sections"]
