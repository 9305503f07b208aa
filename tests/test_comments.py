"""Inline comments: which blocks are selected, LibCST insertion run twice, verification, and the CLI end to end."""

from __future__ import annotations

import ast
import subprocess
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docucode_hook.cli import main
from docucode_hook.comments import apply_comments, find_comment_sites, sanitize_comment
from docucode_hook.config import Config, ConfigError, load_mapping
from docucode_hook.backends.prompt import BLOCK_END, BLOCK_START, COMMENT_TASK
from docucode_hook.docstrings.verify import UnsafeEdit, assert_only_comment_lines_added

CONFIG = Config(comments=True, max_comments_per_function=9)


def _selected(body: str, config: Config = CONFIG) -> list[str]:
    """First line (stripped) of each selected block of ``def f(x, y):`` + body."""
    source = "def f(x, y):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    lines = source.splitlines()
    return [lines[site.line - 1].strip() for site in find_comment_sites(source, config)]


SELECTION = {
    # name: (body, selected first lines)
    "loop with a non-trivial body": ("for i in x:\n    a(i)\n    b(i)\n", ["for i in x:"]),
    "loop with a nested block": ("while x:\n    if y:\n        x = y\n", ["while x:"]),
    "loop with one plain statement": ("for i in x:\n    total += i\n", []),
    "nested comprehension": ("pairs = [(a, b) for a in x for b in y]\n", ["pairs = [(a, b) for a in x for b in y]"]),
    "comprehension inside comprehension": ("grid = [[c for c in r] for r in x]\n", ["grid = [[c for c in r] for r in x]"]),
    "simple comprehension": ("evens = [i for i in x if i % 2 == 0]\n", []),
    "three-operand condition": ("if x and y and not z:\n    go()\n", ["if x and y and not z:"]),
    "mixed and/or": ("ok = x and y or z\n", ["ok = x and y or z"]),
    "two-operand condition": ("if x and y:\n    go()\n", []),
    "recursion": ("return f(x - 1, y) + 1\n", ["return f(x - 1, y) + 1"]),
    "recursion through self": ("return self.f(x)\n", ["return self.f(x)"]),
    "regex": ('m = re.match(r"\\d+", x)\n', ['m = re.match(r"\\d+", x)']),
    "two bit operations": ("mask = (x >> 3) & 0xFF\n", ["mask = (x >> 3) & 0xFF"]),
    "one bit operation is trivial": ("low = x & 1\n", []),
    "trivial lines": ("pass\nreturn x\ny = x + 1\nprint(y)\n", []),
    "already commented above": ("# walk twice\nfor i in x:\n    a(i)\n    b(i)\n", []),
    "comment above, blank line between": ("# walk twice\n\nfor i in x:\n    a(i)\n    b(i)\n", []),
    "trailing comment": ("for i in x:  # walk\n    a(i)\n    b(i)\n", []),
    "comment inside a string is no comment": ('s = "# no"\nfor i in x:\n    a(i)\n    b(i)\n', ["for i in x:"]),
    "elif has no line of its own": ("if x:\n    a()\nelif x and y and z:\n    b()\n", []),
    "statement sharing its line": ("if y: ok = x and y or z\n", []),
    "nested blocks each scored on their own": (
        "for i in x:\n    if i and y and x:\n        a(i)\n    b(i)\n",
        ["for i in x:", "if i and y and x:"],
    ),
    "nested function is its own turn": ("def g():\n    return g() & 1 | 2\nreturn g\n", ["return g() & 1 | 2"]),
}


@pytest.mark.parametrize(("body", "expected"), SELECTION.values(), ids=SELECTION.keys())
def test_selection(body: str, expected: list[str]) -> None:
    assert _selected(body) == expected


def test_at_most_n_per_function_highest_score_first_counting_existing_comments() -> None:
    body = (
        "for i in x:\n    a(i)\n    b(i)\n"  # 2
        "m = (x >> 1) & (y << 2) | 3\n"  # 4 bit operations
        "# already there\nwhile x:\n    a()\n    b()\n"  # commented: uses one of the two
    )
    assert _selected(body, Config(max_comments_per_function=2)) == ["m = (x >> 1) & (y << 2) | 3"]
    assert _selected(body, Config(max_comments_per_function=1)) == []
    assert _selected(body, Config(comment_threshold=3)) == ["m = (x >> 1) & (y << 2) | 3"]


def test_skip_marker_and_module_level_code_are_left_alone() -> None:
    loop = "for i in x:\n    a(i)\n    b(i)\n"
    source = loop + "\n# docucode: skip\ndef f(x):\n" + textwrap.indent(loop, "    ")
    assert find_comment_sites(source, CONFIG) == []


