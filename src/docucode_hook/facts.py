"""Facts about one definition's code that the prose checks and the derived text rely on.

The finder's ``FunctionContext`` says what kind of function it is (async, generator,
property, stub, abstract, context manager), whether it returns a value, and which names its
module and class define. The prose needs a few more (what its ``return`` and ``raise``
statements say, where its parameters go): they are read here from ``ctx.code``.
"""

from __future__ import annotations

import ast
import builtins
import keyword
from dataclasses import dataclass

from docucode_hook.context import FunctionContext
from docucode_hook.syntax import decorator_names, promises_value

_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# Names any docstring may mention: builtins (``len``, ``ValueError``), literals and keywords.
_ALWAYS_KNOWN = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self", "cls"}


@dataclass(frozen=True)
class Guard:
    """A ``raise`` that is the direct consequence of an ``if``: ``if amount < 0: raise ValueError(...)``."""

    exception: str  # as ctx.raises names it
    condition: str | None  # source of the test, when it reads only parameters and attributes
    message: str | None  # the exception's first argument, when it is a plain string


@dataclass(frozen=True)
class ProseFacts:
    is_async: bool = False
    is_generator: bool = False
    returns_value: bool = False
    is_property: bool = False
    is_stub: bool = False  # abstract, or a body of only ``...``/``pass``/a string/``raise NotImplementedError``
    is_context_manager: bool = False  # ``@contextmanager`` or ``__enter__``/``__aenter__``
    is_constructor: bool = False  # a classmethod whose every ``return`` builds ``cls(...)``
    promises_value: bool = False  # a return annotation other than None/NoReturn/Never
    return_expressions: tuple[str, ...] = ()  # source of each ``return <expr>`` of its own body, unique
    guards: tuple[Guard, ...] = ()
    forwarded: tuple[tuple[str, str], ...] = ()  # (parameter, callee) where a call takes the parameter as is
    stored: tuple[tuple[str, str], ...] = ()  # (parameter, "self.attr") where it is assigned as is
    known_names: frozenset[str] = frozenset()


def prose_facts(ctx: FunctionContext) -> ProseFacts:
    """The facts of ``ctx``; a definition whose code does not parse gets only what ``ctx`` says."""
    base = dict(
        is_async=ctx.is_async,
        is_generator=ctx.is_generator,
        returns_value=ctx.returns_value,
        is_property=ctx.is_property,
        is_stub=ctx.is_stub or ctx.is_abstract,
        is_context_manager=ctx.is_context_manager,
        promises_value=promises_value(" ".join((ctx.returns_annotation or "").split()) or None),
        known_names=_known_names(ctx, None),
    )
    try:
        node = ast.parse(ctx.code).body[0]
    except (SyntaxError, ValueError, IndexError):
        return ProseFacts(**base)
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ProseFacts(**{**base, "known_names": _known_names(ctx, node)})
    own = list(_own_nodes(node))
    returns = [n.value for n in own if isinstance(n, ast.Return) and n.value is not None]
    parameters = {p.name for p in ctx.parameters}
    return ProseFacts(
        **{**base, "known_names": _known_names(ctx, node)},
        is_constructor=_is_classmethod(node) and bool(returns) and all(_builds_cls(value) for value in returns),
        return_expressions=tuple(dict.fromkeys(ast.unparse(value) for value in returns if not _is_none(value))),
        guards=tuple(_guards(node, parameters)),
        forwarded=tuple(_forwarded(own, parameters)),
        stored=tuple(_stored(own, parameters)),
    )


def _own_nodes(node: ast.AST) -> list[ast.AST]:
    """Every node of the definition's body, not descending into nested definitions and lambdas."""
    found: list[ast.AST] = []
    stack = list(reversed(node.body))
    while stack:
        current = stack.pop()
        found.append(current)
        if not isinstance(current, _NESTED):
            stack.extend(reversed(list(ast.iter_child_nodes(current))))
    return found


