"""The chat API's side of a served model: the messages for an instruction-tuned model, and its answer
cleaned down to the docstring (or comment) text, with where each kept character came from.

A chat model is asked with a system instruction, one short example exchange in the
configured style, and the function with its context (the same facts DocuCode's own prompt
holds). It answers in its own way: a preamble ("Here is a Google-style docstring:"), code
fences, the docstring's quotes, the ``def`` line echoed, reasoning (``<think>...</think>``),
a closing remark. ``clean_answer`` keeps the text between them; the character origins let the
server's token log-probabilities be placed in the cleaned text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docucode_hook.backends.model import char_origins, cut_comment
from docucode_hook.backends.prompt import CODE_HEADER, COMMENT_TASK, CONTEXT_HEADER, INSTRUCTION_HEADER, Prompt, style_name
from docucode_hook.backends.stopping import UNPRINTABLE
from docucode_hook.code.records import Style

_DOCSTRING_SYSTEM = (
    "You write docstrings for Python code. Answer with the docstring's text only, in the {style} "
    "style: no quotes, no code, no code fences, nothing before or after it. Say only what the "
    "code shows."
)
_COMMENT_SYSTEM = (
    "You write comments for Python code. Answer with one line of comment text only, without '#': "
    "say what the marked block does and why, in plain words."
)
# The example exchange: a small function whose docstring shows every section once.
_EXAMPLE_CODE = '''def scale(values, factor=2.0):
    if factor <= 0:
        raise ValueError("factor must be positive")
    return [value * factor for value in values]'''
_EXAMPLE_COMMENT_CODE = '''def total(lines):
    count = 0
    # >>> block
    for line in lines:
        if line.strip():
            count += 1
    # <<< block
    return count'''
_EXAMPLE_COMMENT = "Count the lines that are not blank"


@dataclass(frozen=True)
class Cleaned:
    """A chat answer's kept text, and for each of its characters the index it came from in the answer."""

    text: str
    origins: tuple[int, ...]


def example_docstring(style: Style) -> str:
    """The example answer in ``style``, rendered by the hook's own renderer so it shows what DocuCode writes."""
    from docstring_parser.common import Docstring, DocstringParam, DocstringRaises, DocstringReturns

    from docucode_hook.docstrings.render import render_docstring

    doc = Docstring()
    doc.short_description = "Multiply each value by a factor."
    doc.meta = [
        DocstringParam(["param", "values"], "The numbers to scale.", "values", None, None, None),
        DocstringParam(["param", "factor"], "What each value is multiplied by.", "factor", "float", True, "2.0"),
        DocstringReturns(["returns"], "The scaled values, in their order.", "list", False),
        DocstringRaises(["raises", "ValueError"], "If factor is not positive.", "ValueError"),
    ]
    return render_docstring(doc, style)


def _user_message(prompt: Prompt) -> str:
    """The function and its context as the user's turn: DocuCode's prompt without its section headers."""
    head, _, context = prompt.prompt.partition(CONTEXT_HEADER)
    parts = [head.removeprefix(INSTRUCTION_HEADER).strip()]
    if context.strip():
        parts.append("Context:\n" + context.strip())
    parts.append("```python\n" + prompt.code_snippet.rstrip() + "\n```")
    return "\n\n".join(parts)


def chat_messages(prompt: Prompt, style: Style) -> list[dict[str, str]]:
    """The chat request's messages for a built prompt (either task)."""
    if prompt.task == COMMENT_TASK:
        example_ask = "Write a one-line comment for the marked block in the Python function `total`."
        return [
            {"role": "system", "content": _COMMENT_SYSTEM},
            {"role": "user", "content": f"{example_ask}\n\n```python\n{_EXAMPLE_COMMENT_CODE}\n```"},
            {"role": "assistant", "content": _EXAMPLE_COMMENT},
            {"role": "user", "content": _user_message(prompt)},
        ]
    name = style_name(style)
    example_ask = f"Write a {name}-style docstring for the Python function `scale`."
    return [
        {"role": "system", "content": _DOCSTRING_SYSTEM.format(style=name)},
        {"role": "user", "content": f"{example_ask}\n\n```python\n{_EXAMPLE_CODE}\n```"},
        {"role": "assistant", "content": example_docstring(style)},
        {"role": "user", "content": _user_message(prompt)},
    ]


