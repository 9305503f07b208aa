"""Make a backend's docstring text agree with the code: first the sections, then the prose.

Sections: parameters, returns, yields and raises are exactly those of the code. Prose: no
example ever comes from a model (``truth.strip_examples``); the summary's wording fits the
kind of function, names in backticks exist, no word 3-gram repeats inside a part, a
parameter's description neither swallows the next entry nor restates the name
(``truth.check_*``); where the model's own token log-probabilities say it is unsure, the
part gives way (``confidence.decide``). A part that fails is dropped (the extended
description) or replaced with text derived from the code (``derive``), or with a ``TODO:``
marker under ``placeholders = "todo"``. Each part's origin, and why, is kept for ``--explain``.
Every line is wrapped to the configured width at the body's indentation.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

from docstring_parser import Docstring, DocstringStyle, ParseError, parse
from docstring_parser.common import DocstringParam, DocstringRaises, DocstringReturns

from docucode_hook.backends import Generation
from docucode_hook.confidence import PARAMETER_PREFIX, SUMMARY, DESCRIPTION, Decision, Thresholds, decide, score_parts
from docucode_hook.context import FunctionContext, Parameter, Style
from docucode_hook.derive import derived_parameter, derived_raise, derived_return, derived_summary, placeholder_text
from docucode_hook.docstrings import documented_raises, short_name
from docucode_hook.facts import ProseFacts, prose_facts
from docucode_hook.phrasing import (
    describe_exception,
    describe_parameter,
    describe_return,
    documented_name,
    one_line,
    restates_name,
)
from docucode_hook.render import INDENT, render_docstring
from docucode_hook.syntax import promises_value, yield_type
from docucode_hook.truth import check_description, check_names, check_parameter, check_repeats, check_summary, strip_examples

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
# Where a part came from: the backend's text (tidied), text derived from the code, or nothing.
BACKEND, DERIVED, DROPPED = "backend", "derived", "dropped"
# The columns a wrapped line may spend before its words: a Google entry's continuation is
# indented twice, the summary shares its line with the opening quotes.
_WRAP_MARGIN = 2 * len(INDENT)


@dataclass(frozen=True)
class GroundingOptions:
    """How new text is held to the code: the line width, what stands in for an unsure part, the gates."""

    width: int | None = 88  # max-line-length; None: no wrapping
    placeholders: str = "derived"  # "derived" | "todo" (config.PLACEHOLDERS)
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class PartOrigin:
    """Where one part of a written docstring came from, and why it is not the backend's text."""

    part: str  # "summary", "description", "examples", "param x", "returns", "yields", "raises ValueError"
    origin: str  # BACKEND, DERIVED or DROPPED
    reason: str = ""


@dataclass(frozen=True)
class Grounded:
    doc: Docstring
    text: str  # rendered in the style, wrapped: no quotes, no indentation
    parts: tuple[PartOrigin, ...]


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
    prose = _Prose(ctx, prose_facts(ctx), options, _decision(generation, ctx, options.thresholds))
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
        prose.fit_types(doc)
    rendered = render_docstring(doc, style, width=options.width, indent=ctx.body_indent)
    return Grounded(doc, rendered, tuple(prose.parts))


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


def _decision(generation: Generation | None, ctx: FunctionContext, thresholds: Thresholds) -> Decision | None:
    """The confidence gates' verdict; None when the backend reported no log-probabilities."""
    if generation is None or not generation.token_logprobs:
        return None
    names = [param.name for param in ctx.parameters]
    return decide(score_parts(generation.text, generation.token_logprobs, names, ctx.code, thresholds.weight), thresholds)


def _gate_reason(decision: Decision | None, part: str) -> str | None:
    """Why the gate took ``part`` away ("summary score 0.21 below 0.35"), or None when it did not."""
    if decision is None:
        return None
    return next((f"model unsure: {reason}" for reason in decision.reasons if reason.startswith(f"{part} score ")), None)


