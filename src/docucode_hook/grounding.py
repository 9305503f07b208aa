"""Make a backend's docstring text agree with the code: parameters, returns, yields, raises."""

from __future__ import annotations

import inspect
import re

from docstring_parser import Docstring, DocstringStyle, ParseError, parse
from docstring_parser.common import DocstringParam, DocstringRaises, DocstringReturns

from docucode_hook.backends import Generation
from docucode_hook.context import FunctionContext, Style
from docucode_hook.docstrings import documented_raises, short_name
from docucode_hook.phrasing import (
    describe_exception,
    describe_parameter,
    describe_return,
    documented_name,
    one_line,
    repeats_itself,
    restates_name,
    summarise,
)
from docucode_hook.render import render_docstring
from docucode_hook.syntax import promises_value, yield_type

_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)
_WRAPPING_QUOTES = re.compile(r'^[rRuUbB]?("""|\'\'\')(.*?)(?:\1)?$', re.DOTALL)
# Section headers or fields left in the prose mean the parse misread the text; drop that prose.
_SECTION_LEFTOVER = re.compile(
    r"^\s*(?:(?:Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?)\s*:?\s*$"
    r"|:(?:param|type|returns?|rtype|raises?|yields?)\b|-{3,}\s*$)",
    re.MULTILINE | re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
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
    doc.meta = [
        *grounded_params(parsed, ctx, keep=False),
        *grounded_results(parsed, ctx, keep=False),
        *grounded_raises(parsed, ctx, keep=False),
    ]
    return doc


def grounded_text(raw: str | None, ctx: FunctionContext, style: Style, *, generation: Generation | None = None) -> str:
    """The grounded docstring rendered in ``style``: text without quotes or indentation.

    ``generation`` is the backend's output that ``raw`` comes from, with the model's token
    log-probabilities where it has them (not used yet).
    """
    return render_docstring(ground_docstring(raw, ctx, style), style)


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
    if not line or restates_name(line, ctx.name) or repeats_itself(line):
        return summarise(ctx)
    return f"{line[0].upper()}{line[1:]}."


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


def grounded_params(parsed: Docstring, ctx: FunctionContext, keep: bool) -> list[DocstringParam]:
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
        type_name = one_line(param.annotation) or (found.type_name if keep and found else None)
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


def grounded_results(parsed: Docstring, ctx: FunctionContext, keep: bool) -> list[DocstringReturns]:
    if ctx.kind != "function" or not (ctx.is_generator or ctx.returns_value or promises_value(one_line(ctx.returns_annotation))):
        return []
    given = sorted(parsed.many_returns, key=lambda meta: meta.is_generator != ctx.is_generator)
    found = next((meta for meta in given if return_description(meta)), None)
    description = return_description(found) if found else None
    if not keep:
        description = _clean_sentence(description)
    annotation = one_line(ctx.returns_annotation)
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


def grounded_raises(parsed: Docstring, ctx: FunctionContext, keep: bool) -> list[DocstringRaises]:
    given: dict[str, str] = {}
    for meta in documented_raises(parsed):
        description = (meta.description or "").strip() if keep else _clean_sentence(meta.description)
        if meta.type_name and description:
            given.setdefault(short_name(meta.type_name), description)
    raises = []
    for name in dict.fromkeys(ctx.raises):
        description = given.get(short_name(name)) or describe_exception(name)
        raises.append(DocstringRaises(["raises", name], description, name))
    return raises


__all__ = [
    "MAX_LONG_DESCRIPTION",
    "ground_docstring",
    "grounded_params",
    "grounded_raises",
    "grounded_results",
    "grounded_text",
    "return_description",
]
