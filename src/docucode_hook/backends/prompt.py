"""The one prompt format, shared by inference (backends) and training (train/).

A record is the seed's TRL shape ``{"prompt", "code_snippet", "completion"}``: ``prompt``
holds the instruction and the context, ``code_snippet`` the definition without its
docstring, ``completion`` the docstring text. ``model_input`` joins the first two into the
exact text the model continues; training appends the completion and the EOS token.

Two tasks share the format. The docstring task is the above. The comment task
(``build_comment_prompt``) shows a whole function with one block between marker lines and
asks for a one-line comment to put above that block; its answer header is ``### Comment``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from docucode_hook.code.records import FunctionContext, Style

PROMPT_VERSION = "2"  # 2: truncation keeps whole statements
# Characters, not tokens: the builder must run without a tokenizer (template backend,
# mining) and code averages 3-4 characters a BPE token, so 2,400 chars stays near 700 tokens.
DEFAULT_BUDGET_CHARS = 2400
MAX_IMPORTS = 12
MAX_CALLS = 16
TRUNCATED = "    ...  # truncated"
INSTRUCTION_HEADER = "### Instruction\n"
CODE_HEADER = "### Code\n"
CONTEXT_HEADER = "### Context\n"
ANSWER_HEADER = "\n### Docstring\n"
DOCSTRING_TASK = "docstring"
COMMENT_TASK = "comment"
COMMENT_ANSWER_HEADER = "\n### Comment\n"
_ANSWER_HEADERS = {DOCSTRING_TASK: ANSWER_HEADER, COMMENT_TASK: COMMENT_ANSWER_HEADER}
# The comment goes where BLOCK_START is; the block is everything down to BLOCK_END.
BLOCK_START = "# >>> block"
BLOCK_END = "# <<< block"
# A comment needs the block and what leads up to it, not the whole function: a smaller budget
# keeps comment prompts near 350 tokens, inside the shipped model's 512 positions.
COMMENT_BUDGET_CHARS = 1200

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_STYLE_NAMES = {Style.GOOGLE: "Google", Style.NUMPY: "NumPy", Style.SPHINX: "Sphinx"}


@dataclass(frozen=True)
class Prompt:
    prompt: str
    code_snippet: str
    task: str = DOCSTRING_TASK

    @property
    def text(self) -> str:
        """The whole model input: instruction, context, code and the answer header."""
        return model_input(self.prompt, self.code_snippet, self.task)


def model_input(prompt: str, code_snippet: str, task: str = DOCSTRING_TASK) -> str:
    """Join an instruction, a code snippet and the task's answer header into one model input."""
    return f"{prompt}{CODE_HEADER}{code_snippet.rstrip()}{_ANSWER_HEADERS[task]}"


def record_input(record: Mapping[str, Any]) -> str:
    """The model input of a mined record of either task (records without "task" are docstrings)."""
    return model_input(record["prompt"], record["code_snippet"], record.get("task", DOCSTRING_TASK))


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


def style_name(style: Style) -> str:
    """How the instruction names a style: "Google", "NumPy", "Sphinx"."""
    return _STYLE_NAMES[style]


def _instruction(ctx: FunctionContext, style: Style) -> str:
    kind = {"function": "method" if ctx.is_method else "function"}.get(ctx.kind, ctx.kind)
    return f"{INSTRUCTION_HEADER}Write a {style_name(style)}-style docstring for the Python {kind} `{ctx.qualname}`.\n"


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
        if _chars(lines[:end]) + len(marker) > budget:
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
    fixed = len(head) + len(CODE_HEADER) + len(ANSWER_HEADER) + len(CONTEXT_HEADER)
    code_budget = max(budget_chars - fixed - sum(len(line) + 1 for line in context), 0)
    code = _truncate_code(ctx.code, _signature_lines(ctx.code), code_budget)
    # Context is trimmed only when even the shortest code (signature only) leaves no room.
    room = budget_chars - fixed - len(code)
    while context and sum(len(line) + 1 for line in context) > room:
        context.pop()
    prompt = head + (CONTEXT_HEADER + "\n".join(context) + "\n" if context else "")
    return Prompt(prompt=prompt, code_snippet=code)