@dataclass
class _Prose:
    """The precision rules for one definition's new text, and the record of what each part became."""

    ctx: FunctionContext
    facts: ProseFacts
    options: GroundingOptions
    decision: Decision | None
    parts: list[PartOrigin] = field(default_factory=list)

    def note(self, part: str, origin: str, reason: str = "") -> None:
        self.parts.append(PartOrigin(part, origin, reason))

    def _placeholder(self, derived: str, what: str) -> str:
        return placeholder_text(derived, what, self.options.placeholders)

    def _unusable(self, text: str) -> str | None:
        """Why a sentence of prose cannot stand anywhere: a loop, an unknown name, a word too long to wrap."""
        for verdict in (check_repeats(text), check_names(text, self.facts.known_names)):
            if not verdict.kept:
                return verdict.reason
        if self.options.width is not None:
            room = self.options.width - self.ctx.body_indent - _WRAP_MARGIN
            if any(len(word) > room for word in text.split()):
                return "a word too long to wrap within max-line-length"
        return None

    def summary(self, written: str | None) -> str:
        line = _first_sentence(written)
        if not line:
            reason = "no summary written"
        elif restates_name(line, self.ctx.name):
            reason = "restates the name"
        else:
            reason = _gate_reason(self.decision, SUMMARY) or self._unusable(line)
        if reason is None:
            verdict = check_summary(line, self.facts)
            if verdict.kept:
                self.note("summary", BACKEND)
                return line
            reworded = _sentence(verdict.text) if verdict.text else None
            if reworded and check_summary(reworded, self.facts).kept and not self._unusable(reworded):
                self.note("summary", BACKEND, f"reworded: {verdict.reason}")
                return reworded
            reason = verdict.reason
        derived = self._placeholder(derived_summary(self.ctx, self.facts), "the summary")
        # The template's summary is the derived one: it stands as the backend wrote it.
        self.note("summary", *((BACKEND, "") if derived == line else (DERIVED, reason)))
        return derived

    def description(self, written: str | None, summary: str) -> str | None:
        text = (written or "").strip()
        if not text:
            return None
        reason = _gate_reason(self.decision, DESCRIPTION)
        if reason is None and text.rstrip(".") == summary.rstrip("."):
            reason = "repeats the summary"
        elif reason is None and (_SECTION_LEFTOVER.search(text) or _CONTROL.search(text)):
            reason = "section markup the parser could not read"
        elif reason is None and len(text) > MAX_LONG_DESCRIPTION:
            reason = f"longer than {MAX_LONG_DESCRIPTION} characters"
        if reason is None:
            kept, reasons = check_description(text, self.facts.known_names)
            # A paragraph with a word too long to wrap goes too (a URL or a code line, as a rule).
            paragraphs = [p for p in re.split(r"\n[ \t]*\n", kept or "") if p.strip()]
            fitting = [p for p in paragraphs if not self._unusable(p)]
            if len(fitting) < len(paragraphs):
                reasons += ("paragraph dropped: a word too long to wrap within max-line-length",)
            if fitting:
                self.note("description", BACKEND, "; ".join(reasons))
                return "\n\n".join(fitting)
            reason = "; ".join(reasons)
        self.note("description", DROPPED, reason)
        return None

    def parameter(self, param: Parameter, written: str | None) -> str:
        part = f"param {documented_name(param)}"
        reason, note = "not written", ""
        if written and written.strip():
            verdict = check_parameter(param.name, written, [p.name for p in self.ctx.parameters])
            text = verdict.text if not verdict.kept else written
            cleaned = _clean_sentence(text) if text else None
            if not cleaned:
                reason = verdict.reason or "no usable text"
            else:
                gate = _gate_reason(self.decision, PARAMETER_PREFIX + param.name)
                reason = gate or self._unusable(cleaned)
                if reason is None:
                    self.note(part, BACKEND, "" if verdict.kept else verdict.reason)
                    return cleaned
        derived = derived_parameter(param, self.facts)
        self.note(part, DERIVED, reason)
        return self._placeholder(derived, f"`{param.name}`")

    def result(self, written: str | None, kind: str) -> str:
        reason = "not written"
        cleaned = _clean_sentence(written)
        if cleaned:
            reason = self._unusable(cleaned)
            if reason is None:
                self.note(kind, BACKEND)
                return cleaned
        self.note(kind, DERIVED, reason)
        return self._placeholder(derived_return(self.ctx, self.facts), f"the {'yielded values' if kind == 'yields' else 'return value'}")

    def exception(self, name: str, written: str | None) -> str:
        part = f"raises {name}"
        reason = "not written"
        cleaned = _clean_sentence(written)
        if cleaned:
            reason = self._unusable(cleaned)
            if reason is None:
                self.note(part, BACKEND)
                return cleaned
        self.note(part, DERIVED, reason)
        return self._placeholder(derived_raise(name, self.facts), f"when `{short_name(name)}` is raised")

    def fit_types(self, doc: Docstring) -> None:
        """Leave an entry's type to the signature where its head (``name (type):``) would pass the width."""
        if self.options.width is None:
            return
        for meta in doc.meta:
            if isinstance(meta, (DocstringParam, DocstringReturns)) and meta.type_name:
                name = meta.arg_name if isinstance(meta, DocstringParam) else ""
                head = len(INDENT) + len(name or "") + len(meta.type_name) + len(" ():  ")
                if self.ctx.body_indent + head > self.options.width:
                    self.note(f"type of {name or 'the result'}", DROPPED, "the entry's head would pass max-line-length; the type is in the signature")
                    meta.type_name = None


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