def prompt_overhead(style: Style) -> str:
    """The text a docstring request sends besides the function's own prompt (for fitting it to the context)."""
    return "\n".join(message["content"] for message in chat_messages(Prompt("", ""), style))


# ----------------------------------------------------------------------------- cleaning

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>\s*", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>\s*", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*(```|~~~)[\w+-]*[ \t]*$", re.MULTILINE)
_QUOTES = re.compile(r'[rRuU]?("""|\'\'\')')
_DEF_LINE = re.compile(r"^[ \t]*(?:@|async[ \t]+def[ \t]|def[ \t]|class[ \t])")
# A line that introduces the answer rather than being part of it: an interjection, or a line
# ending in a colon that opens like a reply or names what follows.
_PREAMBLE = re.compile(
    r"^[ \t]*(?:(?:sure|certainly|of course|okay|ok|absolutely|great)\b[^\n]*"
    r"|(?:(?:here(?:'s| is| are)|below is|the following|this is|i've|i have)\b|[^\n]*\b(?:docstring|comment)\b)"
    r"[^\n]*:)[ \t]*$",
    re.IGNORECASE,
)
# A closing remark after the answer.
_POSTAMBLE = re.compile(
    r"^[ \t]*(?:this (?:docstring|comment)|i hope|let me know|feel free|note:|explanation:|this follows)\b",
    re.IGNORECASE | re.MULTILINE,
)


class _Traced:
    """Text with the index each character had in the original answer, cut by operations that only delete."""

    def __init__(self, text: str, origins: list[int]) -> None:
        self.text, self.origins = text, origins

    def span(self, start: int, end: int) -> _Traced:
        """The characters in ``[start, end)``."""
        return _Traced(self.text[start:end], self.origins[start:end])

    def without(self, start: int, end: int) -> _Traced:
        """All but the characters in ``[start, end)``."""
        return _Traced(self.text[:start] + self.text[end:], self.origins[:start] + self.origins[end:])

    def strip(self) -> _Traced:
        """Without surrounding blanks."""
        start = len(self.text) - len(self.text.lstrip())
        return self.span(start, len(self.text.rstrip()))

    def dedent(self) -> _Traced:
        """Lines after the first lose the indentation they share (the first line's own is stripped)."""
        lines = self.text.split("\n")
        indents = [len(line) - len(line.lstrip(" \t")) for line in lines[1:] if line.strip()]
        common = min(indents, default=0)
        text, origins, position = [], [], 0
        for index, line in enumerate(lines):
            drop = len(line) - len(line.lstrip(" \t")) if index == 0 else min(common, len(line) - len(line.lstrip(" \t")))
            text.append(line[drop:])
            origins += self.origins[position + drop : position + len(line)]
            position += len(line)
            if index < len(lines) - 1:
                text.append("\n")
                origins.append(self.origins[position])
                position += 1
        return _Traced("".join(text), origins)


def _without_reasoning(answer: _Traced) -> _Traced | None:
    """The answer without reasoning text; None when it is all reasoning (cut off before it ended)."""
    while match := _THINK.search(answer.text):
        answer = answer.without(match.start(), match.end())
    if _THINK_OPEN.search(answer.text):
        return None
    if close := _THINK_CLOSE.search(answer.text):  # the template opened the block in the prompt
        answer = answer.span(close.end(), len(answer.text))
    return answer


def _fenced(answer: _Traced) -> _Traced:
    """The first fenced block's content when the answer opens with one (the rest is talk around
    it); the text before a fence when there is any (a fence after the answer is an aside)."""
    opening = _FENCE.search(answer.text)
    if opening is None:
        return answer
    before = answer.text[: opening.start()].rstrip()
    if before:
        # A line ending in a colon just before the fence introduced it ("Example usage:").
        last = before.rfind("\n")
        if before.endswith(":") and last > 0:
            before = before[:last]
        return answer.span(0, len(before))
    start = opening.end() + 1
    closing = _FENCE.search(answer.text, start)
    return answer.span(min(start, len(answer.text)), closing.start() if closing else len(answer.text))


def _without_def(answer: _Traced) -> _Traced:
    """The answer without an echoed signature (decorators, ``def`` line(s) up to the colon); nothing
    when no docstring opens the body: an echoed function without one holds code, not text
    (SmolLM2 answered a bare request with a fenced copy of the function, and its ``return`` line
    was kept as the docstring)."""
    lines = answer.text.split("\n")
    if not lines or not _DEF_LINE.match(lines[0]):
        return answer
    position = 0
    for line in lines:
        position += len(line) + 1
        if not line.lstrip().startswith("@") and line.split("#", 1)[0].rstrip().endswith(":"):
            body = answer.span(min(position, len(answer.text)), len(answer.text)).dedent()
            return body if _QUOTES.match(body.text.lstrip()) else body.span(0, 0)
    return answer


def _quoted(answer: _Traced) -> _Traced:
    """The text inside the docstring's quotes when the answer opens with them (perhaps after a
    preamble line); else the text up to a stray closing quote."""
    text = answer.text
    opening = _QUOTES.search(text)
    if opening is None:
        return answer
    before = text[: opening.start()]
    if before.strip() and not _PREAMBLE.match(before.strip().split("\n")[-1]):
        return answer.span(0, opening.start())  # quotes after the text: they close it
    quote = opening.group(1)
    end = text.find(quote, opening.end())
    return answer.span(opening.end(), end if end >= 0 else len(text))


def _without_preamble(answer: _Traced) -> _Traced:
    """Without the lines that introduce the answer ("Sure!", "Here is the docstring:")."""
    for _ in range(3):
        first_end = answer.text.find("\n")
        if first_end < 0 or not _PREAMBLE.match(answer.text[:first_end]):
            break
        answer = answer.span(first_end + 1, len(answer.text)).strip()
    return answer


def _without_postamble(answer: _Traced) -> _Traced:
    """Without a closing remark set off by a blank line ("This docstring follows ...")."""
    for match in _POSTAMBLE.finditer(answer.text):
        if answer.text[: match.start()].endswith("\n\n"):
            return answer.span(0, match.start())
    return answer


def clean_answer(prompt: Prompt, answer: str, cut_short: bool = False) -> Cleaned | None:
    """The docstring (or comment) text of a chat answer, and where each character came from.

    ``cut_short``: the server stopped at the token limit, so the last line is unfinished and
    left out. None when nothing usable is left.
    """
    traced: _Traced | None = _Traced(answer.replace("\r\n", "\n").replace("\r", "\n"), [])
    # The replacements above shorten the text only where "\r\n" became "\n": map each kept character back.
    traced = _Traced(traced.text, char_origins(answer, traced.text))
    traced = _without_reasoning(traced)
    if traced is None:
        return None
    traced = _without_preamble(traced.strip())
    traced = _fenced(traced).strip()
    traced = _without_def(traced).strip()
    traced = _quoted(_without_preamble(traced))
    traced = _without_postamble(traced).strip().dedent()
    # The unfinished line is only in the kept text when the kept text runs to the answer's end.
    if cut_short and "\n" in traced.text and traced.origins[-1] >= len(answer.rstrip()) - 1:
        traced = traced.span(0, traced.text.rstrip().rfind("\n")).strip()
    if prompt.task == COMMENT_TASK:
        text = cut_comment(traced.text)
    else:
        # Not cut_completion: its rule that a repeated line starts a loop is for a small model's
        # greedy decoding, and a capable model's NumPy entries may share a line ("    Defaults to 0.").
        text = UNPRINTABLE.sub("", traced.text).strip() or None
    if text is None:
        return None
    inner = char_origins(traced.text, text)
    return Cleaned(text, tuple(traced.origins[i] for i in inner))


__all__ = ["Cleaned", "chat_messages", "clean_answer", "example_docstring", "prompt_overhead"]
