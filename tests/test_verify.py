"""Tests for the AST check that stands between an edit and the write."""

from __future__ import annotations

import pytest

from docucode_hook.docstrings.verify import UnsafeEdit, assert_only_docstrings_changed, definition_line_map, docstring_values

SAFE = {
    "docstring added": ("def f():\n    return 1\n", 'def f():\n    """Doc."""\n    return 1\n'),
    "docstring replaced": ("def f():\n    'Old.'\n    return 1\n", "def f():\n    'New.'\n    return 1\n"),
    "body that was only a docstring": ("def f(): 'Old.'\n", "def f():\n    '''New\n    text.'''\n"),
    "one-line body rebuilt": ("def f(): return 1  # c\n", 'def f():\n    """D."""\n    return 1  # c\n'),
    "module and class docstrings": ("class C:\n    x = 1\n", '"""M."""\nclass C:\n    """C."""\n    x = 1\n'),
    "comments and layout only": ("x = (1 +\n  2)\n", "# note\nx = (1 + 2)\n"),
}

UNSAFE = {
    "statement changed": ("def f():\n    return 1\n", 'def f():\n    """D."""\n    return 2\n', "near line 3$"),
    "second function changed": (
        "def f():\n    pass\n\ndef g():\n    pass\n",
        'def f():\n    """D."""\n    pass\n\ndef g():\n    return\n',
        "near line 6$",
    ),
    "code swallowed into the docstring": ("def f():\n    x = 1\n", 'def f():\n    """x = 1"""\n', "near line 1"),
    "ellipsis dropped": ("def f(): ...\n", 'def f():\n    """D."""\n', "near line 1"),
    "statement added at the end": ("x = 1\n", "x = 1\ny = 2\n", "near line 2"),
    "second string became the docstring": (
        "def f():\n    'a'\n    'b'\n",
        "def f():\n    'b'\n",
        "changed",
    ),
}


@pytest.mark.parametrize(("old", "new"), SAFE.values(), ids=SAFE.keys())
def test_docstring_only_edits_pass(old: str, new: str) -> None:
    assert_only_docstrings_changed(old, new)


@pytest.mark.parametrize(("old", "new", "where"), UNSAFE.values(), ids=UNSAFE.keys())
def test_other_edits_are_refused(old: str, new: str, where: str) -> None:
    with pytest.raises(UnsafeEdit, match=where):
        assert_only_docstrings_changed(old, new)


def test_new_syntax_error_is_refused_with_its_line() -> None:
    with pytest.raises(UnsafeEdit, match=r"^new source does not parse: line 2: "):
        assert_only_docstrings_changed("def f():\n    pass\n", 'def f():\n    """D.""""\n    pass\n')


def test_nul_byte_in_new_source_is_refused() -> None:
    with pytest.raises(UnsafeEdit, match="new source does not parse"):
        assert_only_docstrings_changed("x = 1\n", "x = 1\0\n")


def test_unparsable_original_is_refused() -> None:
    with pytest.raises(UnsafeEdit, match="original source does not parse"):
        assert_only_docstrings_changed("def f(:\n", "x = 1\n")


def test_bytes_literal_is_code_not_a_docstring() -> None:
    with pytest.raises(UnsafeEdit):
        assert_only_docstrings_changed("def f():\n    b'x'\n", "def f():\n    b'y'\n")


def test_docstring_values_keys_and_cleaning() -> None:
    source = (
        '"""Module."""\n'
        "@dec\n"
        "class C:\n"
        "    '''Class\n\n        indented.\n    '''\n"
        "    async def m(self):\n"
        "        return 1\n"
        "    def n(self):\n"
        "        r'''Raw \\d.'''\n"
    )
    assert docstring_values(source) == {0: "Module.", 3: "Class\n\nindented.", 10: "Raw \\d."}


def test_definition_line_map_follows_inserted_lines() -> None:
    old = "def f():\n    pass\n\n@dec\nclass C:\n    def m(self):\n        pass\n"
    new = (
        'def f():\n    """One\n    two."""\n    pass\n\n'
        '@dec\nclass C:\n    def m(self):\n        """M."""\n        pass\n'
    )
    assert definition_line_map(old, new) == {0: 0, 1: 1, 5: 7, 6: 8}