def test_prompt_marks_the_block_inside_the_whole_function() -> None:
    source = "@cache\ndef f(x):\n    total = 0\n    for i in x:\n        a(i)\n        b(i)\n    return total\n"
    (site,) = find_comment_sites(source, CONFIG)
    assert site.prompt.task == COMMENT_TASK and "`f`" in site.prompt.prompt
    assert site.prompt.code_snippet == (
        f"@cache\ndef f(x):\n    total = 0\n    {BLOCK_START}\n    for i in x:\n        a(i)\n        b(i)\n"
        f"    {BLOCK_END}\n    return total"
    )
    assert site.prompt.text.endswith("### Comment\n")


# --------------------------------------------------------------------------- insertion, twice


INSERTION = {
    "plain": (
        "def f(x):\n    for i in x:\n        a(i)\n        b(i)\n",
        "def f(x):\n    # Visit each item\n    for i in x:\n        a(i)\n        b(i)\n",
    ),
    "CRLF newlines": (
        "def f(x):\r\n    for i in x:\r\n        a(i)\r\n        b(i)\r\n",
        "def f(x):\r\n    # Visit each item\r\n    for i in x:\r\n        a(i)\r\n        b(i)\r\n",
    ),
    "tabs": (
        "def f(x):\n\tfor i in x:\n\t\ta(i)\n\t\tb(i)\n",
        "def f(x):\n\t# Visit each item\n\tfor i in x:\n\t\ta(i)\n\t\tb(i)\n",
    ),
    "nested blocks, in a method": (
        "class C:\n    def f(self, x):\n        with x:\n"
        "            while x and self and x.y:\n                x = x.y\n",
        "class C:\n    def f(self, x):\n        with x:\n            # Visit each item\n"
        "            while x and self and x.y:\n                x = x.y\n",
    ),
    "decorated async def": (
        "@retry(3)\nasync def f(x):\n    async for i in x:\n        await a(i)\n        await b(i)\n",
        "@retry(3)\nasync def f(x):\n    # Visit each item\n"
        "    async for i in x:\n        await a(i)\n        await b(i)\n",
    ),
    "blank line and comment above stay": (
        "def f(x):\n    y = 1  # one\n\n    return re.sub('#', '', x)\n",
        "def f(x):\n    y = 1  # one\n\n    # Visit each item\n    return re.sub('#', '', x)\n",
    ),
}


@pytest.mark.parametrize(("before", "after"), INSERTION.values(), ids=INSERTION.keys())
def test_insertion_before_after_and_second_run_is_a_no_op(before: str, after: str) -> None:
    sites = find_comment_sites(before, CONFIG)
    new, count = apply_comments(before, sites, ["Visit each item"] * len(sites), CONFIG)
    assert (new, count) == (after, 1)
    assert find_comment_sites(new, CONFIG) == []
    assert apply_comments(new, [], [], CONFIG) == (new, 0)


def test_two_blocks_in_one_function_each_get_their_line() -> None:
    source = "def f(x):\n    for i in x:\n        if i and x and x.y:\n            a(i)\n        b(i)\n"
    sites = find_comment_sites(source, CONFIG)
    new, count = apply_comments(source, sites, ["Walk the items", "# Only the good ones\nmore"], CONFIG)
    assert count == 2
    assert new == (
        "def f(x):\n    # Walk the items\n    for i in x:\n        # Only the good ones\n"
        "        if i and x and x.y:\n            a(i)\n        b(i)\n"
    )


SANITIZE = {
    "plain": ("Walk the tree.", "Walk the tree."),
    "leading hashes and spaces": ("## Walk  the\ttree", "Walk the tree"),
    "first line only": ("Walk the tree\nand more", "Walk the tree"),
    "control and bidi characters": ("Walk\x1b[31m the \u202etree\x00", "Walk [31m the tree"),
    "long text cut at a word": ("word " * 30, ("word " * 16).strip()),
    "one huge word": ("x" * 200, None),
    "empty": ("   \n  ", None),
    "None": (None, None),
    "punctuation only": ("#--- ...", None),
    "pragma": ("type: ignore", None),
    "noqa": ("noqa: E501", None),
    "encoding cookie": ("-*- coding: latin-1 -*-", None),
}


@pytest.mark.parametrize(("raw", "expected"), SANITIZE.values(), ids=SANITIZE.keys())
def test_sanitize_comment(raw: str | None, expected: str | None) -> None:
    assert sanitize_comment(raw) == expected


