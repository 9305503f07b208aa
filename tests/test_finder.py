"""The ast pass: contexts for every definition, skip rules, and stale-docstring findings."""

from __future__ import annotations

import argparse
import ast
import inspect
import subprocess
import sys
import textwrap
from dataclasses import fields
from typing import Any

import pytest

from docucode_hook.config import Config
from docucode_hook.code.records import FunctionContext, Parameter, ParamKind, Style
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.finder import Finding, scan_source

P = ParamKind


def _contexts(source: str, **flags: bool) -> dict[str, FunctionContext]:
    return {ctx.qualname: ctx for ctx in iter_contexts(textwrap.dedent(source), "pkg/mod.py", **flags)}


def _context(source: str, qualname: str) -> FunctionContext:
    return _contexts(source)[qualname]


# --------------------------------------------------------------------------- context fields

FIELD_CASES = [
    # signature and parameters
    (
        "def f(a, /, b: int = 2, *args: str, c, d=4, **kw: Any) -> str: pass",
        "f",
        {
            "signature": "def f(a, /, b: int = 2, *args: str, c, d=4, **kw: Any) -> str:",
            "parameters": (
                Parameter("a", P.POSITIONAL_ONLY),
                Parameter("b", P.POSITIONAL_OR_KEYWORD, "int", "2"),
                Parameter("args", P.VAR_POSITIONAL, "str"),
                Parameter("c", P.KEYWORD_ONLY),
                Parameter("d", P.KEYWORD_ONLY, None, "4"),
                Parameter("kw", P.VAR_KEYWORD, "Any"),
            ),
            "returns_annotation": "str",
        },
    ),
    ("def f(*, key): pass", "f", {"signature": "def f(*, key):", "parameters": (Parameter("key", P.KEYWORD_ONLY),)}),
    (
        "def f(a,\n      b: 'dict[str, int]' = {'x':\n                            1}):\n    pass",
        "f",
        {"signature": "def f(a, b: 'dict[str, int]' = {'x': 1}):", "parameters": (
            Parameter("a", P.POSITIONAL_OR_KEYWORD),
            Parameter("b", P.POSITIONAL_OR_KEYWORD, "'dict[str, int]'", "{'x': 1}"),
        )},
    ),
    # non-ASCII text before a default: ast columns are bytes, the text must not shift
    ("def f(naïve='é', b: int = 2): pass", "f", {"parameters": (
        Parameter("naïve", P.POSITIONAL_OR_KEYWORD, None, "'é'"),
        Parameter("b", P.POSITIONAL_OR_KEYWORD, "int", "2"),
    )}),
    ("async def fetch(url):\n    return await get(url)", "fetch",
     {"is_async": True, "signature": "async def fetch(url):", "returns_value": True, "calls": ("get",)}),
    # methods: self/cls dropped, not for staticmethod
    (
        "class A:\n    def m(self, x): pass\n    @classmethod\n    def c(cls, y): pass\n"
        "    @staticmethod\n    def s(z): pass\n",
        "A.m",
        {"is_method": True, "parameters": (Parameter("x", P.POSITIONAL_OR_KEYWORD),), "signature": "def m(self, x):"},
    ),
    (
        "class A:\n    @classmethod\n    def c(cls, y): pass\n",
        "A.c",
        {"is_method": True, "parameters": (Parameter("y", P.POSITIONAL_OR_KEYWORD),), "decorators": ("classmethod",)},
    ),
    (
        "class A:\n    @staticmethod\n    def s(z): pass\n",
        "A.s",
        {"is_method": False, "parameters": (Parameter("z", P.POSITIONAL_OR_KEYWORD),), "decorators": ("staticmethod",)},
    ),
    # returns
    ("def f(x):\n    if x:\n        return None\n    return", "f", {"returns_value": False}),
    ("def f(x):\n    if x:\n        return x\n    return None", "f", {"returns_value": True}),
    ("def f():\n    def g():\n        return 1\n    h = lambda: 2\n    class C:\n        def m(self):\n            return 3\n",
     "f", {"returns_value": False, "is_generator": False}),
    # generators
    ("def f():\n    yield 1", "f", {"is_generator": True}),
    ("def f():\n    yield from range(3)", "f", {"is_generator": True, "calls": ("range",)}),
    ("def f():\n    def g():\n        yield 1\n    return g", "f", {"is_generator": False, "returns_value": True}),
    # raises
    (
        "def f(x):\n    try:\n        x()\n    except KeyError as err:\n        raise\n"
        "    except OSError as err:\n        raise err\n    if x:\n        raise ValueError('x') from None\n"
        "    raise errors.Bad\n    raise ValueError\n",
        "f",
        # a bare `raise` re-raises what its `except` caught (pydoclint counts it too)
        {"raises": ("KeyError", "ValueError", "errors.Bad"), "calls": ("x", "ValueError")},
    ),
    (
        "def f(p):\n    try:\n        open(p)\n    except (OSError, io.Error):\n        raise\n    except:\n        raise\n",
        "f",
        {"raises": ("OSError", "io.Error")},
    ),
    ("def f():\n    def g():\n        raise KeyError\n    g()", "f", {"raises": (), "calls": ("g",)}),
    # calls: dotted, unique, first seen, own body only, decorator calls of a nested def belong to the outer one
    (
        "def f(p):\n    os.path.join(p, str(p))\n    os.path.join(p)\n    self.save()\n    obj()[0]()\n"
        "    @wraps(p)\n    def inner():\n        hidden()\n    return inner\n",
        "f",
        {"calls": ("os.path.join", "str", "self.save", "obj", "wraps")},
    ),
    # decorators keep their arguments
    ("@app.route('/x', methods=['GET'])\n@cache\ndef view(): pass", "view",
     {"decorators": ("app.route('/x', methods=['GET'])", "cache"), "lineno": 3, "col": 0}),
    # body of only `...` and a docstring-only body
    ("def f(): ...", "f", {"code": "def f(): ...", "docstring": None}),
    ('def f():\n    """Only docs."""', "f", {"code": "def f():\n    ...", "docstring": "Only docs."}),
]


