"""The one prompt format, shared by inference (backends) and training (train/).

A record is the seed's TRL shape ``{"prompt", "code_snippet", "completion"}``: ``prompt``
holds the instruction and the context, ``code_snippet`` the definition without its
docstring, ``completion`` the docstring text. ``model_input`` joins the first two into the
exact text the model continues; training appends the completion and the EOS token.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable

from docucode_hook.context import FunctionContext, Style

PROMPT_VERSION = "2"  # 2: truncation keeps whole statements
# Characters, not tokens: the builder must run without a tokenizer (template backend,
# mining) and code averages 3-4 characters a BPE token, so 2,400 chars stays near 700 tokens.
DEFAULT_BUDGET_CHARS = 2400
MAX_IMPORTS = 12
MAX_CALLS = 16
TRUNCATED = "    ...  # truncated"
CODE_HEADER = "### Code\n"
ANSWER_HEADER = "\n### Docstring\n"

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_STYLE_NAMES = {Style.GOOGLE: "Google", Style.NUMPY: "NumPy", Style.SPHINX: "Sphinx"}


@dataclass(frozen=True)
class Prompt:
    prompt: str
    code_snippet: str

    @property
    def text(self) -> str:
        return model_input(self.prompt, self.code_snippet)


def model_input(prompt: str, code_snippet: str) -> str:
    return f"{prompt}{CODE_HEADER}{code_snippet.rstrip()}{ANSWER_HEADER}"


def _first_line(text: str | None) -> str:
    return text.strip().splitlines()[0].strip() if text and text.strip() else ""


def _context_lines(ctx: FunctionContext) -> list[str]:
    lines = []
    if summary := _first_line(ctx.module_docstring):
        lines.append(f"module: {summary}")
    lines += [f"import: {imp}" for imp in ctx.imports[:MAX_IMPORTS]]
    if ctx.class_name:
        bases = f"({', '.join(ctx.class_bases)})" if ctx.class_bases else ""
        about = _first_line(ctx.class_docstring)
        lines.append(f"class: {ctx.class_name}{bases}" + (f" - {about}" if about else ""))
    if ctx.calls:
        lines.append(f"calls: {', '.join(ctx.calls[:MAX_CALLS])}")
    return lines


def _instruction(ctx: FunctionContext, style: Style) -> str:
    kind = {"function": "method" if ctx.is_method else "function"}.get(ctx.kind, ctx.kind)
    return f"### Instruction\nWrite a {_STYLE_NAMES[style]}-style docstring for the Python {kind} `{ctx.qualname}`.\n"


def _truncate_code(code: str, signature_lines: int, budget: int) -> str:
    """Drop body statements from the end until the code fits; the signature is never cut.

    Whole top-level statements of the body are kept, so a truncated snippet still parses
    (train.evaluate rebuilds contexts from snippets); code ast cannot read is cut by lines.
    """
    code = code.rstrip()
    lines = code.splitlines()
    if len(code) <= budget or len(lines) <= signature_lines:
        return code
    try:
        body = next(n for n in ast.parse(code).body if isinstance(n, _DEFINITIONS)).body
        ends, indent = [stmt.end_lineno for stmt in body], " " * body[0].col_offset
        start = body[0].lineno - 1
    except (SyntaxError, StopIteration):
        ends, indent, start = list(range(signature_lines + 1, len(lines) + 1)), "    ", signature_lines
    marker = indent + TRUNCATED.strip()
    kept = start
    for end in ends:
        if sum(len(line) + 1 for line in lines[:end]) + len(marker) > budget:
            break
        kept = end
    return "\n".join(lines[: max(kept, start)] + [marker])


def _signature_lines(code: str) -> int:
    """Lines of ``code`` up to and including the line that ends the signature."""
    lines = code.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(("def ", "async def ", "class ")) or (index and not line.startswith("@")):
            # The signature ends at the first line, from here on, whose code ends with ':'.
            for end in range(index, len(lines)):
                if lines[end].split("#", 1)[0].rstrip().endswith(":"):
                    return end + 1
            return len(lines)
    return min(1, len(lines))


def build_prompt(ctx: FunctionContext, style: Style, budget_chars: int = DEFAULT_BUDGET_CHARS) -> Prompt:
    """Instruction + context + code within ``budget_chars``: the body goes before the context."""
    head = _instruction(ctx, style)
    context = _context_lines(ctx)
    fixed = len(head) + len(CODE_HEADER) + len(ANSWER_HEADER) + len("### Context\n")
    code_budget = max(budget_chars - fixed - sum(len(line) + 1 for line in context), 0)
    code = _truncate_code(ctx.code, _signature_lines(ctx.code), code_budget)
    # Context is trimmed only when even the shortest code (signature only) leaves no room.
    room = budget_chars - fixed - len(code)
    while context and sum(len(line) + 1 for line in context) > room:
        context.pop()
    prompt = head + ("### Context\n" + "\n".join(context) + "\n" if context else "")
    return Prompt(prompt=prompt, code_snippet=code)


def fit_prompt(built: Prompt, count_tokens: Callable[[str], int], max_tokens: int) -> Prompt:
    """Shorten the code (body lines from the end, never the signature) until the input fits a model."""
    for _ in range(4):
        used = count_tokens(built.text)
        if used <= max_tokens:
            break
        code = built.code_snippet
        budget = int(len(code) * max_tokens / used * 0.9)
        built = Prompt(built.prompt, _truncate_code(code, _signature_lines(code), budget))
    return built


def build_record(ctx: FunctionContext, style: Style, completion: str) -> dict[str, str]:
    """A training record in the seed's TRL format."""
    built = build_prompt(ctx, style)
    return {"prompt": built.prompt, "code_snippet": built.code_snippet, "completion": completion.strip()}
