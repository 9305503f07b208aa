"""Grounding: whatever a backend writes ends up agreeing with the code, and pydoclint agrees."""

from __future__ import annotations

from pathlib import Path

import pytest
from docstring_parser import parse
from hypothesis import given, settings
from hypothesis import strategies as st
from pydoclint_venv import run_pydoclint

from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.precision.grounding import ground_docstring, grounded_text
from docucode_hook.docstrings.insert import insert_docstrings
from docucode_hook.precision.refresh import refresh_sections

HEADER = "from typing import Iterator\n\n\n"


def context_of(source: str, **options: bool) -> FunctionContext:
    """The first definition's context, from the real finder."""
    return next(iter_contexts(HEADER + source, "m.py", **options))


# (why, source, backend text, expected Google docstring)
GOOGLE_CASES = [
    (
        "invented parameter dropped, types from annotations, returns added",
        "def area(width: float, height: float) -> float:\n    return width * height\n",
        "Compute the area.\n\nArgs:\n    width: Rectangle width.\n    depth: Invented.\n    height: Rectangle height.\n",
        "Compute the area.\n\nArgs:\n    width (float): Rectangle width.\n    height (float): Rectangle height.\n\n"
        "Returns:\n    float: The area.",
    ),
    (
        "duplicate merged, missing one added (the expression that reads it), no type without an annotation",
        "def area(width, height):\n    return width * height\n",
        "Compute the area.\n\nArgs:\n    width (float): Rectangle width.\n    width: Again.\n",
        "Compute the area.\n\nArgs:\n    width: Rectangle width.\n    height: Used in `width * height`.\n\nReturns:\n    The area.",
    ),
    (
        "no Returns section when nothing is returned",
        "def log(msg: str) -> None:\n    print(msg)\n",
        "Log a message.\n\nArgs:\n    msg: The message.\n\nReturns:\n    None: nothing.\n",
        "Log a message.\n\nArgs:\n    msg (str): The message.",
    ),
    (
        "generator: Yields with the element type, the model's Returns text reused",
        "def lines(path: str) -> Iterator[str]:\n    yield from open(path)\n",
        "Read lines.\n\nReturns:\n    the lines of the file\n",
        "Read lines.\n\nArgs:\n    path (str): Used in `open(path)`.\n\nYields:\n    str: The lines of the file.",
    ),
    (
        "raises exactly what the body raises, the model's reason kept; 'x: The value.' restates the name",
        "def check(x):\n    if x < 0:\n        raise ValueError(x)\n    return x\n",
        "Check x.\n\nArgs:\n    x: The value.\n\nRaises:\n    ValueError: when x is negative\n    TypeError: never\n",
        "Check x.\n\nArgs:\n    x: Returned unchanged.\n\nReturns:\n    The result.\n\nRaises:\n    ValueError: When x is negative.",
    ),
    (
        "no text at all: the template fills everything",
        "def get_user_name(user_id: int) -> str:\n    return str(user_id)\n",
        None,
        "Get the user name.\n\nArgs:\n    user_id (int): Used in `str(user_id)`.\n\nReturns:\n    str: The user name.",
    ),
    (
        "a summary that only restates the name falls back to the template",
        "def get_user_name(user_id: int) -> str:\n    return str(user_id)\n",
        "get_user_name",
        "Get the user name.\n\nArgs:\n    user_id (int): Used in `str(user_id)`.\n\nReturns:\n    str: The user name.",
    ),
    (
        "Sphinx text in fences and quotes converted; first sentence only",
        "def get_user_name(user_id: int) -> str:\n    return str(user_id)\n",
        '```python\n"""look up the display name of a user. It is cached.\n\n:param user_id: Numeric id.\n'
        ':returns: The name.\n"""\n```',
        "Look up the display name of a user.\n\nArgs:\n    user_id (int): Numeric id.\n\nReturns:\n    str: The name.",
    ),
    (
        "NumPy text converted; positional-only, kw-only and escaped varargs matched by name",
        "def f(a, /, b, *args, c, **kwargs):\n    return a\n",
        "Do f.\n\nParameters\n----------\na : int\n    First.\nargs\n    Rest.\n\\*\\*kwargs\n    Options.\n",
        "Do f.\n\nArgs:\n    a: First.\n    b: Unused.\n    *args: Rest.\n    c: Unused.\n    **kwargs: Options.\n\n"
        "Returns:\n    The f.",
    ),
    (
        "garbage keeps nothing but what the code says; a stub's parameter with nothing to say gets the TODO marker",
        "def save(self_path, data=None):\n    pass\n",
        "}}}{{ ::: ---\n\n Args:\n",
        "Save the self path.\n\nArgs:\n    self_path: TODO: describe `self_path`.\n    data: Defaults to None.",
    ),
    (
        "a sane long description is kept",
        "def save(path):\n    pass\n",
        "Write the cache to disk.\n\nThe file is replaced atomically.",
        "Write the cache to disk.\n\nThe file is replaced atomically.\n\nArgs:\n    path: TODO: describe `path`.",
    ),
]


