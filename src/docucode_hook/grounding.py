"""Make a backend's docstring text agree with the code: parameters, returns, yields, raises."""

from __future__ import annotations

import ast
import inspect
import re

from docstring_parser import Docstring, DocstringStyle, ParseError, parse
from docstring_parser.common import DocstringMeta, DocstringParam, DocstringRaises, DocstringReturns
from docstring_parser.google import GoogleParser
from docstring_parser.numpydoc import NumpydocParser

from docucode_hook.backends import Generation
from docucode_hook.backends.template import (
    describe_exception,
    describe_parameter,
    describe_return,
    documented_name,
    summarise,
    words,
)
from docucode_hook.context import FunctionContext, Style
from docucode_hook.render import render_docstring, render_epydoc_fields

_DETECTED = {DocstringStyle.GOOGLE: Style.GOOGLE, DocstringStyle.NUMPYDOC: Style.NUMPY, DocstringStyle.REST: Style.SPHINX}
_GENERATOR_TYPES = ("Iterator", "Iterable", "Generator", "AsyncIterator", "AsyncIterable", "AsyncGenerator")
_NO_VALUE = frozenset({"None", "NoReturn", "Never"})
_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)
_WRAPPING_QUOTES = re.compile(r'^[rRuUbB]?("""|\'\'\')(.*?)(?:\1)?$', re.DOTALL)
# Section headers or fields left in the prose mean the parse misread the text; drop that prose.
_SECTION_LEFTOVER = re.compile(
    r"^\s*(?:(?:Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?)\s*:?\s*$"
    r"|:(?:param|type|returns?|rtype|raises?|yields?)\b|-{3,}\s*$)",
    re.MULTILINE | re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FILLER = frozenset("a an the this that function method class module it".split())
MAX_LONG_DESCRIPTION = 1500


def ground_docstring(raw: str | None, ctx: FunctionContext, style: Style) -> Docstring:
    """Parse whatever the backend wrote and rebuild it so that every section agrees with ``ctx``.

    ``style`` is the style the result will be rendered in; the text itself may be in any style.
    """
    parsed = _parse(_unwrap(raw or ""))
    doc = Docstring()
    doc.short_description = _clean_summary(parsed.short_description, ctx)
    if ctx.kind == "module":
        return doc
    doc.long_description = _clean_long(parsed.long_description, doc.short_description)
    doc.meta = [*_params(parsed, ctx, keep=False), *_results(parsed, ctx, keep=False), *_raises(parsed, ctx, keep=False)]
    return doc


def grounded_text(raw: str | None, ctx: FunctionContext, style: Style, *, generation: Generation | None = None) -> str:
    """The grounded docstring rendered in ``style``: text without quotes or indentation.

    ``generation`` is the backend's output that ``raw`` comes from, with the model's token
    log-probabilities where it has them (not used yet).
    """
    return render_docstring(ground_docstring(raw, ctx, style), style)


def refresh_sections(existing: str, ctx: FunctionContext, style: Style) -> str:
    """Rewrite the sections of a stale docstring that disagree with the code; keep the rest verbatim.

    Only the sections the finder checks are ever rewritten (parameters, returns, yields,
    raises), and only those that disagree with the code: a removed parameter, a missing one,
    an undocumented exception. Everything else (summary, prose, examples, notes, "See
    Also", sections that still agree) keeps the author's exact text, so a second pass reads
    the same docstring and changes nothing. The docstring is read the way the finder reads
    it; new sections are written in the style it was read in, else in ``style``.
    """
    from docucode_hook.finder import _parse_docstring, documented_raises

    text = inspect.cleandoc(existing)
    if ctx.kind == "module":  # the finder never calls a module docstring stale
        return text or summarise(ctx)
    parsed = _parse_docstring(text, style) or Docstring()
    checked = [meta for meta in parsed.params if meta.args[0] in ("param", "other_param")]
    checked += [*parsed.many_returns, *documented_raises(parsed)]
    # Sections are written in the docstring's own style, epydoc's ``@param`` fields included: in
    # another style they would be a second set of fields, and the next pass would read only one
    # of the two sets (Cython's epydoc docstrings). Prose lines that only some other parser reads
    # as fields (":attr:" read as Sphinx) get the configured style.
    epydoc = bool(checked) and parsed.style is DocstringStyle.EPYDOC
    own = _DETECTED.get(parsed.style) if checked else None
    sections = _Sections(text, own or style, ctx, epydoc=epydoc)
    for kind, metas in _stale_kinds(parsed, ctx).items():
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


def _stale_kinds(parsed: Docstring, ctx: FunctionContext) -> dict[str, list[DocstringMeta]]:
    """The new entries of each kind of section that the finder would call stale; others are absent.

    Mirrors the finder's rules (``finder._stale_problems``): a section that passes them is
    kept as the author wrote it.
    """
    from docucode_hook.finder import _documented_names, documented_raises

    kinds: dict[str, list[DocstringMeta]] = {}
    documented = _documented_names(parsed)
    expected = [param.name for param in ctx.parameters]
    lenient = (ctx.kind == "class" or ctx.name == "__init__") and not documented
    if not lenient and (set(expected) - set(documented) or set(documented) - set(expected)):
        kinds["params"] = list(_params(_with_other_params(parsed), ctx, keep=True))
    if ctx.kind != "function":
        return kinds
    has_returns = any(not meta.is_generator for meta in parsed.many_returns)
    has_yields = any(meta.is_generator for meta in parsed.many_returns)
    stub, property_ = _stub_or_property(ctx)
    if has_returns and not (ctx.returns_value or ctx.is_generator or stub or _promises_value(ctx)):
        kinds["returns"] = []
    elif not has_returns and ctx.returns_value and not ctx.is_generator and not property_:
        kinds["returns"] = [DocstringReturns(["returns"], *_result_parts(parsed, ctx, False), False)]
    if has_yields and not ctx.is_generator and not stub:
        kinds["yields"] = []
    elif not has_yields and ctx.is_generator:
        kinds["yields"] = [DocstringReturns(["yields"], *_result_parts(parsed, ctx, True), True)]
        if has_returns and not ctx.returns_value:
            # "Returns: an iterator over ..." on a generator: that text becomes its Yields, in its place.
            kinds["returns"] = []
    documented = {_short(meta.type_name) for meta in documented_raises(parsed) if meta.type_name}
    raised = {_short(name) for name in ctx.raises}
    if raised - documented or (raised and documented - raised):
        kinds["raises"] = list(_raises(parsed, ctx, keep=True))
    return kinds


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1].strip()


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
    found = next((meta for meta in parsed.many_returns if _return_description(meta)), None)
    annotation = _one_line(ctx.returns_annotation)
    type_name = _yield_type(annotation) if generator else annotation
    return (_return_description(found) if found else None) or describe_return(ctx), type_name


