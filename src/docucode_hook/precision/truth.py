"""Checks of a model's prose against facts of the code: keep it, drop it, or replace it.

Each check answers with a ``Verdict`` whose ``reason`` is short enough to print per
function (``--explain``). A "replace" verdict may carry corrected wording; without it, the
caller puts code-derived text (``derive.py``) in its place.

What each summary rule calls wording that fits (``check_summary``):

- generator: does not begin "Return(s)" unless it returns an iterator/generator/iterable,
  and never says it returns a list, tuple, dict or set ("Return a list of X" becomes "Yield X");
- no value returned (not a generator, property or stub, no ``return <value>``): does not
  begin "Return(s)"; nor "Yield(s)" when it is not a generator either;
- ``@contextmanager`` function: does not begin "Yield(s)"/"Generate(s)" or "Return(s) a
  generator/iterator" (the caller sees a ``with`` block, not an iterator);
- property: a noun phrase: "Return(s)/Get(s) X" becomes "X" ("The X" when X has no
  article or "whether"/"true"); "Set(s) ..." is replaced;
- stub (abstract, or a body that only raises NotImplementedError/passes): describes the
  contract, so it does not begin "Raise(s)" nor say "not implemented"/"does nothing"/"placeholder";
- classmethod constructor (every ``return`` is ``cls(...)``): builds a new object, so it
  does not begin "Initialise/Initialize/Set/Update/Modify/Change";
- async: does not say it returns a coroutine/awaitable/future/task (awaiting it gives the
  value) nor that it works "synchronously".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from docucode_hook.docstrings.phrasing import repeated_ngram, restates_name, words
from docucode_hook.code.facts import ProseFacts
from docucode_hook.docstrings.render import without_default_sentence


@dataclass(frozen=True)
class Verdict:
    action: str  # "keep" | "drop" | "replace"
    reason: str = ""
    text: str | None = None  # "replace" with this wording; None: code-derived text goes there

    @property
    def kept(self) -> bool:
        """Whether the text stands as written."""
        return self.action == "keep"


KEEP = Verdict("keep")

_EXAMPLES_HEADER = re.compile(
    r"^(?P<indent>[ \t]*)(?:\.\.\s+rubric::\s*)?:?(?:Examples?|Example usage|Usage examples?)\s*:{0,2}\s*$",
    re.IGNORECASE,
)
_UNDERLINE = re.compile(r"^[ \t]*-{3,}[ \t]*$")
_DOCTEST = re.compile(r"^[ \t]*>>>")


def strip_examples(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` without doctest lines (``>>>``, their ``...`` continuations and output) and
    without any Example(s) section in Google, NumPy or Sphinx layout; with the reasons."""
    lines = text.split("\n")
    out: list[str] = []
    reasons: dict[str, None] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        header = _EXAMPLES_HEADER.match(line)
        if header:
            reasons.setdefault("Examples section removed (examples are never written by a model)")
            index = _section_end(lines, index, len(header.group("indent").expandtabs()))
            continue
        if _DOCTEST.match(line):
            reasons.setdefault("doctest example removed (examples are never written by a model)")
            index += 1
            # Continuation and expected output run until a blank line.
            while index < len(lines) and lines[index].strip():
                index += 1
            continue
        out.append(line)
        index += 1
    cleaned = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", "\n".join(out)).strip()
    return cleaned, tuple(reasons)


def _section_end(lines: list[str], start: int, indent: int) -> int:
    """The first line after the Examples section that opens at ``start``."""
    index = start + 1
    if index < len(lines) and _UNDERLINE.match(lines[index]):
        # NumPy: everything up to the next titled section or field.
        index += 1
        while index < len(lines):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if lines[index].strip() and (_UNDERLINE.match(following) or lines[index].lstrip().startswith((":", ".."))):
                return index
            index += 1
        return index
    # Google and Sphinx: the lines indented under the title, and doctest lines at any indentation.
    while index < len(lines):
        line = lines[index]
        if _DOCTEST.match(line):
            # The example's own lines run until a blank line, whatever their indentation.
            while index < len(lines) and lines[index].strip():
                index += 1
            continue
        if line.strip() and _indent(line) <= indent:
            return index
        index += 1
    return index