def test_sanitized_text_is_at_most_80_characters() -> None:
    assert len(sanitize_comment("ab " * 100)) <= 80


# --------------------------------------------------------------------------- verification


VERIFY_REJECTS = {
    "code changed": ("def f():\n    return 1\n", "def f():\n    # one\n    return 2\n"),
    "original comment removed": ("def f():\n    # keep\n    return 1\n", "def f():\n    # other\n    return 1\n"),
    "line edited, AST equal": ("x = (1 +\n  2)\n", "x = (1 + 2)\n"),
    "comment-like line inside a string": ('x = """\na\n"""\n', 'x = """\n# a\na\n"""\n'),
}


@pytest.mark.parametrize(("old", "new"), VERIFY_REJECTS.values(), ids=VERIFY_REJECTS.keys())
def test_verify_rejects_anything_but_added_comment_lines(old: str, new: str) -> None:
    with pytest.raises(UnsafeEdit):
        assert_only_comment_lines_added(old, new)


def test_verify_accepts_added_comment_lines() -> None:
    assert_only_comment_lines_added("def f():\n    # a\n    return 1\n", "def f():\n    # a\n    # a\n    return 1\n")


FUZZ_SOURCE = (
    "import re\n\n\nclass C:\n    @property\n    async def f(self, x):\n"
    "        for i in x:\n            if i and x or not i:\n                yield i\n            x = x >> 1 & 3\n"
    '        return re.sub("#", "", x)\n\n\ndef g(n):\r\n\treturn g(n - 1) if n else [[a for a in b] for b in n]\r\n'
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.one_of(st.none(), st.text()), min_size=5, max_size=5))
def test_fuzz_any_backend_text_gives_a_parsing_file_with_the_same_ast(texts: list[str | None]) -> None:
    config = Config(max_comments_per_function=9)
    sites = find_comment_sites(FUZZ_SOURCE, config)
    assert len(sites) == 5
    new, count = apply_comments(FUZZ_SOURCE, sites, texts, config)
    assert ast.dump(ast.parse(new)) == ast.dump(ast.parse(FUZZ_SOURCE))
    assert len(new.splitlines()) - len(FUZZ_SOURCE.splitlines()) == count <= len(sites)
    # At most one new line above each block, and a second pass adds nothing it could.
    again = find_comment_sites(new, config)
    assert len(again) == len(sites) - count
    assert apply_comments(new, again, [None] * len(again), config) == (new, 0)


# --------------------------------------------------------------------------- config and CLI


def test_config_options_and_validation() -> None:
    config = load_mapping({"comments": True, "max-comments-per-function": 1, "comment-threshold": 3})
    assert (config.comments, config.max_comments_per_function, config.comment_threshold) == (True, 1, 3)
    with pytest.raises(ConfigError, match="comment_threshold"):
        load_mapping({"comment-threshold": 0})


COMPLEX = (
    "import re\n\n\ndef tokens(text, flags):\n"
    '    """Split text into tokens."""\n'
    "    out = []\n"
    "    for word in text.split():\n"
    "        if word and not word.startswith('#') or flags & 1:\n"
    "            out.append(word)\n"
    "    return [re.sub(r'\\W', '', w) for w in out]\n"
)


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tokens.py").write_text(COMPLEX, encoding="utf-8")
    return tmp_path


def test_template_backend_skips_comments_with_one_warning(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--comments", "--backend", "template", "tokens.py"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and "--comments needs a model backend" in err
    assert (project / "tokens.py").read_text(encoding="utf-8") == COMPLEX


def test_no_comments_flag_overrides_the_config(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.docucode]\ncomments = true\nbackend = 'template'\n")
    assert main(["--no-comments", "tokens.py"]) == 0  # no warning path taken either


def test_end_to_end_with_the_tiny_model(project: Path, tiny_model_dir: Path, capsys) -> None:
    """The real model backend (NumPy runtime) writes comments; the file parses; a re-run is a no-op."""
    argv = ["--comments", "--model", str(tiny_model_dir), "--no-cache", "tokens.py"]
    assert main(argv) == 1
    new = (project / "tokens.py").read_text(encoding="utf-8")
    added = [line for line in new.splitlines() if line not in COMPLEX.splitlines()]
    assert added and all(line.lstrip().startswith("# ") for line in added)
    assert ast.dump(ast.parse(new)) == ast.dump(ast.parse(COMPLEX))
    assert f"wrote 0 docstring(s) and {len(added)} comment(s) in tokens.py" in capsys.readouterr().err
    assert main(argv) == 0
    assert (project / "tokens.py").read_text(encoding="utf-8") == new