def _is_none(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and value.value is None


def _is_classmethod(node: ast.AST) -> bool:
    return "classmethod" in decorator_names(node)


def _builds_cls(value: ast.expr) -> bool:
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "cls"


def _guards(node: ast.AST, parameters: set[str]) -> list[Guard]:
    """Each ``raise X(...)`` that opens the body of an ``if`` that is not an ``elif`` (else its
    condition alone would not say when it is raised); other raises give only their message."""
    guards: list[Guard] = []
    elifs: set[int] = set()
    for current in _own_nodes(node):
        if isinstance(current, ast.If) and len(current.orelse) == 1 and isinstance(current.orelse[0], ast.If):
            elifs.add(id(current.orelse[0]))
    conditions: dict[int, str | None] = {}
    for current in _own_nodes(node):
        if isinstance(current, ast.If) and isinstance(current.body[0], ast.Raise) and id(current) not in elifs:
            names = {n.id for n in ast.walk(current.test) if isinstance(n, ast.Name)}
            readable = names <= parameters | _ALWAYS_KNOWN and len(ast.unparse(current.test)) <= 60
            conditions[id(current.body[0])] = ast.unparse(current.test) if readable else None
    for current in _own_nodes(node):
        if not isinstance(current, ast.Raise) or current.exc is None:
            continue
        exc = current.exc
        target = exc.func if isinstance(exc, ast.Call) else exc
        name = ast.unparse(target)
        message = None
        if isinstance(exc, ast.Call) and exc.args and isinstance(exc.args[0], ast.Constant):
            message = exc.args[0].value if isinstance(exc.args[0].value, str) else None
        guards.append(Guard(name, conditions.get(id(current)), " ".join(message.split()) if message else None))
    return guards


def _forwarded(own: list[ast.AST], parameters: set[str]) -> list[tuple[str, str]]:
    """(parameter, callee) for the first call that receives each parameter unchanged."""
    found: dict[str, str] = {}
    for node in own:
        if isinstance(node, ast.Call):
            callee = ast.unparse(node.func)
            # "Passed to `len`" or "to `ValueError`" says nothing the reader does not see.
            if len(callee) > 40 or callee in _ALWAYS_KNOWN or callee.endswith(("Error", "Exception")):
                continue
            for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                if isinstance(arg, ast.Name) and arg.id in parameters:
                    found.setdefault(arg.id, callee)
    return list(found.items())


def _stored(own: list[ast.AST], parameters: set[str]) -> list[tuple[str, str]]:
    """(parameter, "self.attr") for ``self.attr = parameter`` statements."""
    found: dict[str, str] = {}
    for node in own:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in parameters:
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    found.setdefault(node.value.id, f"self.{target.attr}")
    return list(found.items())


def _known_names(ctx: FunctionContext, node: ast.AST | None) -> frozenset[str]:
    """Names the prose may mention: builtins, the definition, its class, parameters, imports, calls,
    and every name and attribute its code uses."""
    names = set(_ALWAYS_KNOWN) | {ctx.name, *(p.name for p in ctx.parameters), *ctx.scope_names}
    names |= {part for dotted in (ctx.class_name or "", *ctx.class_bases, *ctx.calls) for part in dotted.split(".") if part}
    names |= imported_names(ctx.imports)
    if node is not None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
            elif isinstance(sub, ast.Attribute):
                names.add(sub.attr)
            elif isinstance(sub, ast.arg):
                names.add(sub.arg)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(sub.name)
    return frozenset(names)


def imported_names(imports: tuple[str, ...]) -> set[str]:
    """The names import statements bind, and the modules they name (``import os.path`` gives
    "os" and "os.path"; ``from a import b as c`` gives "a", "b" and "c")."""
    names: set[str] = set()
    for statement in imports:
        try:
            tree = ast.parse(statement.strip())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.update(node.module.split("."))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    names.update(alias.name.split("."))
                    names.add(alias.name)
                    if alias.asname:
                        names.add(alias.asname)
    return names


__all__ = ["Guard", "ProseFacts", "imported_names", "prose_facts"]
