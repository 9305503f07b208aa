"""The precision rules for a model's prose, part by part, and the record of where each part came from.

A part that fails (a loop, an unknown name, a word too long to wrap, a gate of the model's
own log-probabilities) is dropped or replaced with text derived from the code; ``grounding``
runs these rules over each section it rebuilds.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from docstring_parser import Docstring
from docstring_parser.common import DocstringParam, DocstringReturns

from docucode_hook.precision.confidence import (
    DESCRIPTION,
    EXCEPTION_PREFIX,
    PARAMETER_PREFIX,
    RESULT,
    SUMMARY,
    Decision,
    Thresholds,
)
from docucode_hook.code.records import FunctionContext, Parameter, Style
from docucode_hook.precision.derive import derived_parameter, derived_raise, derived_return, derived_summary, placeholder_text
from docucode_hook.docstrings.sections import short_name
from docucode_hook.code.facts import ProseFacts
from docucode_hook.docstrings.phrasing import documented_name, imperative, restates_name, shown_default
from docucode_hook.docstrings.render import INDENT, summary_room
from docucode_hook.precision.truth import check_description, check_names, check_parameter, check_repeats, check_summary


# Section headers or fields left in the prose mean the parse misread the text; drop that prose.
# A line opening with ":" is any field to a Sphinx reader (":param x:", and ":0" too): left in a
# description, it made the reader take every field after it for more description.
SECTION_LEFTOVER = re.compile(
    r"^\s*(?:(?:Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?)\s*:?\s*$"
    r"|:|-{3,}\s*$)",
    re.MULTILINE | re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_LONG_DESCRIPTION = 1500
# Where a part came from: the backend's text (tidied), text derived from the code, or nothing.
# ``TODO``: a marker a reviewer must replace (``placeholders = "todo"``, or nothing true to say).
BACKEND, DERIVED, DROPPED, TODO = "backend", "derived", "dropped", "todo"
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
    origin: str  # BACKEND, DERIVED, DROPPED or TODO
    reason: str = ""


def _gate_reason(decision: Decision | None, part: str) -> str | None:
    """Why the gate took ``part`` away ("model unsure: summary score 0.21 below 0.35"), or None when it did not."""
    return decision.reasons.get(part) if decision is not None else None


@dataclass
class Prose:
    """The precision rules for one definition's new text, and the record of what each part became."""

    ctx: FunctionContext
    facts: ProseFacts
    options: GroundingOptions
    decision: Decision | None
    parts: list[PartOrigin] = field(default_factory=list)

    def note(self, part: str, origin: str, reason: str = "") -> None:
        """Record where one part of the docstring came from, and why."""
        self.parts.append(PartOrigin(part, origin, reason))

    def _placeholder(self, derived: str, what: str) -> str:
        return placeholder_text(derived, what, self.options.placeholders)

    @property
    def _stand_in(self) -> str:
        """The origin of what stands in for a part the backend's text could not: derived text or a TODO marker."""
        return TODO if self.options.placeholders == "todo" else DERIVED

    def _unusable(self, text: str) -> str | None:
        """Why a sentence of prose cannot stand anywhere: a loop, an unknown name, a word too long to
        wrap, a doctest prompt (no example comes from a model, even inside a sentence)."""
        if ">>>" in text:
            return "a doctest prompt (>>>)"
        for verdict in (check_repeats(text), check_names(text, self.facts.known_names)):
            if not verdict.kept:
                return verdict.reason
        if self.options.width is not None:
            room = self.options.width - self.ctx.body_indent - _WRAP_MARGIN
            if any(len(word) > room for word in text.split()):
                return "a word too long to wrap within max-line-length"
        return None

    def summary(self, written: str | None) -> str:
        """The summary line: the backend's first sentence if it passes the checks and gates, else derived text."""
        line = _first_sentence(written)
        if not line:
            reason = "no summary written"
        elif restates_name(line, self.ctx.name):
            reason = "restates the name"
        else:
            reason = _gate_reason(self.decision, SUMMARY) or self._unusable(line) or self._too_long(line)
        if reason is None:
            verdict = check_summary(line, self.facts)
            reworded = line if verdict.kept else (_sentence(verdict.text) if verdict.text else None)
            if reworded and not verdict.kept and (not check_summary(reworded, self.facts).kept or self._unusable(reworded)):
                reworded = None
            commanding = self._commanding(reworded) if reworded else None
            if commanding and not self._too_long(commanding):
                why = [verdict.reason] if not verdict.kept else []
                why += ["put in the imperative mood"] if commanding != reworded else []
                self.note("summary", BACKEND, f"reworded: {'; '.join(why)}" if why else "")
                return commanding
            reason = verdict.reason if not reworded else "not in the imperative mood"
        derived = derived_summary(self.ctx, self.facts)
        if self._too_long(derived) and self.ctx.class_name:
            # "Check whether the primitive permission aware model admin has ..." names the class by its last word.
            short = dataclasses.replace(self.ctx, class_name=(re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", self.ctx.class_name) or [self.ctx.class_name])[-1])
            derived = derived_summary(short, self.facts)
        derived = self._placeholder(derived, "the summary")
        # The template's summary is the derived one: it stands as the backend wrote it.
        self.note("summary", *((BACKEND, "") if derived == line else (self._stand_in, reason)))
        return derived

    def _too_long(self, summary: str) -> str | None:
        """Why a summary cannot stand: it would not fit on its line (None where it does)."""
        if self.options.width is None or len(summary) <= summary_room(self.options.width, self.ctx.body_indent):
            return None
        return "longer than its line (max-line-length)"

    def _commanding(self, summary: str) -> str | None:
        """A function's summary as a command (PEP 257; ruff's D401); a property's, a class's or a
        module's as it is: they read as what they are."""
        if self.ctx.kind != "function" or self.facts.is_property:
            return summary
        commanding = imperative(summary)
        return commanding if commanding and check_summary(commanding, self.facts).kept else None

    def description(self, written: str | None, summary: str) -> str | None:
        """The extended description if it passes the checks and gates, else None (dropped)."""
        text = (written or "").strip()
        if not text:
            return None
        reason = _gate_reason(self.decision, DESCRIPTION)
        if reason is None and text.rstrip(".") == summary.rstrip("."):
            reason = "repeats the summary"
        elif reason is None and (SECTION_LEFTOVER.search(text) or _CONTROL.search(text)):
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
        """A parameter's description: the backend's if usable, else derived text or a placeholder."""
        part = f"param {documented_name(param)}"
        reason = "not written"
        if written and written.strip():
            verdict = check_parameter(param.name, written, [p.name for p in self.ctx.parameters], self.ctx.name)
            text = verdict.text if not verdict.kept else written
            cleaned = clean_sentence(text) if text else None
            if not cleaned:
                reason = verdict.reason or "no usable text"
            else:
                gate = _gate_reason(self.decision, PARAMETER_PREFIX + param.name)
                reason = gate or self._unusable(cleaned)
                if reason is None:
                    self.note(part, BACKEND, "" if verdict.kept else verdict.reason)
                    return cleaned
        derived = derived_parameter(param, self.facts)
        if not derived and shown_default(param) is None:
            # Nothing true to say and no default to state: a marker, never an empty entry.
            self.note(part, TODO, f"{reason}; the code says nothing more than the name")
            return placeholder_text("", f"`{param.name}`", "todo")
        self.note(part, self._stand_in, reason)
        return self._placeholder(derived, f"`{param.name}`")

    def result(self, written: str | None, kind: str) -> str:
        """A Returns or Yields description: the backend's if usable, else derived text."""
        what = f"the {'yielded values' if kind == 'yields' else 'return value'}"
        return self._usable_or_derived(kind, RESULT, written, lambda: derived_return(self.ctx, self.facts), what)

    def exception(self, name: str, written: str | None) -> str:
        """A Raises description for ``name``: the backend's if usable, else derived text."""
        what = f"when `{short_name(name)}` is raised"
        gated = EXCEPTION_PREFIX + short_name(name)
        return self._usable_or_derived(f"raises {name}", gated, written, lambda: derived_raise(name, self.facts), what)

    def _usable_or_derived(
        self, part: str, gated: str, written: str | None, derive: Callable[[], str], what: str
    ) -> str:
        """``gated``: the part's name for the confidence gates (``confidence.part_spans``)."""
        reason = "not written"
        cleaned = clean_sentence(written)
        if cleaned:
            reason = _gate_reason(self.decision, gated) or self._unusable(cleaned)
            if reason is None:
                self.note(part, BACKEND)
                return cleaned
        self.note(part, self._stand_in, reason)
        return self._placeholder(derive(), what)

    def fit_types(self, doc: Docstring, style: Style) -> None:
        """Leave an entry's type to the signature where its head (``name (type):``) would pass the width.

        A Sphinx ``:type x:`` / ``:rtype:`` field continues on indented lines, and pydoclint reads
        the lines back as one type: there a long type is wrapped, and dropped only when one of its
        words cannot fit. A Google head or a NumPy type line cannot be broken (pydoclint reads a
        Google type joined without the space, a NumPy one as two types): a type that passes the
        width there is left to the signature, and pydoclint reports DOC105/DOC203 (its type
        check and max-line-length cannot both hold; docs/eval/linters/README.md).
        """
        if self.options.width is None:
            return
        for meta in doc.meta:
            if isinstance(meta, (DocstringParam, DocstringReturns)) and meta.type_name:
                name = meta.arg_name if isinstance(meta, DocstringParam) else ""
                if style is Style.SPHINX:
                    field = len(f":type {name}: ") if name else len(":rtype: ")
                    words = meta.type_name.split()
                    fits = field + len(words[0]) <= self.options.width - self.ctx.body_indent and all(
                        len(INDENT) + len(word) <= self.options.width - self.ctx.body_indent for word in words)
                    if fits:
                        continue
                    self.note(f"type of {name or 'the result'}", DROPPED, "a word of the type would pass max-line-length; the type is in the signature")
                    meta.type_name = None
                    continue
                optional = len(", optional") if getattr(meta, "is_optional", False) else 0
                head = len(INDENT) + len(name or "") + len(meta.type_name) + optional + len(" ():  ")
                if self.ctx.body_indent + head > self.options.width:
                    self.note(f"type of {name or 'the result'}", DROPPED, "the entry's head would pass max-line-length; the type is in the signature")
                    meta.type_name = None


def _first_sentence(text: str | None) -> str:
    """The first sentence of the first line, tidied and sentence-cased; empty when there is none."""
    line = next((line for line in (text or "").splitlines() if line.strip()), "")
    if line.count("`") % 2:  # first: a dropped backtick may uncover a leading "#" or leave two spaces
        line = line.replace("`", "")
    line = " ".join(line.split()).strip("\"' \t#*-:")
    if sentence := re.match(r"(.+?[.!?])(?:\s|$)", line):
        line = sentence.group(1)
    line = line.rstrip(".!?,;: ")
    return f"{line[0].upper()}{line[1:]}." if line else ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def clean_sentence(text: str | None) -> str | None:
    """One tidy sentence-cased line, or None when nothing usable is left."""
    line = " ".join((text or "").split()).strip("\"'` ")
    if not re.search(r"[^\W_]", line) or _CONTROL.search(line):
        return None
    line = line.rstrip(",;: ")
    return f"{line[0].upper()}{line[1:]}" + ("" if line.endswith((".", "!", "?")) else ".")


__all__ = [
    "BACKEND",
    "DERIVED",
    "DROPPED",
    "TODO",
    "MAX_LONG_DESCRIPTION",
    "SECTION_LEFTOVER",
    "GroundingOptions",
    "PartOrigin",
    "Prose",
    "clean_sentence",
]