_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def _joined_summary(text: str) -> str:
    """``text`` with its first paragraph on one line: a summary wrapped to the line width (ours
    included) is one sentence, which the parsers would cut after its first line."""
    lines = text.split("\n")
    end = 0
    while end < len(lines) and lines[end].strip() and not lines[end][:1].isspace():
        following = lines[end + 1] if end + 1 < len(lines) else ""
        if _SECTION_LEFTOVER.match(lines[end]) or _UNDERLINE.match(following):
            break
        end += 1
    if end < 2:
        return text
    return "\n".join([" ".join(line.strip() for line in lines[:end]), *lines[end:]])


def _first_sentence(text: str | None) -> str:
    """The first sentence of the first line, tidied and sentence-cased; empty when there is none."""
    line = next((" ".join(line.split()) for line in (text or "").splitlines() if line.strip()), "")
    line = line.strip("\"' \t#*-:")
    if line.count("`") % 2:
        line = line.replace("`", "")
    if sentence := re.match(r"(.+?[.!?])(?:\s|$)", line):
        line = sentence.group(1)
    line = line.rstrip(".!?,;: ")
    return f"{line[0].upper()}{line[1:]}." if line else ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


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


def grounded_params(
    parsed: Docstring, ctx: FunctionContext, keep: bool, prose: _Prose | None = None
) -> list[DocstringParam]:
    """One entry per parameter of the code, in its order; ``keep`` an author's text as it is
    (refreshing), else new text held to the precision rules of ``prose``."""
    given: dict[str, DocstringParam] = {}
    for meta in parsed.params:
        if meta.args[0] != "param":
            continue
        arg_name, type_name, text = _split_google_type_colon(meta, parsed.style)
        description = (text or "").strip() if keep or prose else _clean_sentence(text)
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


def grounded_results(
    parsed: Docstring, ctx: FunctionContext, keep: bool, prose: _Prose | None = None
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


def grounded_raises(
    parsed: Docstring, ctx: FunctionContext, keep: bool, prose: _Prose | None = None
) -> list[DocstringRaises]:
    """One entry per exception the body raises, in the order it raises them."""
    given: dict[str, str] = {}
    for meta in documented_raises(parsed):
        description = (meta.description or "").strip() if keep else _clean_sentence(meta.description)
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
    "BACKEND",
    "DERIVED",
    "DROPPED",
    "MAX_LONG_DESCRIPTION",
    "Grounded",
    "GroundingOptions",
    "PartOrigin",
    "ground",
    "ground_docstring",
    "grounded_params",
    "grounded_raises",
    "grounded_results",
    "grounded_text",
    "return_description",
]
