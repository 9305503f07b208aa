"""Make a backend's docstring text agree with the code: first the sections, then the prose.

Sections: parameters, returns, yields and raises are exactly those of the code. Prose: no
example ever comes from a model (``truth.strip_examples``); the summary's wording fits the
kind of function, names in backticks exist, no word 3-gram repeats inside a part, a
parameter's description neither swallows the next entry nor restates the name
(``truth.check_*``); where the model's own token log-probabilities say it is unsure, the
part gives way (``confidence.decide``). A part that fails is dropped (the extended
description) or replaced with text derived from the code (``derive``), or with a ``TODO:``
marker under ``placeholders = "todo"``. Each part's origin, and why, is kept for ``--explain``.
Every line is wrapped to the configured width at the body's indentation. The prose rules
themselves live in ``prose``; this module parses the text and rebuilds the sections.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from docstring_parser import Docstring, DocstringStyle, ParseError, parse
from docstring_parser.common import DocstringParam, DocstringRaises, DocstringReturns

from docucode_hook.backends import Generation
from docucode_hook.precision.confidence import PartScore, Thresholds, decide, score_parts
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.docstrings.sections import documented_raises, short_name
from docucode_hook.code.facts import prose_facts
from docucode_hook.docstrings.phrasing import (
    annotation_text,
    describe_exception,
    describe_parameter,
    describe_return,
    documented_name,
    one_line,
    shown_default,
)
from docucode_hook.precision.prose import DROPPED, SECTION_LEFTOVER, GroundingOptions, PartOrigin, Prose, clean_sentence
from docucode_hook.docstrings.render import render_docstring
from docucode_hook.code.syntax import promises_value, yield_type
from docucode_hook.precision.truth import strip_examples

_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)
_WRAPPING_QUOTES = re.compile(r'^[rRuUbB]?("""|\'\'\')(.*?)(?:\1)?$', re.DOTALL)


@dataclass(frozen=True)
class Grounded:
    doc: Docstring
    text: str  # rendered in the style, wrapped: no quotes, no indentation
    parts: tuple[PartOrigin, ...]
    scores: dict[str, PartScore]  # what the gates read, per part; empty without log-probabilities


def ground(
    raw: str | None,
    ctx: FunctionContext,
    style: Style,
    *,
    generation: Generation | None = None,
    options: GroundingOptions | None = None,
) -> Grounded:
    """Parse whatever the backend wrote and rebuild it so that the sections and the prose agree with ``ctx``.

    ``style`` is the style the result is rendered in; the text itself may be in any style.
    ``generation`` carries the model's token log-probabilities (offsets into its ``text``):
    with them, parts the model was unsure of give way to derived text.
    """
    options = options or GroundingOptions()
    scores = _scores(generation, ctx, options.thresholds)
    prose = Prose(ctx, prose_facts(ctx), options, decide(scores, options.thresholds) if scores else None)
    text, removed = strip_examples(_unwrap(raw or ""))
    for reason in removed:
        prose.note("examples", DROPPED, reason)
    parsed = _parse(_joined_summary(text))
    doc = Docstring()
    doc.short_description = prose.summary(parsed.short_description)
    if ctx.kind != "module":
        doc.long_description = prose.description(parsed.long_description, doc.short_description)
        doc.meta = [
            *grounded_params(parsed, ctx, keep=False, prose=prose),
            *grounded_results(parsed, ctx, keep=False, prose=prose),
            *grounded_raises(parsed, ctx, keep=False, prose=prose),
        ]
        prose.fit_types(doc, style)
    rendered = render_docstring(doc, style, width=options.width, indent=ctx.body_indent)
    return Grounded(doc, rendered, tuple(prose.parts), scores)


def ground_docstring(raw: str | None, ctx: FunctionContext, style: Style, **kwargs: object) -> Docstring:
    """The grounded docstring as a structure (``ground``'s keywords apply)."""
    return ground(raw, ctx, style, **kwargs).doc


def grounded_text(
    raw: str | None,
    ctx: FunctionContext,
    style: Style,
    *,
    generation: Generation | None = None,
    options: GroundingOptions | None = None,
) -> str:
    """The grounded docstring rendered in ``style`` and wrapped: text without quotes or indentation."""
    return ground(raw, ctx, style, generation=generation, options=options).text


def _scores(generation: Generation | None, ctx: FunctionContext, thresholds: Thresholds) -> dict[str, PartScore]:
    """Each generated part's score for the gates; none when the backend reported no log-probabilities."""
    if generation is None or not generation.token_logprobs:
        return {}
    names = [param.name for param in ctx.parameters]
    return score_parts(generation.text, generation.token_logprobs, names, ctx.code, thresholds.weight, ctx.raises)