@pytest.mark.parametrize(("source", "qualname", "expected"), FIELD_CASES)
def test_context_fields(source: str, qualname: str, expected: dict[str, Any]) -> None:
    ctx = _context(source, qualname)
    for name, value in expected.items():
        assert getattr(ctx, name) == value, name


@pytest.mark.parametrize(
    "signature",
    [
        "def f(a, b, /):",
        "def f(a, /, *, b):",
        "def f(*a, b):",
        "def f(a, /, b=1, *c: int, d, **e):",
        "def f(**k):",
        "def f(a, /, *b):",
        "def f(a, /, **b):",
        "async def f() -> Iterator[int]:",
    ],
)
def test_signature_round_trips(signature: str) -> None:
    assert next(iter_contexts(f"{signature} pass", "m.py")).signature == signature


def test_signatures_of_real_modules_keep_the_parameters() -> None:
    tree = ast.parse(inspect.getsource(argparse))
    originals = {(n.lineno, n.col_offset): n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    for ctx in iter_contexts(inspect.getsource(argparse), "argparse.py"):
        rebuilt = ast.parse(textwrap.dedent(ctx.signature) + " pass").body[0]
        assert ast.dump(rebuilt.args) == ast.dump(originals[ctx.lineno, ctx.col].args), ctx.qualname


@pytest.mark.parametrize(
    ("source", "code"),
    [
        # docstring removed, decorators kept, dedented, comments kept
        (
            'class A:\n    @property\n    def x(self):  # note\n        """Doc.\n\n        More.\n        """\n'
            "        return 1\n",
            "@property\ndef x(self):  # note\n    return 1",
        ),
        # one-line defs stay one line
        ('def f(): """Doc."""; return 1', "def f(): return 1"),
        ("def f(): return 1  # why", "def f(): return 1  # why"),
        ('def f(): "Doc."', "def f(): ..."),
        # a docstring sharing its line with a statement
        ('def f():\n    """Doc."""; x = 1\n    return x', "def f():\n    x = 1\n    return x"),
        # continuation lines of a string less indented than the def are left alone
        ('class A:\n    def f(self):\n        s = """\nraw\n"""\n        return s', 'def f(self):\n    s = """\nraw\n"""\n    return s'),
    ],
)
def test_code_has_the_docstring_removed(source: str, code: str) -> None:
    ctx = next(c for c in iter_contexts(source, "m.py") if c.kind == "function")
    assert ctx.code == code
    ast.parse(ctx.code)


MODULE = '''\
"""Tools for widgets.

Longer text.
"""
from __future__ import annotations
import os
from typing import (
    TYPE_CHECKING,
    Any,
)

if TYPE_CHECKING:
    from pathlib import Path
try:
    import ujson as json
except ImportError:
    import json


class Base:
    pass


class Outer(Base, metaclass=Meta):
    """An outer class."""

    class Inner(dict):
        def method(self, x: int) -> None:
            import local_only

    def run(self):
        def helper(a):
            class Local:
                def m(self):
                    pass
            return Local

        return helper


def top(f=lambda v: v):
    return f
'''


def test_module_level_facts_are_shared() -> None:
    contexts = _contexts(MODULE)
    assert list(contexts) == [
        "Outer.Inner.method",
        "Outer.run",
        "Outer.run.<locals>.helper",
        "Outer.run.<locals>.helper.<locals>.Local.m",
        "top",
    ]
    method = contexts["Outer.Inner.method"]
    assert method.imports == (
        "from __future__ import annotations",
        "import os",
        "from typing import TYPE_CHECKING, Any",
        "from pathlib import Path",
        "import ujson as json",
        "import json",
    )
    assert method.module_docstring == "Tools for widgets.\n\nLonger text."
    assert (method.class_name, method.class_bases, method.class_docstring) == ("Inner", ("dict",), None)
    run = contexts["Outer.run"]
    assert (run.class_name, run.class_bases, run.class_docstring) == ("Outer", ("Base",), "An outer class.")
    assert (run.lineno, run.col) == (31, 4)
    helper = contexts["Outer.run.<locals>.helper"]
    assert (helper.class_name, helper.is_method, helper.returns_value) == (None, False, True)
    assert contexts["Outer.run.<locals>.helper.<locals>.Local.m"].class_name == "Local"


def test_classes_and_module_only_on_request() -> None:
    contexts = _contexts(MODULE, classes=True, modules=True)
    module = contexts["mod"]
    assert (module.kind, module.lineno, module.docstring) == ("module", 0, "Tools for widgets.\n\nLonger text.")
    assert module.code.startswith("from __future__ import annotations")
    outer = contexts["Outer"]
    assert outer.kind == "class"
    assert outer.signature == "class Outer(Base, metaclass=Meta):"
    assert outer.docstring == "An outer class."
    assert '"""' not in outer.code
    assert contexts["Outer.Inner"].class_name == "Outer"
    assert contexts["Outer.run.<locals>.helper.<locals>.Local"].kind == "class"


def test_class_parameters_come_from_init() -> None:
    source = "class Point:\n    def __init__(self, x: int, y: int = 0):\n        if x < 0:\n            raise ValueError\n"
    ctx = _contexts(source, classes=True)["Point"]
    assert ctx.parameters == (
        Parameter("x", P.POSITIONAL_OR_KEYWORD, "int"),
        Parameter("y", P.POSITIONAL_OR_KEYWORD, "int", "0"),
    )
    assert ctx.raises == ("ValueError",)


def test_lambdas_get_no_context() -> None:
    source = "square = lambda x: x * x\nclass A:\n    key = lambda self: 1\n"
    assert _contexts(source, classes=True, modules=True).keys() == {"mod", "A"}


def test_docstring_is_cleaned_like_inspect() -> None:
    ctx = _context('def f():\n    """  Summary.\n\n        Indented more.\n    """\n', "f")
    assert ctx.docstring == inspect.cleandoc('  Summary.\n\n        Indented more.\n    ')


def test_every_field_is_filled_for_a_method() -> None:
    source = textwrap.dedent('''\
        """Doc."""
        import os

        class A(B):
            """A doc."""

            @deco
            def m(self, x: int) -> int:
                """Old."""
                if x:
                    raise ValueError
                return os.getpid()
    ''')
    ctx = next(iter_contexts(source, "a.py"))
    defaults = FunctionContext(path="", qualname="", name="", kind="", lineno=0, col=0)
    unchanged = [f.name for f in fields(FunctionContext) if getattr(ctx, f.name) == getattr(defaults, f.name)]
    # Only fields whose true value here equals the default may stay at it.
    assert unchanged == ["is_async", "is_generator", "is_stub", "is_abstract", "is_property", "is_context_manager"]
    assert ctx.body_indent == 8 and set(ctx.scope_names) == {"os", "A", "m"}


@pytest.mark.parametrize(
    ("source", "indent"),
    [("def f():\n    return 1\n", 4), ("def f(): return 1\n", 4), ("class A:\n  def f(self):\n      pass\n", 6),
     ("if x:\n\tdef f():\n\t\tpass\n", 2)],
)
def test_body_indent_is_where_the_docstring_lines_go(source: str, indent: int) -> None:
    assert next(iter_contexts(source, "a.py")).body_indent == indent


def test_scope_names_hold_the_module_and_class_names() -> None:
    source = "LIMIT = 3\nclass A:\n    size: int = 0\n    def __init__(self):\n        self.items = []\n    def f(self):\n        pass\ndef g():\n    pass\n"
    contexts = {ctx.qualname: ctx for ctx in iter_contexts(source, "a.py")}
    assert set(contexts["A.f"].scope_names) == {"LIMIT", "A", "g", "size", "__init__", "items", "f"}
    assert set(contexts["g"].scope_names) == {"LIMIT", "A", "g"}


@pytest.mark.parametrize(
    ("source", "stub", "abstract", "property_"),
    [
        ("class A:\n    @abc.abstractmethod\n    def m(self) -> int:\n        return 1\n", False, True, False),
        ("class A:\n    @property\n    def m(self) -> int:\n        ...\n", True, False, True),
        ('def f():\n    """Doc."""\n    raise NotImplementedError("later")\n', True, False, False),
        ("@functools.cached_property\ndef f():\n    return 1\n", False, False, True),
    ],
)
def test_context_says_stub_abstract_property(source: str, stub: bool, abstract: bool, property_: bool) -> None:
    """Refresh reads these from the context instead of parsing the function's code again."""
    ctx = next(iter_contexts(source, "a.py"))
    assert (ctx.is_stub, ctx.is_abstract, ctx.is_property) == (stub, abstract, property_)


@pytest.mark.parametrize("module_name", ["ast", "textwrap", "dataclasses", "argparse", "json.decoder"])
def test_code_of_real_modules_parses_and_drops_docstrings(module_name: str) -> None:
    module = __import__(module_name, fromlist=["_"])
    source = inspect.getsource(module)
    contexts = list(iter_contexts(source, module.__file__, classes=True))
    assert contexts
    for ctx in contexts:
        tree = ast.parse(ctx.code)
        assert ast.get_docstring(tree.body[0]) is None, ctx.qualname
        assert ctx.signature.endswith(":") and "\n" not in ctx.signature


def test_syntax_error_propagates() -> None:
    with pytest.raises(SyntaxError):
        list(iter_contexts("def f(:\n", "bad.py"))
    with pytest.raises(SyntaxError):
        scan_source("def f(:\n", "bad.py", Config())


# --------------------------------------------------------------------------- skip rules


def _scan(source: str, **options: Any) -> tuple[list[str], dict[str, str]]:
    scan = scan_source(textwrap.dedent(source), "pkg/mod.py", Config(**options))
    return [t.context.qualname for t in scan.targets], dict(scan.skipped)


SKIP_CASES = [
    # (source, config options, expected targets, expected skipped {qualname: reason})
    ('def f():\n    """Done."""\n\ndef g(): pass', {}, ["g"], {}),
    ("from typing import overload\n@overload\ndef f(x: int) -> int: ...\ndef f(x): return x", {}, ["f"],
     {"f": "overload"}),
    ("import typing\n@typing.overload\ndef f(x: int) -> int: ...", {}, [], {"f": "overload"}),
    ("import typing as t\n@t.overload\ndef f(x: int) -> int: ...", {}, [], {"f": "overload"}),
    ("from typing import overload as ov\n@ov\ndef f(x: int) -> int: ...", {}, [], {"f": "overload"}),
    ("from typing import overload\n@overload\ndef f(x: int) -> int: ...", {"skip_overload": False}, ["f"], {}),
    (
        "class A:\n    @property\n    def x(self): return 1\n    @x.setter\n    def x(self, v): pass\n"
        "    @x.deleter\n    def x(self): pass\n",
        {},
        ["A.x"],
        {"A.x": "property setter"},
    ),
    ("class A:\n    @x.setter\n    def x(self, v): pass\n", {"skip_property_setters": False}, ["A.x"], {}),
    ("def _f(): pass\nclass A:\n    def _m(self): pass\n    def __m(self): pass", {}, [],
     {"_f": "private", "A._m": "private", "A.__m": "private"}),
    ("def _f(): pass", {"skip_private": False}, ["_f"], {}),
    ("class A:\n    def __init__(self): pass\n    def __eq__(self, o): pass", {}, [],
     {"A.__init__": "dunder", "A.__eq__": "dunder"}),
    ("class A:\n    def __init__(self): pass\n    def __eq__(self, o): pass", {"document_init": True},
     ["A.__init__"], {"A.__eq__": "dunder"}),
    ("class A:\n    def __init__(self): pass\n    def __eq__(self, o): pass", {"skip_dunder": False},
     ["A.__init__", "A.__eq__"], {}),
    ("def f():\n    def g(): pass\n    class C:\n        def m(self): pass\n    return g", {}, ["f"],
     {"f.<locals>.g": "nested", "f.<locals>.C.m": "nested"}),
    ("def f():\n    def g(): pass\n    return g", {"skip_nested": False}, ["f", "f.<locals>.g"], {}),
    ("def f(): return 1\ndef g():\n    '''Doc.'''\n    return 1\ndef h():\n    x = 1\n    return x",
     {"min_lines": 2}, ["h"], {"f": "shorter than 2 lines", "g": "shorter than 2 lines"}),
    ("def f(): pass  # docucode: skip\n\n# docucode: skip\n@deco\ndef g(): pass\n\n"
     "# docucode: skip\n\ndef h(): pass\n@deco  # docucode: skip\ndef i(): pass\n", {}, ["h", "i"],
     {"f": "skip comment", "g": "skip comment"}),
    # the marker inside a string is not a comment
    ("def f():\n    return '# docucode: skip'", {}, ["f"], {}),
    ("class A:\n    def m(self): pass", {}, ["A.m"], {}),
    ("class A:\n    def m(self): pass", {"include_classes": True}, ["A", "A.m"], {}),
    ("class _A:\n    pass", {"include_classes": True}, [], {"_A": "private"}),
    ("x = 1", {"include_modules": True}, ["mod"], {}),
    ('"""Doc."""\nx = 1', {"include_modules": True}, [], {}),
]


@pytest.mark.parametrize(("source", "options", "targets", "skipped"), SKIP_CASES)
def test_skip_rules(source: str, options: dict, targets: list[str], skipped: dict[str, str]) -> None:
    assert _scan(source, **options) == (targets, skipped)


def test_coverage_counts_exclude_skipped_definitions() -> None:
    source = 'def a():\n    """Doc."""\ndef b(): pass\ndef _c(): pass\nclass K:\n    """Doc."""\n'
    scan = scan_source(source, "m.py", Config(include_classes=True))
    assert (scan.documented, scan.total) == (2, 3)
    assert [str(f) for f in scan.findings] == ["m.py:3:1: DCU100 missing docstring in function b"]
    assert scan.targets[0].reason == "missing"
    assert scan.targets[0].context == next(c for c in iter_contexts(source, "m.py") if c.name == "b")


def test_missing_method_finding_points_at_the_def() -> None:
    scan = scan_source("class A:\n    @deco\n    def m(self): pass\n", "a.py", Config())
    assert scan.findings == (Finding("a.py", 3, 5, "DCU100", "missing docstring in function A.m"),)


# --------------------------------------------------------------------------- stale docstrings

GOOD_GOOGLE = '''\
def f(a, *args, b=1, **kwargs):
    """Do it.

    Args:
        a: First.
        *args: More.
        b: Flag.
        **kwargs: Options.

    Returns:
        The result.

    Raises:
        ValueError: When bad.
    """
    if a:
        raise ValueError
    return a
'''

STALE_CASES = [
    # (source, style, expected [(code, message)])
    (GOOD_GOOGLE, Style.GOOGLE, []),
    (GOOD_GOOGLE.replace("*args: More", "args: More").replace("**kwargs", "kwargs"), Style.GOOGLE, []),
    # summary-only docstrings are never stale
    ('def f(a, b):\n    """Add things.\n\n    More words.\n    """\n    return a + b', Style.GOOGLE, []),
    (
        'def f(a, b):\n    """Add.\n\n    Args:\n        a: x\n        c: y\n\n    Returns:\n        s\n    """\n    return a',
        Style.GOOGLE,
        [("DCU101", "docstring parameters do not match signature (missing: b; unknown: c)")],
    ),
    (
        'class A:\n    def m(self, x):\n        """M.\n\n        Args:\n            self: me\n            x: x\n        """',
        Style.GOOGLE,
        [("DCU101", "docstring parameters do not match signature (unknown: self)")],
    ),
    (
        'def f():\n    """F.\n\n    Returns:\n        int: one\n    """\n    print(1)',
        Style.GOOGLE,
        [("DCU102", "docstring documents a return value but the function returns nothing")],
    ),
    (
        'def f(a):\n    """F.\n\n    Args:\n        a: x\n    """\n    return a',
        Style.GOOGLE,
        [("DCU102", "function returns a value but the docstring has no Returns section")],
    ),
    # an abstract stub may document what implementations return
    ('def f() -> int:\n    """F.\n\n    Returns:\n        one\n    """\n    ...', Style.GOOGLE, []),
    ('def f() -> int:\n    """F.\n\n    Returns:\n        one\n    """\n    raise NotImplementedError', Style.GOOGLE,
     [("DCU104", "raised exceptions not documented in Raises: NotImplementedError")]),
    # properties are documented like attributes
    ('class A:\n    @property\n    def x(self):\n        """X.\n\n        Example:\n            a.x\n        """\n'
     "        return 1", Style.GOOGLE, []),
    (
        'def f():\n    """F.\n\n    Returns:\n        one\n    """\n    yield 1',
        Style.GOOGLE,
        [("DCU103", "function yields but the docstring has no Yields section")],
    ),
    (
        'def f():\n    """F.\n\n    Yields:\n        one\n    """\n    return [1]',
        Style.GOOGLE,
        [
            ("DCU102", "function returns a value but the docstring has no Returns section"),
            ("DCU103", "docstring documents yielded values but the function does not yield"),
        ],
    ),
    ('def f():\n    """F.\n\n    Yields:\n        one\n    """\n    yield 1', Style.GOOGLE, []),
    (
        'def f(a):\n    """F.\n\n    Args:\n        a: x\n    """\n    if a:\n        raise KeyError(a)\n'
        "    raise errors.Gone",
        Style.GOOGLE,
        [("DCU104", "raised exceptions not documented in Raises: KeyError, errors.Gone")],
    ),
    (
        'def f(a):\n    """F.\n\n    Args:\n        a: x\n\n    Raises:\n        KeyError: k\n        OSError: o\n    """\n'
        "    raise KeyError(a)",
        Style.GOOGLE,
        [("DCU104", "Raises documents exceptions never raised: OSError")],
    ),
    # without explicit raises, documented exceptions may come from callees
    ('def f(a):\n    """F.\n\n    Args:\n        a: x\n\n    Raises:\n        OSError: o\n    """\n    open(a)',
     Style.GOOGLE, []),
    # dotted and bare spellings of the same exception agree
    ('def f():\n    """F.\n\n    Raises:\n        Gone: g\n    """\n    raise errors.Gone()', Style.GOOGLE, []),
    (
        'def f(a, b):\n    """F.\n\n    Parameters\n    ----------\n    a, b : int\n        x\n\n    Returns\n'
        '    -------\n    int\n    """\n    return a',
        Style.NUMPY,
        [],
    ),
    # a NumPy docstring under a Google config is still understood
    (
        'def f(a, b):\n    """F.\n\n    Parameters\n    ----------\n    a : int\n        x\n    """\n    return a',
        Style.GOOGLE,
        [
            ("DCU101", "docstring parameters do not match signature (missing: b)"),
            ("DCU102", "function returns a value but the docstring has no Returns section"),
        ],
    ),
    ('def f(a):\n    """F.\n\n    :param a: x\n    :returns: y\n    :raises KeyError: k\n    """\n    raise KeyError',
     Style.SPHINX, [("DCU102", "docstring documents a return value but the function returns nothing")]),
    # a class may leave its arguments to __init__, but may not name unknown ones
    ('class A:\n    """A.\n\n    Attributes:\n        x: x\n    """\n    def __init__(self, x):\n        self.x = x',
     Style.GOOGLE, []),
    ('class A:\n    """A.\n\n    Args:\n        y: y\n    """\n    def __init__(self, x):\n        self.x = x',
     Style.GOOGLE, [("DCU101", "docstring parameters do not match signature (missing: x; unknown: y)")]),
]


@pytest.mark.parametrize(("source", "style", "expected"), STALE_CASES)
def test_stale_findings(source: str, style: Style, expected: list[tuple[str, str]]) -> None:
    scan = scan_source(source, "m.py", Config(style=style, include_classes=True, skip_dunder=False))
    assert [(f.code, f.message) for f in scan.findings if f.code not in ("DCU100", "DCU105")] == expected
    assert all(t.reason == "missing" for t in scan.targets)  # refresh_stale is off by default


def test_stale_is_a_target_only_when_refresh_is_on() -> None:
    source = 'def f(a):\n    """F.\n\n    Args:\n        b: x\n    """\n'
    quiet = scan_source(source, "m.py", Config(check_stale=False, refresh_stale=True))
    assert quiet.findings == ()
    assert [(t.context.qualname, t.reason) for t in quiet.targets] == [("f", "stale")]
    assert quiet.targets[0].context.docstring == "F.\n\nArgs:\n    b: x"
    loud = scan_source(source, "m.py", Config())
    assert [str(f) for f in loud.findings] == [
        "m.py:1:1: DCU101 docstring parameters do not match signature (missing: a; unknown: b)"
    ]


def test_scan_never_imports_libcst() -> None:
    script = (
        "import sys, inspect, argparse\n"
        "from docucode_hook.config import Config\n"
        "from docucode_hook.finder import scan_source\n"
        "scan = scan_source(inspect.getsource(argparse), 'argparse.py', Config(skip_private=False, refresh_stale=True))\n"
        "assert scan.total > 50, scan.total\n"
        "print('libcst' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_docstring_that_crashes_docstring_parser_is_not_a_crash():
    # docstring_parser's REST parser raises IndexError on a field line that starts with ": "
    # (seen in pyasn1); the finder must still scan the file.
    source = (
        "def position(name):\n"
        '    """Return field position by name.\n\n    Parameters\n    ----------\n'
        "    name: :py:class:`str`\n        Field name\n\n    Returns\n    -------\n"
        '    : :py:class:`int`\n        Field position\n    """\n    return 0\n'
    )
    scan = scan_source(source, "pos.py", Config())
    assert scan.documented == 1 and not [f for f in scan.findings if f.code == "DCU100"]


@pytest.mark.parametrize(
    "docstring",
    [
        "Do it.\n\nArgs:\n    a: A.",
        "Do it.\n\nParameters\n----------\na : int",
        "Do it.\n\n:param a: A.",
        "Do it.\n\n@param a: A.",
        "Do it.\n\n.. deprecated:: 1.0\n    Use other.",
    ],
)
def test_docstrings_with_sections_are_still_checked(docstring):
    body = "\n".join("    " + line if line else "" for line in docstring.splitlines())
    source = f'def f(b):\n    """{body.strip()}\n    """\n    return b\n'
    # The section pre-filter must let every style through to the stale checks.
    assert "DCU101" in [f.code for f in scan_source(source, "f.py", Config()).findings]