def _stub_or_property(ctx: FunctionContext) -> tuple[bool, bool]:
    """(stub, property) by the finder's own rules, applied to the definition's code.

    A stub (abstract, or a body of only ``...``, ``pass``, a string, ``raise
    NotImplementedError``) may document Returns and Yields; a property need not.
    """
    from docucode_hook import finder

    try:
        node = ast.parse(ctx.code).body[0]
    except (SyntaxError, ValueError, IndexError):
        return False, False
    decorators = finder._decorator_names(node)
    abstract = any(name in ("abstractmethod", "abc.abstractmethod") for name in decorators)
    return abstract or finder._is_stub(node), any(name in finder._PROPERTY_DECORATORS for name in decorators)


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


def _unwrap(raw: str) -> str:
    """Strip what models wrap around a docstring: code fences, the quotes themselves, indentation."""
    text = _FENCE.sub("", raw).strip()
    if match := _WRAPPING_QUOTES.match(text):
        text = match.group(2)
    return inspect.cleandoc(text.replace('"""', "").replace("'''", ""))


def _parse(text: str) -> Docstring:
    # The parsers read a leading section header as the summary; give them one to skip.
    headless = bool(_SECTION_LEFTOVER.match(text))
    try:
        parsed = parse(f"Summary.\n\n{text}" if headless else text)
    except (ParseError, ValueError, IndexError):
        # No style could read it: keep the prose, which may still hold a usable summary.
        parsed = Docstring()
        lines = text.strip().splitlines()
        parsed.short_description = lines[0] if lines and not headless else None
        return parsed
    if headless:
        parsed.short_description = None
    return parsed