# Characters no prose means (controls, surrogates, line separators): the inserter would have to
# escape them, which makes a line longer than it was wrapped to.
_UNPRINTABLE = re.compile(r"[^\S\n\t ]|[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


def _unwrap(raw: str) -> str:
    """Strip what models wrap around a docstring: code fences, the quotes themselves, indentation,
    and characters no prose means."""
    text = _FENCE.sub("", _UNPRINTABLE.sub(" ", raw.replace("\r\n", "\n").replace("\r", "\n"))).strip()
    if match := _WRAPPING_QUOTES.match(text):
        text = match.group(2)
    return inspect.cleandoc(text.replace('"""', "").replace("'''", ""))


def _parse(text: str) -> Docstring:
    # The parsers read a leading section header as the summary; give them one to skip.
    headless = bool(SECTION_LEFTOVER.match(text))
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


_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def _joined_summary(text: str) -> str:
    """``text`` with its first paragraph on one line: a summary wrapped to the line width (ours
    included) is one sentence, which the parsers would cut after its first line."""
    lines = text.split("\n")
    end = 0
    while end < len(lines) and lines[end].strip() and not lines[end][:1].isspace():
        following = lines[end + 1] if end + 1 < len(lines) else ""
        if SECTION_LEFTOVER.match(lines[end]) or _UNDERLINE.match(following):
            break
        end += 1
    if end < 2:
        return text
    return "\n".join([" ".join(line.strip() for line in lines[:end]), *lines[end:]])


def _bare_names(arg_name: str | None) -> list[str]:
    """``"*args"``, ``"\\*\\*kw"``, ``"x (int)"`` and NumPy's ``"x, y"`` to plain names."""
    names = []
    for part in (arg_name or "").split(","):
        name = part.replace("\\", "").strip().lstrip("*").split(" ", 1)[0].split("(", 1)[0]
        if name:
            names.append(name)
    return names


def grounded_params(
    parsed: Docstring, ctx: FunctionContext, keep: bool, prose: Prose | None = None
) -> list[DocstringParam]:
    """One entry per parameter of the code, in its order; ``keep`` an author's text as it is
    (refreshing), else new text held to the precision rules of ``prose``."""
    given: dict[str, DocstringParam] = {}
    for meta in parsed.params:
        if meta.args[0] != "param":
            continue
        arg_name, type_name, text = _split_google_type_colon(meta, parsed.style)
        description = (text or "").strip() if keep or prose else clean_sentence(text)
        for name in _bare_names(arg_name):
            if description and name not in given:
                given[name] = DocstringParam(meta.args, description, name, type_name, None, None)
    params = []
    for param in ctx.parameters:
        found = given.get(param.name)
        if prose is not None:
            description = prose.parameter(param, found.description if found else None)
        else:
            description = found.description if found else describe_parameter(param)
        # A type the author wrote is kept where the code has none; a model's guess is not.
        type_name = annotation_text(param.annotation) or (found.type_name if keep and found else None)
        name = documented_name(param)
        # New text states the default as the style's guide words it (render); an author's stays as written.
        default = None if keep and found else shown_default(param)
        optional = True if param.default is not None and not (keep and found) else None
        params.append(DocstringParam(["param", name], description, name, type_name, optional, default))
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


def grounded_results(
    parsed: Docstring, ctx: FunctionContext, keep: bool, prose: Prose | None = None
) -> list[DocstringReturns]:
    """The Returns or Yields entry the code calls for (none for a function that returns nothing)."""
    if ctx.kind != "function" or not (ctx.is_generator or ctx.returns_value or promises_value(one_line(ctx.returns_annotation))):
        return []
    given = sorted(parsed.many_returns, key=lambda meta: meta.is_generator != ctx.is_generator)
    found = next((meta for meta in given if return_description(meta)), None)
    description = return_description(found) if found else None
    if prose is not None:
        description = prose.result(description, "yields" if ctx.is_generator else "returns")
    elif not keep:
        description = clean_sentence(description)
    annotation = annotation_text(ctx.returns_annotation)
    type_name = yield_type(annotation) if ctx.is_generator else annotation
    if not type_name and keep and found and found.is_generator == ctx.is_generator and found.description:
        type_name = found.type_name
    kind = "yields" if ctx.is_generator else "returns"
    return [DocstringReturns([kind], description or describe_return(ctx), type_name, ctx.is_generator)]


def return_description(meta: DocstringReturns) -> str | None:
    """Its description; an untyped NumPy entry parses as a type that is really prose."""
    if meta.description and meta.description.strip():
        return meta.description.strip()
    if meta.type_name and len(meta.type_name.split()) > 2 and "[" not in meta.type_name:
        return meta.type_name.strip()
    return None


def grounded_raises(
    parsed: Docstring, ctx: FunctionContext, keep: bool, prose: Prose | None = None
) -> list[DocstringRaises]:
    """One entry per exception the body raises, in the order it raises them."""
    given: dict[str, str] = {}
    for meta in documented_raises(parsed):
        description = (meta.description or "").strip() if keep else clean_sentence(meta.description)
        if meta.type_name and description:
            given.setdefault(short_name(meta.type_name), description)
    raises = []
    for name in dict.fromkeys(ctx.raises):
        if prose is not None:
            description = prose.exception(name, given.get(short_name(name)))
        else:
            description = given.get(short_name(name)) or describe_exception(name)
        raises.append(DocstringRaises(["raises", name], description, name))
    return raises


__all__ = [
    "Grounded",
    "ground",
    "ground_docstring",
    "grounded_params",
    "grounded_raises",
    "grounded_results",
    "grounded_text",
    "return_description",
]