def _indent(line: str) -> int:
    return len(line.expandtabs()) - len(line.expandtabs().lstrip())


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`:(\[\"'])")


def sentences(paragraph: str) -> list[str]:
    """The paragraph cut after ".", "!" or "?" where a capital, quote or bracket follows."""
    return [part for part in _SENTENCE_END.split(paragraph.strip()) if part.strip()]


def check_repeats(paragraph: str) -> Verdict:
    """Drop a paragraph in which some word 3-gram occurs twice (a small model's loop)."""
    gram = repeated_ngram(paragraph)
    return Verdict("drop", f"repeats {gram!r}") if gram else KEEP


_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|exc|data|obj|const|ref):`([^`]+)`")
_LITERAL = re.compile(r"(?<![:`\w])``?([^`\s][^`]*?)``?(?!`)")
_IDENTIFIER = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*(?:\(\))?")


def mentioned_names(text: str) -> list[str]:
    """Names the text points at: ``:func:`x```-style roles and identifiers in backticks.

    Backticked text that is not a (dotted) identifier (``"utf-8"``, ``a + b``) is not a name.
    """
    names = []
    for match in _ROLE.finditer(text):
        target = match.group(1)
        target = target.rsplit("<", 1)[1].rstrip(">") if target.endswith(">") and "<" in target else target
        names.append(target.strip().lstrip("~!.").removesuffix("()"))
    for match in _LITERAL.finditer(_ROLE.sub("", text)):
        literal = match.group(1).strip()
        if _IDENTIFIER.fullmatch(literal):
            names.append(literal.removesuffix("()"))
    return [name for name in names if name]


def check_names(text: str, known: Collection[str]) -> Verdict:
    """Drop text that names something (in backticks or a role) that the code does not have.

    A dotted name is checked by its first part (``os.path.join`` needs ``os``), ``self.x``
    and ``cls.x`` by ``x``.
    """
    for name in mentioned_names(text):
        parts = name.split(".")
        first = parts[1] if parts[0] in ("self", "cls") and len(parts) > 1 else parts[0]
        if first not in known:
            return Verdict("drop", f"names `{name}`, which the code does not have")
    return KEEP


_RETURN_HEAD = re.compile(r"^(?:Returns?)\b\s*", re.IGNORECASE)
_GETTER_HEAD = re.compile(r"^(?:Returns?|Gets?)\b\s*", re.IGNORECASE)
_ITERATOR_RETURN = re.compile(r"^Returns?\s+(?:an?\s+|the\s+)?(?:\w+\s+)?(?:iterator|generator|iterable)\b", re.I)
_COLLECTION_RETURN = re.compile(r"\breturns?\s+(?:an?\s+|the\s+)?(?:new\s+)?(?:list|tuple|dict|dictionary|set|array)\b", re.I)
_LIST_OF = re.compile(r"^Returns?\s+(?:an?\s+|the\s+)?(?:list|tuple|sequence|collection|array|set)\s+of\s+(?P<rest>.+)$", re.I)
_YIELD_HEAD = re.compile(r"^(?:Yields?|Generates?)\b", re.IGNORECASE)
_GENERATOR_RETURN = re.compile(r"^Returns?\s+(?:an?\s+|the\s+)?(?:generator|iterator)\b", re.IGNORECASE)
_SETTER_HEAD = re.compile(r"^Sets?\b", re.IGNORECASE)
_STUB_WORDING = re.compile(r"^Raises?\b|\bnot (?:yet )?implemented\b|\bdoes nothing\b|\bdo nothing\b|\bplaceholder\b", re.I)
_MUTATION_HEAD = re.compile(r"^(?:Initiali[sz]es?|Sets?|Updates?|Modif(?:y|ies)|Changes?)\b", re.IGNORECASE)
_ASYNC_WORDING = re.compile(
    r"\breturns?\s+(?:an?\s+|the\s+)?(?:coroutine|awaitable|future|task)\b|(?<!a)\bsynchronously\b", re.IGNORECASE
)
_ARTICLE_LIKE = frozenset("a an the whether true false if each every all any its".split())


def check_summary(summary: str, facts: ProseFacts) -> Verdict:
    """Whether the summary's wording fits the kind of function (the rules in the module docstring),
    names only what exists and does not repeat itself."""
    text = summary.strip()
    for verdict in (check_repeats(text), check_names(text, facts.known_names)):
        if not verdict.kept:
            return Verdict("replace", verdict.reason)
    if facts.is_context_manager and facts.is_generator:
        if _YIELD_HEAD.match(text) or _GENERATOR_RETURN.match(text):
            return Verdict("replace", "a context manager is entered with `with`, not iterated")
    elif facts.is_generator:
        if _COLLECTION_RETURN.search(text) or (_RETURN_HEAD.match(text) and not _ITERATOR_RETURN.match(text)):
            listed = _LIST_OF.match(text)
            rewrite = f"Yield {listed.group('rest')}" if listed else None
            return Verdict("replace", "a generator yields its values; it does not return them", rewrite)
    if facts.is_property:
        if _SETTER_HEAD.match(text):
            return Verdict("replace", "a property's getter does not set anything")
        if head := _GETTER_HEAD.match(text):
            return Verdict("replace", "a property is described as the value it is", _noun_phrase(text[head.end() :]))
    if not (facts.returns_value or facts.is_generator or facts.is_stub or facts.is_property):
        if _RETURN_HEAD.match(text):
            return Verdict("replace", "the function returns no value")
        if _YIELD_HEAD.match(text):
            return Verdict("replace", "the function neither yields nor returns a value")
    if facts.is_stub and _STUB_WORDING.search(text):
        return Verdict("replace", "an abstract or placeholder definition is described by its contract")
    if facts.is_constructor and _MUTATION_HEAD.match(text):
        return Verdict("replace", "a classmethod that returns cls(...) creates a new object")
    if facts.is_async and _ASYNC_WORDING.search(text):
        return Verdict("replace", "awaiting an async function gives its value; it does not block")
    return KEEP


def _noun_phrase(rest: str) -> str | None:
    rest = rest.strip()
    if not re.search(r"\w", rest):
        return None
    first = rest.split()[0].lower()
    phrase = rest if first in _ARTICLE_LIKE else f"the {rest}"
    return phrase[0].upper() + phrase[1:]


# "Input to be fine.", "Sequence of values to be percentile.": a small model's pattern that ends a
# description with a name's word as if it were the purpose; neither grammatical nor true.
_TO_BE_NAME = re.compile(r"\bto be (\w+)\W*$", re.IGNORECASE)


def check_parameter(name: str, description: str, parameters: Sequence[str], function: str = "") -> Verdict:
    """Cut a description where it swallows another parameter's entry; replace one that restates the
    name, or that ends "to be <a word of the parameter's or the function's name>"."""
    text = description.strip()
    cut = _swallowed_entry(text, [other for other in parameters if other != name])
    reason = ""
    if cut is not None:
        text, reason = text[:cut].rstrip(" \t\n,;:"), "swallowed the next parameter's entry"
    # "The catalog. Defaults to None." says no more than the name: the default is the
    # signature's, and the derived text states it again.
    said = without_default_sentence(text)
    if not said or restates_name(said, name):
        return Verdict("replace", reason or "restates the parameter's name")
    to_be = _TO_BE_NAME.search(said)
    if to_be and to_be.group(1).lower() in {*words(name), *words(function)} and not to_be.group(1).lower().endswith("ed"):
        return Verdict("replace", "ends 'to be' and a word of the name")
    if reason:
        return Verdict("replace", reason, text if text.endswith((".", "!", "?")) else f"{text}.")
    return KEEP


def _swallowed_entry(text: str, others: Sequence[str]) -> int | None:
    """Where ``name (type):`` (anywhere) or ``name:`` (at a line or sentence start) of another parameter begins."""
    starts = []
    for other in others:
        escaped = re.escape(other.lstrip("*"))
        typed = re.search(rf"(?:^|(?<=\s))\*{{0,2}}{escaped}\s*\([^()]*\)\s*:(?!:)", text)
        bare = re.search(rf"(?:^|(?<=\n)|(?<=[.;]\s))[ \t]*\*{{0,2}}{escaped}\s*:(?!:)", text)
        field = re.search(rf":(?:param|type)\s+(?:[^:\s]+\s+)?\*{{0,2}}{escaped}\s*:", text)
        starts += [match.start() for match in (typed, bare, field) if match]
    return min(starts) if starts else None


def check_description(text: str, known: Collection[str]) -> tuple[str | None, tuple[str, ...]]:
    """The extended description with the paragraphs that repeat themselves and the sentences that
    name unknown things taken out (None when nothing is left), and the reasons."""
    kept_paragraphs = []
    reasons: list[str] = []
    for paragraph in re.split(r"\n[ \t]*\n", text.strip()):
        verdict = check_repeats(paragraph)
        if not verdict.kept:
            reasons.append(f"paragraph dropped: {verdict.reason}")
            continue
        kept = []
        for sentence in sentences(paragraph):
            verdict = check_names(sentence, known)
            if verdict.kept:
                kept.append(sentence)
            else:
                reasons.append(f"sentence dropped: {verdict.reason}")
        if kept:
            kept_paragraphs.append(" ".join(kept) if len(kept) < len(sentences(paragraph)) else paragraph.strip())
    return ("\n\n".join(kept_paragraphs) or None), tuple(reasons)


__all__ = [
    "KEEP",
    "Verdict",
    "check_description",
    "check_names",
    "check_parameter",
    "check_repeats",
    "check_summary",
    "mentioned_names",
    "sentences",
    "strip_examples",
]