def _clean_summary(text: str | None, ctx: FunctionContext) -> str:
    """The first sentence, tidied; the template summary when it is empty or just the name."""
    line = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    line = line.strip("\"' \t#*-:")
    if line.count("`") % 2:
        line = line.replace("`", "")
    if sentence := re.match(r"(.+?[.!?])(?:\s|$)", line):
        line = sentence.group(1)
    line = line.rstrip(".!?,;: ")
    # A sentence that repeats itself ("Flip the image to flip the image to flip the image") is
    # a small model's loop: the template's plainer summary is better than that.
    if not _says_more_than_name(line, ctx.name) or repeats_itself(line):
        return summarise(ctx)
    return f"{line[0].upper()}{line[1:]}."


def repeats_itself(text: str, n: int = 3) -> bool:
    """True when some word n-gram occurs twice (case-insensitive)."""
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) < len(grams)


def _says_more_than_name(text: str, name: str) -> bool:
    said = {word for token in re.findall(r"\w+", text) for word in words(token)} - _FILLER
    return bool(said - set(words(name)) - _FILLER)


def _clean_long(text: str | None, summary: str) -> str | None:
    text = (text or "").strip()
    if not text or text.rstrip(".") == summary.rstrip("."):
        return None
    if _SECTION_LEFTOVER.search(text) or _CONTROL.search(text) or len(text) > MAX_LONG_DESCRIPTION:
        return None
    return text


def _clean_sentence(text: str | None) -> str | None:
    """One tidy sentence-cased line, or None when nothing usable is left."""
    line = " ".join((text or "").split()).strip("\"'` ")
    if not re.search(r"[^\W_]", line) or _CONTROL.search(line):
        return None
    line = line.rstrip(",;: ")
    return f"{line[0].upper()}{line[1:]}" + ("" if line.endswith((".", "!", "?")) else ".")


def _bare_names(arg_name: str | None) -> list[str]:
    """``"*args"``, ``"\\*\\*kw"``, ``"x (int)"`` and NumPy's ``"x, y"`` to plain names."""
    names = []
    for part in (arg_name or "").split(","):
        name = part.replace("\\", "").strip().lstrip("*").split(" ", 1)[0].split("(", 1)[0]
        if name:
            names.append(name)
    return names


def _params(parsed: Docstring, ctx: FunctionContext, keep: bool) -> list[DocstringParam]:
    given: dict[str, DocstringParam] = {}
    for meta in parsed.params:
        if meta.args[0] != "param":
            continue
        arg_name, type_name, text = _split_google_type_colon(meta, parsed.style)
        description = (text or "").strip() if keep else _clean_sentence(text)
        for name in _bare_names(arg_name):
            if description and name not in given:
                given[name] = DocstringParam(meta.args, description, name, type_name, None, None)
    params = []
    for param in ctx.parameters:
        found = given.get(param.name)
        description = found.description if found else describe_parameter(param)
        # A type the author wrote is kept where the code has none; a model's guess is not.
        type_name = _one_line(param.annotation) or (found.type_name if keep and found else None)
        name = documented_name(param)
        params.append(DocstringParam(["param", name], description, name, type_name, None, None))
    return params


