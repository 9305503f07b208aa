"""Table-driven before/after tests for docstring insertion with LibCST."""

from __future__ import annotations

import codecs

import pytest

from docucode_hook.fileio import read_source, write_source
from docucode_hook.docstrings.insert import InsertError, docstring_literal, insert_docstrings, normalize_docstring
from docucode_hook.docstrings.verify import assert_only_docstrings_changed, definition_line_map, docstring_values

LONG = "x" * 300

CASES = {
    "plain def": (
        "def add(a, b):\n    return a + b\n",
        {1: "Return the sum."},
        'def add(a, b):\n    """Return the sum."""\n    return a + b\n',
    ),
    "method, multi-line text": (
        "class C:\n    def m(self, x):\n        return x\n",
        {2: "Echo x.\n\nArgs:\n    x: The value."},
        'class C:\n    def m(self, x):\n        """Echo x.\n\n        Args:\n            x: The value.\n'
        '        """\n        return x\n',
    ),
    "nested class and its method": (
        "class Outer:\n    class Inner:\n        def m(self):\n            pass\n",
        {2: "Inner part.", 3: "Do nothing."},
        'class Outer:\n    class Inner:\n        """Inner part."""\n        def m(self):\n'
        '            """Do nothing."""\n            pass\n',
    ),
    "async def": (
        "async def fetch(url):\n    return await get(url)\n",
        {1: "Fetch the URL."},
        'async def fetch(url):\n    """Fetch the URL."""\n    return await get(url)\n',
    ),
    "decorators with arguments": (
        "@retry(times=3, on=(OSError,))\n@cache\ndef f():\n    return 1\n",
        {3: "Return one."},
        '@retry(times=3, on=(OSError,))\n@cache\ndef f():\n    """Return one."""\n    return 1\n',
    ),
    "decorated class": (
        "@dataclass(frozen=True)\nclass P:\n    x: int\n",
        {2: "A point."},
        '@dataclass(frozen=True)\nclass P:\n    """A point."""\n    x: int\n',
    ),
    "one-line def": (
        "def f(): return 1\n",
        {1: "Return one."},
        'def f():\n    """Return one."""\n    return 1\n',
    ),
    "one-line def with comment": (
        "def f(): x = 1; return x  # why\n",
        {1: "Return one."},
        'def f():\n    """Return one."""\n    x = 1; return x  # why\n',
    ),
    "class one-liner": (
        "class Empty: pass\n",
        {1: "Nothing inside."},
        'class Empty:\n    """Nothing inside."""\n    pass\n',
    ),
    "body only ellipsis": (
        "def stub(x: int) -> int: ...\n",
        {1: "A stub."},
        'def stub(x: int) -> int:\n    """A stub."""\n    ...\n',
    ),
    "existing docstring replaced": (
        "def f():\n    '''Old text.'''\n    return 1\n",
        {1: "New text.\n\nReturns:\n    One."},
        'def f():\n    """New text.\n\n    Returns:\n        One.\n    """\n    return 1\n',
    ),
    "docstring of a one-line suite replaced": (
        'def f(): "old"; return 1  # c\n',
        {1: "New."},
        'def f():\n    """New."""\n    return 1  # c\n',
    ),
    "same value in other quotes left alone": (
        "def f():\n    'Same.'\n    return 1\n",
        {1: "Same."},
        "def f():\n    'Same.'\n    return 1\n",
    ),
    "comment after colon and leading body comment kept": (
        "def f():  # entry point\n    # set up first\n    x = 1\n    return x\n",
        {1: "Set up and return."},
        'def f():  # entry point\n    """Set up and return."""\n    # set up first\n    x = 1\n    return x\n',
    ),
    "module docstring": (
        "import os\n",
        {0: "Tools."},
        '"""Tools."""\n\nimport os\n',
    ),
    "module docstring after shebang and encoding line": (
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nimport os\n",
        {0: "Tools."},
        '#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"""Tools."""\n\nimport os\n',
    ),
    "module docstring before from __future__": (
        "from __future__ import annotations\n\nx = 1\n",
        {0: "Settings.\n\nMore words."},
        '"""Settings.\n\nMore words.\n"""\n\nfrom __future__ import annotations\n\nx = 1\n',
    ),
    "module docstring replaced": (
        '"""Old."""\nx = 1\n',
        {0: "New."},
        '"""New."""\nx = 1\n',
    ),
    "empty module": ("", {0: "Empty."}, '"""Empty."""\n'),
    "CRLF file": (
        "def f():\r\n    return 1\r\n",
        {1: "One.\n\nMore."},
        'def f():\r\n    """One.\r\n\r\n    More.\r\n    """\r\n    return 1\r\n',
    ),
    "old Mac CR file keeps its final newline": (
        "def f():\r    return 1\r",
        {1: "One.\n\nMore."},
        'def f():\r    """One.\r\r    More.\r    """\r    return 1\r',
    ),
    "comment between decorator and def": (
        "@dec\n# why\n\nasync def f(): pass\n",
        {4: "Wait."},
        '@dec\n# why\n\nasync def f():\n    """Wait."""\n    pass\n',
    ),
    "blocks indented with two spaces": (
        "if TYPE_CHECKING:\n  class C:\n    def m(self): ...\n",
        {2: "C.\n\nMore.", 3: "M.\n\nMore."},
        'if TYPE_CHECKING:\n  class C:\n    """C.\n\n    More.\n    """\n    def m(self):\n'
        '      """M.\n\n      More.\n      """\n      ...\n',
    ),
    "tab-indented file": (
        "class C:\n\tdef m(self):\n\t\treturn 1\n",
        {2: "One.\n\nMore."},
        'class C:\n\tdef m(self):\n\t\t"""One.\n\n\t\tMore.\n\t\t"""\n\t\treturn 1\n',
    ),
    "positional-only and keyword-only": (
        "def f(a, /, b, *, c=1, **kw):\n    return a\n",
        {1: "Pick a."},
        'def f(a, /, b, *, c=1, **kw):\n    """Pick a."""\n    return a\n',
    ),
    "multi-line signature": (
        "def f(\n    a: int,\n    b: str = ')',\n) -> None:\n    pass\n",
        {1: "Take two."},
        "def f(\n    a: int,\n    b: str = ')',\n) -> None:\n    \"\"\"Take two.\"\"\"\n    pass\n",
    ),
    "very long lines": (
        f"def f():\n    return '{LONG}'\n",
        {1: f"Return {LONG}."},
        f"def f():\n    \"\"\"Return {LONG}.\"\"\"\n    return '{LONG}'\n",
    ),
    "mixed indentation in other functions untouched": (
        "def a():\n  return 1\n\ndef b():\n        return 2\n\nclass C:\n\tdef m(self):\n\t    return 3\n",
        {4: "Two.\n\nMore.", 8: "Three.\n\nMore."},
        'def a():\n  return 1\n\ndef b():\n        """Two.\n\n        More.\n        """\n        return 2\n\n'
        'class C:\n\tdef m(self):\n\t    """Three.\n\n\t    More.\n\t    """\n\t    return 3\n',
    ),
    "backslashes make a raw docstring": (
        "def f():\n    pass\n",
        {1: "Match C:\\temp\\new."},
        'def f():\n    r"""Match C:\\temp\\new."""\n    pass\n',
    ),
    "triple quotes and a trailing quote are escaped": (
        "def f():\n    pass\n",
        {1: "Say \"\"\" or '''. End with \""},
        'def f():\n    """Say ""\\" or \'\'\'. End with \\""""\n    pass\n',
    ),
    "only double triple quotes switch the quote": (
        "def f():\n    pass\n",
        {1: 'Use """ here.'},
        "def f():\n    '''Use \"\"\" here.'''\n    pass\n",
    ),
    "trailing whitespace and common indentation normalised": (
        "def f():\n    pass\n",
        {1: "  Sum.  \n\n      Args:   \n          a: x.\n"},
        'def f():\n    """Sum.\n\n    Args:\n        a: x.\n    """\n    pass\n',
    ),
    "leading blank lines before an indented first line": (
        "def f():\n    pass\n",
        {1: "\n\n    Indented first.\n  more"},
        'def f():\n    """Indented first.\n    more\n    """\n    pass\n',
    ),
}