def fit_prompt(built: Prompt, count_tokens: Callable[[str], int], max_tokens: int) -> Prompt:
    """Shorten the input until it fits a model: body lines from the end, then context lines.

    The signature is never cut; context goes last-line first, as ``build_prompt`` drops it.
    The result can still be too long (a signature or decorators longer than the model).
    """
    for _ in range(4):
        used = count_tokens(built.text)
        if used <= max_tokens:
            return built
        code = built.code_snippet
        budget = int(len(code) * max_tokens / used * 0.9)
        built = Prompt(built.prompt, shorten_snippet(code, built.task, budget), built.task)
    while count_tokens(built.text) > max_tokens and CONTEXT_HEADER in built.prompt:
        head, context = built.prompt.split(CONTEXT_HEADER, 1)
        lines = context.splitlines()[:-1]
        prompt = head + (CONTEXT_HEADER + "\n".join(lines) + "\n" if lines else "")
        built = Prompt(prompt, built.code_snippet, built.task)
    return built


def shorten_snippet(code: str, task: str, budget: int) -> str:
    """``code`` cut to ``budget`` characters the way its task's builder cuts it."""
    if task == COMMENT_TASK:
        return _truncate_marked(code, budget)
    return _truncate_code(code, _signature_lines(code), budget)


def build_record(ctx: FunctionContext, style: Style, completion: str) -> dict[str, str]:
    """A training record in the seed's TRL format."""
    built = build_prompt(ctx, style)
    return {"prompt": built.prompt, "code_snippet": built.code_snippet, "completion": completion.strip()}


def mark_block(code: str, first: int, last: int) -> str:
    """``code`` with BLOCK_START above line ``first`` and BLOCK_END below line ``last`` (1-based).

    The markers take the indentation of the block's first line, so the snippet reads as the
    function with a placeholder comment where the new comment will go.
    """
    lines = code.splitlines()
    opening = lines[first - 1]
    indent = opening[: len(opening) - len(opening.lstrip())]
    marked = [*lines[: first - 1], indent + BLOCK_START, *lines[first - 1 : last], indent + BLOCK_END, *lines[last:]]
    return "\n".join(marked)


def _chars(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def marked_span(lines: list[str]) -> tuple[int, int]:
    """Indices of the BLOCK_START and BLOCK_END lines (the first line and the last when absent)."""
    start = next((i for i, line in enumerate(lines) if line.strip() == BLOCK_START), 0)
    end = next((i for i, line in enumerate(lines) if i > start and line.strip() == BLOCK_END), len(lines) - 1)
    return start, end


def _truncate_marked(code: str, budget: int) -> str:
    """Fit a marked function into ``budget`` characters, keeping what a comment needs most.

    Kept in this order: the signature, the markers and the block's first lines, then the
    lines right above the block (nearest first); lines after the block go first. Each gap
    becomes one ``...  # truncated`` line at the block's indentation.
    """
    code = code.rstrip()
    lines = code.splitlines()
    if len(code) <= budget or BLOCK_START not in code:
        return code
    start, end = marked_span(lines)
    gap = lines[start][: len(lines[start]) - len(lines[start].lstrip())] + TRUNCATED.strip()
    head = lines[: min(_signature_lines(code), start)]
    block = lines[start : end + 1]
    room = budget - _chars(head) - _chars([gap]) * 2
    if _chars(block) > room:
        inner = []
        for line in block[1:-1]:
            if _chars([block[0], *inner, line, gap, block[-1]]) > room:
                break
            inner.append(line)
        block = [block[0], *inner, gap, block[-1]]
    above: list[str] = []
    for line in reversed(lines[len(head) : start]):
        if _chars([line, *above, *block]) > room:
            break
        above.insert(0, line)
    cut_above = [gap] if len(head) + len(above) < start else []
    cut_below = [gap] if end + 1 < len(lines) else []
    return "\n".join([*head, *cut_above, *above, *block, *cut_below])


def _comment_instruction(qualname: str) -> str:
    return f"{INSTRUCTION_HEADER}Write a one-line comment for the marked block in the Python function `{qualname}`.\n"


def build_comment_prompt(
    qualname: str, code: str, first: int, last: int, budget_chars: int = COMMENT_BUDGET_CHARS
) -> Prompt:
    """The comment task: ``code`` (a dedented function) with lines ``first``..``last`` marked."""
    head = _comment_instruction(qualname)
    room = budget_chars - len(head) - len(CODE_HEADER) - len(COMMENT_ANSWER_HEADER)
    return Prompt(head, _truncate_marked(mark_block(code, first, last), room), COMMENT_TASK)


def build_comment_record(qualname: str, code: str, first: int, last: int, comment: str) -> dict[str, str]:
    """A comment-task training record: the TRL fields plus ``"task": "comment"``."""
    built = build_comment_prompt(qualname, code, first, last)
    completion = comment.strip()
    return {"prompt": built.prompt, "code_snippet": built.code_snippet, "completion": completion, "task": COMMENT_TASK}