@pytest.mark.parametrize(("why", "source", "raw", "expected"), GOOGLE_CASES, ids=[case[0] for case in GOOGLE_CASES])
def test_grounding_google(why: str, source: str, raw: str | None, expected: str) -> None:
    assert grounded_text(raw, context_of(source), Style.GOOGLE) == expected


def test_methods_drop_self_and_classes_use_init() -> None:
    source = "class Store:\n    def __init__(self, root: str) -> None:\n        self.root = root\n\n    def get(self, key):\n        return key\n"
    contexts = {ctx.qualname: ctx for ctx in iter_contexts(source, "m.py", classes=True)}
    assert grounded_text("", contexts["Store"], Style.GOOGLE) == "A store.\n\nArgs:\n    root (str): Of type `str`."
    assert grounded_text("", contexts["Store.__init__"], Style.GOOGLE) == (
        "Initialise the Store.\n\nArgs:\n    root (str): Stored as `self.root`."
    )
    assert grounded_text("Args:\n    self: me\n    key: The key.", contexts["Store.get"], Style.GOOGLE) == (
        "Get the key.\n\nArgs:\n    key: Returned unchanged.\n\nReturns:\n    The result."
    )


def test_module_gets_only_a_summary() -> None:
    module = next(iter_contexts('def f(x):\n    return x\n', "pkg/tools.py", modules=True))
    assert grounded_text("helpers for tools\n\nArgs:\n    x: no.", module, Style.NUMPY) == "Helpers for tools."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"""`frobnicate the widget!', "Frobnicate the widget."),
        ("   \n\n  returns the total; see below.\n", "Return the total; see below."),  # a command (PEP 257, D401)
        ("`x` doubled:", "`x` doubled."),
        ("The `x` value, doubled:", "Double the x."),  # describes instead of commanding: derived
    ],
)
def test_summary_cleaned(raw: str, expected: str) -> None:
    assert ground_docstring(raw, context_of("def double(x):\n    return 2 * x\n"), Style.GOOGLE).short_description == expected


def test_a_summary_that_repeats_itself_is_replaced_by_the_templates() -> None:
    ctx = context_of("def flip(image):\n    return image[::-1]\n")
    looping = ground_docstring("Reverse the image to flip the image to flip the image.", ctx, Style.GOOGLE)
    assert looping.short_description == ground_docstring(None, ctx, Style.GOOGLE).short_description
    kept = ground_docstring("Reverse the rows of the image.", ctx, Style.GOOGLE)
    assert kept.short_description == "Reverse the rows of the image."


@pytest.mark.parametrize("style", list(Style))
def test_wrong_style_text_renders_in_the_asked_style(style: Style) -> None:
    google = "Scale a value.\n\nArgs:\n    value: The amount to scale.\n\nReturns:\n    The scaled value."
    text = grounded_text(google, context_of("def scale(value):\n    return value * 2\n"), style)
    reparsed = parse(text)
    assert {Style.GOOGLE: "GOOGLE", Style.NUMPY: "NUMPYDOC", Style.SPHINX: "REST"}[style] == reparsed.style.name
    assert [(p.arg_name, p.description) for p in reparsed.params] == [("value", "The amount to scale.")]
    # An untyped NumPy return is a single line, which parsers read as the entry's type.
    returned = reparsed.returns.type_name if style is Style.NUMPY else reparsed.returns.description
    assert returned == "The scaled value."


@settings(max_examples=150, deadline=None)
@given(raw=st.one_of(st.none(), st.text(max_size=300)), style=st.sampled_from(list(Style)))
def test_any_text_grounds_to_exactly_the_signature(raw: str | None, style: Style) -> None:
    ctx = context_of("def merge(left, right: int, *rest, strict=False, **extra) -> int:\n    raise KeyError\n    return 1\n")
    doc = ground_docstring(raw, ctx, style)
    assert [p.arg_name for p in doc.params] == ["left", "right", "*rest", "strict", "**extra"]
    assert [(r.type_name, r.is_generator) for r in doc.many_returns] == [("int", False)]
    assert [r.type_name for r in doc.raises] == ["KeyError"]
    assert doc.short_description.endswith(".") and "\n" not in doc.short_description
    assert grounded_text(render_once := grounded_text(raw, ctx, style), ctx, style) == render_once


STALE_SOURCE = "def fetch(url: str, *, retries: int = 3) -> bytes:\n    if not url:\n        raise ValueError(url)\n    return b''\n"
STALE_CASES = [
    (
        "Google kept in Google; removed parameter dropped, new one and Raises added, Returns and Example verbatim",
        "Download a page.\n\n    Follows redirects.\n\n    Args:\n        url: Where to go,\n            "
        "absolute.\n        timeout: Gone.\n\n    Returns:\n        Body bytes.\n\n    Example:\n        fetch('x')\n    ",
        "Download a page.\n\nFollows redirects.\n\nArgs:\n    url (str): Where to go,\n        absolute.\n"
        "    retries (int, optional): The retries. Defaults to 3.\n\nReturns:\n    Body bytes.\n\nRaises:\n"
        "    ValueError: If an argument has an invalid value.\n\nExample:\n    fetch('x')",
    ),
    (
        "Sphinx kept in Sphinx, :returns: verbatim",
        "Download a page.\n\n:param link: old name\n:returns: body\n",
        "Download a page.\n\n:param url: The url.\n:type url: str\n:param retries: The retries, defaults to 3.\n"
        ":type retries: int\n:returns: body\n:raises ValueError: If an argument has an invalid value.",
    ),
    (
        "summary only: the configured style",
        "download a page",
        "download a page\n\nParameters\n----------\nurl : str\n    The url.\nretries : int\n    The retries. Default is 3.\n\n"
        "Returns\n-------\nbytes\n    The result.\n\nRaises\n------\nValueError\n    If an argument has an invalid value.",
    ),
]


@pytest.mark.parametrize(("why", "existing", "expected"), STALE_CASES, ids=[case[0] for case in STALE_CASES])
def test_refresh_sections(why: str, existing: str, expected: str) -> None:
    ctx = context_of(STALE_SOURCE)
    assert refresh_sections(existing, ctx, Style.NUMPY) == expected
    assert refresh_sections(expected, ctx, Style.NUMPY) == expected


# pydoclint cannot check argument types of partly annotated functions, nor yields of
# unannotated generators (DOC402 and DOC403 at once), so the samples avoid those two.
ANNOTATED = '''from __future__ import annotations

from typing import AsyncIterator, Generator, Iterator


def add(a: int, b: int = 2) -> int:
    return a + b


def only_positional(x: str, /, y: float, *, scale: float = 1.0) -> float:
    if not x:
        raise ValueError("empty")
    return len(x) * y * scale


def star_args(first: int, *values: int, flag: bool = False, **options: str) -> list[int]:
    return [first, *values]


def count_up(limit: int) -> Iterator[int]:
    for i in range(limit):
        yield i


def pairs(items: list[str]) -> Generator[tuple[str, int], None, None]:
    for index, item in enumerate(items):
        yield item, index


async def stream(n: int) -> AsyncIterator[bytes]:
    for _ in range(n):
        yield b"x"


def nothing(path: str) -> None:
    print(path)


def check(value: dict[str, int] | None) -> bool:
    if value is None:
        raise TypeError("no value")
    if not value:
        raise KeyError("empty")
    return True


def body_is_ellipsis(x: int) -> int: ...


class Store:
    def __init__(self, root: str, size: int = 0) -> None:
        self.root = root
        self.size = size

    def get_item(self, key: str) -> bytes:
        if key not in self.root:
            raise KeyError(key)
        return key.encode()

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Store:
        return cls(data["root"])

    @staticmethod
    def is_valid(name: str) -> bool:
        return bool(name)

    class Inner:
        def __init__(self, *tags: str) -> None:
            self.tags = tags
'''
UNANNOTATED = '''def add(a, b=2):
    return a + b


def star_args(first, *args, key=None, **kwargs):
    if key:
        raise ValueError(key)
    return first


def nothing(path):
    print(path)


def empty():
    pass


class Thing:
    def __init__(self, x, y=None):
        self.x = x

    def run(self, *, fast=True):
        if fast:
            raise RuntimeError("too fast")

    async def wait(self, seconds):
        return seconds
'''
# What the backends might send: nothing, empty, garbage, wrong style, invented parameters.
BACKEND_TEXTS = [
    None,
    "",
    "}}} ::: ---",
    "Do it.\n\nArgs:\n    bogus: x\n    a: The a.\n\nYields:\n    int: x",
    ":param first: One.\n:returns: two\n:raises OSError: never",
    "Do it.\n\nParameters\n----------\nx : float\n    X.\n\nReturns\n-------\nint\n    Y.",
]


def _documented(source: str, style: Style, classes: bool) -> str:
    """``source`` with grounded docstrings on every function, and on classes xor ``__init__``."""
    texts = {}
    for index, ctx in enumerate(iter_contexts(source, "sample.py", classes=classes)):
        if classes and ctx.name == "__init__":
            continue  # pydoclint wants Args in exactly one of the class and its __init__ (DOC304)
        texts[ctx.lineno] = grounded_text(BACKEND_TEXTS[index % len(BACKEND_TEXTS)], ctx, style)
    return insert_docstrings(source, texts)


@pytest.mark.parametrize("classes", [True, False], ids=["class-docstrings", "init-docstrings"])
@pytest.mark.parametrize(("name", "source", "annotated"), [("annotated", ANNOTATED, True), ("plain", UNANNOTATED, False)])
@pytest.mark.parametrize("style", list(Style))
def test_pydoclint_finds_no_violation(
    tmp_path: Path, style: Style, name: str, source: str, annotated: bool, classes: bool
) -> None:
    path = tmp_path / f"{name}.py"
    path.write_text(_documented(source, style, classes), encoding="utf-8")
    options = {
        "skip-checking-short-docstrings": False,
        "skip-checking-raises": False,
        "allow-init-docstring": not classes,
        "check-class-attributes": False,  # we promise parameters, not attributes
        "arg-type-hints-in-signature": annotated,
        "arg-type-hints-in-docstring": annotated,
        "check-return-types": annotated,
        "check-yield-types": annotated,
    }
    assert run_pydoclint(path, style.value, options) == [], path.read_text(encoding="utf-8")