def relocated(old: str, new: str, docstrings: dict[int, str]) -> dict[int, str]:
    """The same docstrings keyed by where their definitions start in ``new``."""
    lines = definition_line_map(old, new)
    return {lines[line]: text for line, text in docstrings.items()}


@pytest.mark.parametrize(("source", "docstrings", "expected"), CASES.values(), ids=CASES.keys())
def test_insert_table(source: str, docstrings: dict[int, str], expected: str) -> None:
    result = insert_docstrings(source, docstrings)
    assert result == expected
    assert_only_docstrings_changed(source, result)
    assert insert_docstrings(result, relocated(source, result, docstrings)) == result
    values = docstring_values(result)
    for line, text in relocated(source, result, docstrings).items():
        assert values[line] == normalize_docstring(text)


def test_bom_crlf_file_round_trip(tmp_path) -> None:
    path = tmp_path / "mod.py"
    path.write_bytes(codecs.BOM_UTF8 + b"def f():\r\n    return '\xc3\xa9'\r\n")
    sf = read_source(path)
    new = insert_docstrings(sf.text, {1: "Return \u00e9.\n\nMore."})
    assert_only_docstrings_changed(sf.text, new)
    write_source(sf, new)
    assert path.read_bytes() == (
        codecs.BOM_UTF8
        + b'def f():\r\n    """Return \xc3\xa9.\r\n\r\n    More.\r\n    """\r\n    return \'\xc3\xa9\'\r\n'
    )


def test_control_characters_are_escaped_and_read_back() -> None:
    text = "Nul \x00 bell \x07 sep \u2028 end\\"
    result = insert_docstrings("def f():\n    pass\n", {1: text})
    assert "\x00" not in result and "\u2028" not in result
    assert '"""Nul \\x00 bell \\x07 sep \\u2028 end\\\\"""' in result
    assert docstring_values(result)[1] == text


def test_no_generated_line_ends_with_whitespace() -> None:
    literal = docstring_literal("Title.\n\n   \nBody line.", "        ", "\n")
    assert all(line == line.rstrip() for line in literal.split("\n"))


def test_unknown_line_is_rejected() -> None:
    with pytest.raises(InsertError, match="^no def or class starts on line.* 2$"):
        insert_docstrings("def f():\n    pass\n", {2: "Nothing starts here."})


def test_decorator_line_is_not_the_definition_line() -> None:
    with pytest.raises(InsertError, match="line.* 1$"):
        insert_docstrings("@dec\ndef f():\n    pass\n", {1: "Wrong key."})


def test_empty_text_is_rejected() -> None:
    with pytest.raises(InsertError, match="^line 1: empty docstring$"):
        insert_docstrings("def f():\n    pass\n", {1: " \n\t\n"})


def test_syntax_error_is_a_one_line_insert_error() -> None:
    with pytest.raises(InsertError, match="^LibCST cannot parse it: parser error") as info:
        insert_docstrings("def f(:\n    pass\n", {1: "Broken."})
    assert "\n" not in str(info.value)


def test_nothing_to_insert_returns_source_unparsed() -> None:
    broken = "def f(:\n"
    assert insert_docstrings(broken, {}) is broken
