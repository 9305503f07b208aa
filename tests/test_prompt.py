"""The shared prompt builder: context, instruction, and truncation that keeps code parseable."""

from __future__ import annotations

import ast

import pytest

from docucode_hook.code.records import Style
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.backends.prompt import ANSWER_HEADER, Prompt, build_prompt, build_record, fit_prompt

SOURCE = '''\
import os
from typing import Iterable


class Walker(Base):
    """Walks trees."""

    @cached(size=3)
    def walk(self, root: str,
             pattern: str = "*") -> Iterable[str]:
        for folder, _, files in os.walk(root):
            if folder.startswith("."):
                continue
            for name in files:
                if fnmatch(name, pattern):
                    yield os.path.join(folder, name)
        self.done = True
        return None
'''


@pytest.fixture(scope="module")
def ctx():
    return next(iter_contexts(SOURCE, "walker.py"))


def test_prompt_holds_instruction_context_and_code(ctx):
    built = build_prompt(ctx, Style.NUMPY)
    assert built.prompt.startswith("### Instruction\nWrite a NumPy-style docstring for the Python method `Walker.walk`.")
    for line in ("import: import os", "class: Walker(Base) - Walks trees.", "calls: os.walk"):
        assert line in built.prompt
    assert built.code_snippet.startswith("@cached(size=3)\ndef walk(self, root: str,")
    assert built.text.endswith(ANSWER_HEADER)


@pytest.mark.parametrize("budget", range(200, 900, 25))
def test_truncated_code_keeps_the_signature_and_still_parses(ctx, budget):
    built = build_prompt(ctx, Style.GOOGLE, budget_chars=budget)
    code = built.code_snippet
    assert code.startswith("@cached(size=3)\ndef walk(self, root: str,\n         pattern: str = \"*\") -> Iterable[str]:")
    ast.parse(code)
    assert len(built.text) <= max(budget, len(built.prompt) + 200)


def test_fit_prompt_shortens_to_a_token_limit(ctx):
    built = build_prompt(ctx, Style.GOOGLE)
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in tokenizer: one token a word
    fitted = fit_prompt(built, words, words(built.text) - 10)
    assert words(fitted.text) <= words(built.text) - 10
    assert "truncated" in fitted.code_snippet
    ast.parse(fitted.code_snippet)


def test_fit_prompt_drops_context_when_the_signature_alone_leaves_no_room(ctx):
    built = build_prompt(ctx, Style.GOOGLE)
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in tokenizer: one token a word
    signature_only = fit_prompt(built, words, 1).code_snippet  # the code can shrink this far
    no_context = Prompt(built.prompt.split("### Context\n")[0], signature_only)
    first_line = built.prompt.split("### Context\n")[1].splitlines()[0]
    room = words(no_context.text) + 2 + words(first_line)  # the signature and one context line fit

    fitted = fit_prompt(built, words, room)
    assert words(fitted.text) <= room
    assert fitted.code_snippet == signature_only
    assert fitted.prompt.startswith(no_context.prompt)
    kept = fitted.prompt[len(no_context.prompt):].splitlines()[1:]
    assert kept, "some context still fits"
    assert kept == built.prompt.split("### Context\n")[1].splitlines()[: len(kept)]  # the first lines stay
    assert fit_prompt(built, words, words(no_context.text) - 1).prompt == no_context.prompt  # too long even so


def test_training_record_is_the_seed_format(ctx):
    record = build_record(ctx, Style.GOOGLE, "  Walk the tree.  ")
    assert set(record) == {"prompt", "code_snippet", "completion"} and record["completion"] == "Walk the tree."


def test_comment_prompt_keeps_signature_and_marked_block_when_truncated() -> None:
    from docucode_hook.backends.prompt import BLOCK_END, BLOCK_START, TRUNCATED, build_comment_prompt, fit_prompt

    body = "".join(f"    step_{i} = compute({i})\n" for i in range(60))
    code = f"def run(items):\n{body}    for item in items:\n        use(item)\n        keep(item)\n{body}    return items\n"
    first = 62  # the `for` line
    built = build_comment_prompt("run", code, first, first + 2, budget_chars=600)
    snippet = built.code_snippet
    lines = snippet.splitlines()
    assert len(built.text) <= 600 and lines[0] == "def run(items):" and lines[1] == "    " + TRUNCATED.strip()
    start = lines.index("    " + BLOCK_START)
    assert lines[start + 1 : start + 5] == ["    for item in items:", "        use(item)", "        keep(item)", "    " + BLOCK_END]
    assert lines[start - 1] == "    step_59 = compute(59)" and lines[-1] == "    " + TRUNCATED.strip()
    ast.parse(snippet)
    # Fitting to a token budget shortens it the same way: the block survives.
    fitted = fit_prompt(built, len, 300)
    assert len(fitted.text) <= 300 and fitted.task == built.task
    assert "    for item in items:" in fitted.code_snippet and BLOCK_END in fitted.code_snippet