def _split_google_type_colon(meta: DocstringParam, style: DocstringStyle | None) -> tuple[str, str | None, str | None]:
    """(name, type, description); mends a Google entry whose type holds a colon.

    docstring_parser splits ``data (:term:`bytes`): text`` at the first colon, which leaves
    the name ``data (`` and the rest of the type in the description.
    """
    name, description = meta.arg_name or "", meta.description
    if style is DocstringStyle.GOOGLE and "(" in name and ")" not in name:
        mended = re.match(r"\s*([^\s(]+)\s*\((.*?)\)\s*:[ \t]*(.*)", f"{name}:{description or ''}", re.DOTALL)
        if mended:
            return mended.group(1), mended.group(2).strip() or None, mended.group(3)
    return name, meta.type_name, description


def _results(parsed: Docstring, ctx: FunctionContext, keep: bool) -> list[DocstringReturns]:
    if ctx.kind != "function" or not (ctx.is_generator or ctx.returns_value or _promises_value(ctx)):
        return []
    given = sorted(parsed.many_returns, key=lambda meta: meta.is_generator != ctx.is_generator)
    found = next((meta for meta in given if _return_description(meta)), None)
    description = _return_description(found) if found else None
    if not keep:
        description = _clean_sentence(description)
    annotation = _one_line(ctx.returns_annotation)
    type_name = _yield_type(annotation) if ctx.is_generator else annotation
    if not type_name and keep and found and found.is_generator == ctx.is_generator and found.description:
        type_name = found.type_name
    kind = "yields" if ctx.is_generator else "returns"
    return [DocstringReturns([kind], description or describe_return(ctx), type_name, ctx.is_generator)]


def _promises_value(ctx: FunctionContext) -> bool:
    """An annotation that promises a value: stubs (``...``, abstract methods) return one by contract."""
    annotation = _one_line(ctx.returns_annotation)
    return annotation is not None and annotation.strip("'\"").rsplit(".", 1)[-1] not in _NO_VALUE


def _return_description(meta: DocstringReturns) -> str | None:
    """Its description; an untyped NumPy entry parses as a type that is really prose."""
    if meta.description and meta.description.strip():
        return meta.description.strip()
    if meta.type_name and len(meta.type_name.split()) > 2 and "[" not in meta.type_name:
        return meta.type_name.strip()
    return None


def _yield_type(annotation: str | None) -> str | None:
    """``Iterator[int]`` / ``Generator[int, None, None]`` -> ``int``; None when not such a type."""
    if not annotation or "[" not in annotation or not annotation.endswith("]"):
        return None
    outer, inner = annotation.split("[", 1)
    if outer.rsplit(".", 1)[-1].strip() not in _GENERATOR_TYPES:
        return None
    depth, first = 0, inner[:-1]
    for index, char in enumerate(first):
        depth += {"[": 1, "(": 1, "]": -1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            first = first[:index]
            break
    return first.strip() or None


def _raises(parsed: Docstring, ctx: FunctionContext, keep: bool) -> list[DocstringRaises]:
    from docucode_hook.finder import documented_raises

    given: dict[str, str] = {}
    for meta in documented_raises(parsed):
        description = (meta.description or "").strip() if keep else _clean_sentence(meta.description)
        if meta.type_name and description:
            given.setdefault(meta.type_name.rsplit(".", 1)[-1].strip(), description)
    raises = []
    for name in dict.fromkeys(ctx.raises):
        description = given.get(name.rsplit(".", 1)[-1]) or describe_exception(name)
        raises.append(DocstringRaises(["raises", name], description, name))
    return raises


def _is_other_section(meta: DocstringMeta) -> bool:
    if isinstance(meta, DocstringParam):
        return meta.args[0] != "param"
    return not isinstance(meta, (DocstringReturns, DocstringRaises)) and meta.args[0] not in ("type", "rtype", "ytype")


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if text and text.strip() else None


__all__ = ["ground_docstring", "grounded_text", "refresh_sections"]
