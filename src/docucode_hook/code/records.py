"""Records that flow from the finder to the prompt builder, the backends and the grounding step."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Style(str, Enum):
    GOOGLE = "google"
    NUMPY = "numpy"
    SPHINX = "sphinx"


class ParamKind(str, Enum):
    POSITIONAL_ONLY = "positional_only"
    POSITIONAL_OR_KEYWORD = "positional_or_keyword"
    VAR_POSITIONAL = "var_positional"  # *args
    KEYWORD_ONLY = "keyword_only"
    VAR_KEYWORD = "var_keyword"  # **kwargs


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: ParamKind
    annotation: str | None = None  # source text, e.g. "dict[str, int]"
    default: str | None = None  # source text, e.g. "None"


@dataclass(frozen=True)
class Guard:
    """A ``raise`` that is the direct consequence of an ``if``: ``if amount < 0: raise ValueError(...)``."""

    exception: str  # as ctx.raises names it
    condition: str | None  # source of the test, when it reads only parameters and attributes
    message: str | None  # the exception's first argument, when it is a plain string


@dataclass(frozen=True)
class CodeFacts:
    """What the prose checks and the derived text read off a definition's own body."""

    is_constructor: bool = False  # a classmethod whose every ``return`` builds ``cls(...)``
    return_expressions: tuple[str, ...] = ()  # source of each ``return <expr>`` of its own body, unique
    guards: tuple[Guard, ...] = ()
    forwarded: tuple[tuple[str, str], ...] = ()  # (parameter, callee) where a call takes the parameter as is
    stored: tuple[tuple[str, str], ...] = ()  # (parameter, "self.attr") where it is assigned as is
    used_names: frozenset[str] = frozenset()  # every name, attribute, argument and definition in its code
    # (parameter, how, detail) for the first other thing its code does with each parameter: "returned",
    # "iterated", "attributes" (detail: "a, b"), "used in" (detail: the expression), "unused".
    uses: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class FunctionContext:
    """Everything the prompt builder and grounding need to know about one definition.

    ``kind`` is "function" for def/async def, "class" or "module" when those are
    included by config; for classes the parameters are those of ``__init__``.
    """

    path: str
    qualname: str  # "Outer.method" or "func"
    name: str
    kind: str  # "function" | "class" | "module"
    lineno: int  # line of the `def`/`class` keyword (ast's lineno); 0 for the module
    col: int
    is_async: bool = False
    is_method: bool = False  # first parameter is self/cls and excluded from docs
    decorators: tuple[str, ...] = ()  # source text without "@"
    signature: str = ""  # "def name(a: int, b=2) -> str:" on one line
    parameters: tuple[Parameter, ...] = ()  # documentable ones: self/cls removed
    returns_annotation: str | None = None
    returns_value: bool = False  # some `return <expr>` not None in its own body
    is_generator: bool = False  # `yield` in its own body (not nested defs)
    raises: tuple[str, ...] = ()  # exception names raised explicitly in its own body
    is_stub: bool = False  # body of only ``...``/``pass``/a string/``raise NotImplementedError``
    is_abstract: bool = False  # decorated ``@abstractmethod``
    is_property: bool = False  # decorated as a property (``cached_property`` included)
    is_context_manager: bool = False  # ``@contextmanager``/``@asynccontextmanager``, or ``__enter__``/``__aenter__``
    body_indent: int = 0  # columns of the body's indentation, where the docstring's lines go
    code: str = ""  # source of the definition with its docstring removed, dedented
    imports: tuple[str, ...] = ()  # module-level import statements, source text
    class_name: str | None = None  # enclosing class, for methods
    class_bases: tuple[str, ...] = ()
    class_docstring: str | None = None
    module_docstring: str | None = None
    calls: tuple[str, ...] = ()  # dotted names it calls, first-seen order, unique
    docstring: str | None = None  # existing docstring (cleaned), if any
    # Names a docstring may point at beyond the definition's own code: the module's top-level
    # definitions and assignments, and the enclosing class's members.
    scope_names: tuple[str, ...] = ()
    code_facts: CodeFacts = CodeFacts()
