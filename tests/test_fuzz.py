"""Property tests: any backend text inserted into any shape of definition stays a docstring of that text."""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from docucode_hook.docstrings.insert import insert_docstrings, normalize_docstring
from docucode_hook.docstrings.verify import assert_only_docstrings_changed, definition_line_map, docstring_values

# (template, line of the definition inside it); {I} is one level of the module's indentation.
SHAPES = [
    ("def f(a, b):\n{I}return a + b\n", 1),
    ("async def f(a, /, b, *args, c, **kwargs):\n{I}await g(a)\n", 1),
    ("@dec(1, key='v')\n@other\ndef f():\n{I}pass\n", 3),
    ("def f(): return 1  # note\n", 1),
    ("def f(x: int) -> int: ...\n", 1),
    ("class C:\n{I}def m(self, *, k=1):\n{I}{I}# why\n{I}{I}return k\n", 2),
    ("def outer():\n{I}def inner(*a, **k):\n{I}{I}return a\n{I}return inner\n", 2),
    ("class C: pass  # c\n", 1),
    ("class C(Base, metaclass=M):\n{I}'''Old.'''\n{I}x = 1\n", 1),
    ("def f(\n{I}a,\n{I}b=')',\n):  # sig\n{I}return (a,\n{I}{I}b)\n", 1),
    ("@property\nasync def f(self, /): '''Old'''; return 1\n", 2),
]

FRAGMENTS = ['"', "'", '"""', "'''", "\\", "\\\\", "\x00", "\r\n", "\r", "\n", "\t", " ", "\u2028", "\x0c",
             "\ufeff", "é", "\U0001f600", 'r"""x"""', "def g(): pass", "    return 1", "#", "\\N{DASH}", "x" * 500]

TEXT = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(exclude_categories=())),
        st.sampled_from(FRAGMENTS),
    ),
    max_size=12,
).map("".join).filter(lambda text: normalize_docstring(text) != "")

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _module(shapes: list[int], indent: str, newline: str, with_module_doc: bool) -> tuple[str, list[int]]:
    """Source made of the chosen shapes (blank line between them) and each one's definition line."""
    header = "#!/usr/bin/env python\nfrom __future__ import annotations\n\n" if with_module_doc else ""
    parts, lines, offset = [header], [], header.count("\n")
    for index in shapes:
        template, line = SHAPES[index]
        chunk = template.replace("{I}", indent) + "\n"
        parts.append(chunk)
        lines.append(offset + line)
        offset += chunk.count("\n")
    return "".join(parts).replace("\n", newline), lines


def _check(source: str, docstrings: dict[int, str]) -> str:
    result = insert_docstrings(source, docstrings)
    ast.parse(result)
    assert_only_docstrings_changed(source, result)
    moved = definition_line_map(source, result)
    values = docstring_values(result)
    for line, text in docstrings.items():
        assert values[moved[line]] == normalize_docstring(text)
    assert insert_docstrings(result, {moved[line]: text for line, text in docstrings.items()}) == result
    return result


@FUZZ
@given(text=TEXT)
@example(text="\r\x0c0\r0")  # a form feed that leading blank lines bring to the front
def test_any_text_reads_back_as_itself_modulo_whitespace(text: str) -> None:
    result = _check("def f(a, b):\n    return a\n", {1: text})
    value = docstring_values(result)[1]
    # The normalisation only ever touches whitespace.
    assert value.split() == text.split()
    assert not any(line != line.rstrip(" \t") for line in result.split("\n"))


@FUZZ
@given(
    shapes=st.lists(st.integers(0, len(SHAPES) - 1), min_size=1, max_size=4),
    indent=st.sampled_from(["    ", "  ", "\t"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    with_module_doc=st.booleans(),
    data=st.data(),
)
def test_every_shape_indent_and_newline(
    shapes: list[int], indent: str, newline: str, with_module_doc: bool, data: st.DataObject
) -> None:
    source, lines = _module(shapes, indent, newline, with_module_doc)
    targets = lines + [0] if with_module_doc else lines
    docstrings = {line: data.draw(TEXT, label=f"text for line {line}") for line in targets}
    result = _check(source, docstrings)
    if newline == "\r\n":
        assert "\n" not in result.replace("\r\n", "")
    assert result.startswith("#!/usr/bin/env python") == with_module_doc
