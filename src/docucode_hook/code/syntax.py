"""Facts about Python code read from its ``ast``: the one definition walker and the helpers every stage shares."""

from __future__ import annotations

import ast
import builtins
import keyword
import bisect
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator, Sequence

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Return annotations whose outer name makes a function a generator: its Yields section documents the items.
GENERATOR_TYPES = ("Iterator", "Iterable", "Generator", "AsyncIterator", "AsyncIterable", "AsyncGenerator")
# Return annotations that promise no value.
NO_VALUE = frozenset({"None", "NoReturn", "Never"})
PROPERTY_DECORATORS = ("property", "functools.cached_property", "cached_property", "abc.abstractproperty")
ABSTRACT_DECORATORS = ("abstractmethod", "abc.abstractmethod")
# Names any docstring may mention: builtins (``len``, ``ValueError``), literals and keywords.
ALWAYS_KNOWN = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self", "cls"}
CONTEXT_MANAGER_DECORATORS = (
    "contextmanager", "contextlib.contextmanager", "asynccontextmanager", "contextlib.asynccontextmanager"
)
_YIELD = re.compile(r"yield")


# --------------------------------------------------------------------------- single nodes


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def raised_name(exc: ast.expr) -> str | None:
    """The exception class a ``raise`` names (``raise E(...)`` or ``raise E``); None for a variable."""
    name = dotted(exc.func if isinstance(exc, ast.Call) else exc)
    # `raise err` re-raises a variable; exception classes are CapWords by convention.
    if name and name.rsplit(".", 1)[-1][:1].isupper():
        return name
    return None


def docstring_node(node: ast.AST) -> ast.Expr | None:
    """The statement holding the docstring of a module, class or function, if it has one."""
    body = getattr(node, "body", None)
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def body_statements(node: ast.AST) -> list[ast.stmt]:
    """The body without its docstring."""
    return node.body[1:] if docstring_node(node) is not None else node.body


def first_line(node: ast.AST) -> int:
    """The definition's first line: its first decorator's, else its own."""
    decorators = getattr(node, "decorator_list", ())
    return min([node.lineno, *(d.lineno for d in decorators)])


def decorator_names(node: ast.AST) -> list[str]:
    """Dotted names of the decorators, arguments dropped: ``@a.b(1)`` gives ``a.b``."""
    names = []
    for decorator in getattr(node, "decorator_list", ()):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.append(dotted(target) or "")
    return names


def is_abstract(node: ast.AST) -> bool:
    """Decorated ``@abstractmethod``."""
    return any(name in ABSTRACT_DECORATORS for name in decorator_names(node))


def is_property(node: ast.AST) -> bool:
    """Decorated as a property (``cached_property`` included): its value needs no Returns section."""
    return any(name in PROPERTY_DECORATORS for name in decorator_names(node))


def is_context_manager(node: ast.AST) -> bool:
    """Used in a ``with`` statement: ``@contextmanager`` (async too), or ``__enter__``/``__aenter__``."""
    if getattr(node, "name", None) in ("__enter__", "__aenter__"):
        return True
    return any(name in CONTEXT_MANAGER_DECORATORS for name in decorator_names(node))


def is_stub(node: ast.AST) -> bool:
    """A body of only ``...``, ``pass``, a string or ``raise NotImplementedError``: an interface, not an implementation."""
    return all(_is_placeholder(statement) for statement in body_statements(node))


def _is_placeholder(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass) or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
        return True
    return isinstance(statement, ast.Raise) and statement.exc is not None and raised_name(statement.exc) == "NotImplementedError"


def promises_value(annotation: str | None) -> bool:
    """A return annotation other than None/NoReturn: ``-> int | None`` with ``return None`` still returns one."""
    return annotation is not None and annotation.strip("'\"").rsplit(".", 1)[-1] not in NO_VALUE


def annotation_text(node: ast.expr) -> str:
    """An annotation's text for ``promises_value``: a name or string as it is, anything else unparsed
    (unparsing every annotation cost ``--check`` time on large trees)."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return str(node.value)
    name = dotted(node)
    return name if name is not None else ast.unparse(node)


def yield_type(annotation: str | None) -> str | None:
    """``Iterator[int]`` / ``Generator[int, None, None]`` -> ``int``; None when not such a type."""
    if not annotation or "[" not in annotation or not annotation.endswith("]"):
        return None
    outer, inner = annotation.split("[", 1)
    if outer.rsplit(".", 1)[-1].strip() not in GENERATOR_TYPES:
        return None
    depth, first = 0, inner[:-1]
    for index, char in enumerate(first):
        depth += {"[": 1, "(": 1, "]": -1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            first = first[:index]
            break
    return first.strip() or None


# --------------------------------------------------------------------------- body facts


@dataclass(frozen=True)
class BodyFacts:
    """What a definition's own body does; nested definitions and lambdas are not its own."""

    returns_value: bool
    is_generator: bool
    raises: tuple[str, ...]
    calls: tuple[str, ...] = ()


def _outer_parts(node: ast.AST) -> list[ast.AST]:
    """Parts of a nested definition that run in the enclosing scope (decorators, defaults, bases)."""
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *node.keywords]
    if isinstance(node, ast.Lambda):
        return [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    args = node.args
    return [*node.decorator_list, *args.defaults, *(d for d in args.kw_defaults if d is not None)]


# Leaves, and nodes whose children can hold no call, return, yield or raise: not descended into.
_LEAVES = (ast.Name, ast.Constant, ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop, ast.alias)


def _children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` as a list: the same nodes in the same order, without a generator per node."""
    children: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            children += [item for item in value if isinstance(item, ast.AST)]
        elif isinstance(value, ast.AST):
            children.append(value)
    return children


def _handled_names(handler: ast.ExceptHandler) -> tuple[str, ...]:
    """The exception names an ``except`` clause catches (what a bare ``raise`` in it re-raises)."""
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type] if handler.type else []
    return tuple(name for name in map(dotted, caught) if name)


def body_facts(body: Sequence[ast.AST]) -> BodyFacts:
    """Visit the body's own nodes once, stopping at nested definitions and lambdas."""
    returns_value = is_generator = False
    raises: dict[str, None] = {}  # dicts keep first-seen order
    calls: dict[str, None] = {}
    # Each node travels with the names its enclosing `except` catches: a bare `raise` there
    # re-raises them, and pydoclint expects them in Raises.
    stack: list[tuple[ast.AST, tuple[str, ...]]] = [(node, ()) for node in reversed(body)]
    while stack:
        node, handling = stack.pop()
        if isinstance(node, _LEAVES):
            continue
        if isinstance(node, (*DEFINITIONS, ast.Lambda)):
            stack.extend((part, ()) for part in reversed(_outer_parts(node)))
            continue
        if isinstance(node, ast.Call):
            if name := dotted(node.func):
                calls.setdefault(name)
        elif isinstance(node, ast.Return):
            returns_value |= _returns_value(node)
        elif isinstance(node, (ast.Yield, ast.YieldFrom)):
            is_generator = True
        elif isinstance(node, ast.ExceptHandler):
            handling = _handled_names(node)
        elif isinstance(node, ast.Raise):
            _note_raise(node, handling, raises)
        stack.extend((child, handling) for child in reversed(_children(node)))
    return BodyFacts(returns_value, is_generator, tuple(raises), tuple(calls))


def _returns_value(node: ast.Return) -> bool:
    """``return x`` with a value other than ``None``."""
    value = node.value
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def _note_raise(node: ast.Raise, handling: tuple[str, ...], raises: dict[str, None]) -> None:
    """Add what ``node`` raises; a bare ``raise`` re-raises what the enclosing ``except`` caught."""
    if node.exc is None:
        for name in handling:
            raises.setdefault(name)
    elif name := raised_name(node.exc):
        raises.setdefault(name)


def flow_facts(scope: Scope, may_yield: bool) -> BodyFacts:
    """Returns, raises and yields of ``scope``'s own body (no calls), the same as ``scope.facts`` says.

    ``return`` and ``raise`` are statements, so walking the statement blocks finds them in
    the order the full walk does, without visiting the expressions (most of the nodes).
    ``yield`` is an expression: only where the definition's text has the word (``may_yield``)
    does the full walk run.
    """
    if may_yield:
        facts = scope.facts
        return BodyFacts(facts.returns_value, facts.is_generator, facts.raises)
    returns_value = False
    raises: dict[str, None] = {}
    stack: list[tuple[ast.AST, tuple[str, ...]]] = [(node, ()) for node in reversed(scope.node.body)]
    while stack:
        node, handling = stack.pop()
        if isinstance(node, DEFINITIONS):
            continue  # their bodies are not ours; their decorators and defaults are expressions
        if isinstance(node, ast.Return):
            returns_value |= _returns_value(node)
            continue
        if isinstance(node, ast.Raise):
            _note_raise(node, handling, raises)
            continue
        if isinstance(node, ast.ExceptHandler):
            handling = _handled_names(node)
        for block in _BLOCKS_REVERSED:
            statements = getattr(node, block, None)
            if statements:
                stack.extend((statement, handling) for statement in reversed(statements))
    return BodyFacts(returns_value, False, tuple(raises))


# --------------------------------------------------------------------------- yield pre-scan


def yield_lines(source: str) -> list[int] | None:
    """The lines where the word ``yield`` appears, in order; None when they cannot be counted
    as the parser counts them (a lone ``\r`` also ends a line there)."""
    if "yield" not in source:
        return []
    if "\r" in source:
        return None
    lines, line, start = [], 1, 0
    for match in _YIELD.finditer(source):
        line += source.count("\n", start, match.start())
        start = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def may_yield(lines: list[int] | None, node: ast.AST) -> bool:
    """Whether the word ``yield`` appears between the definition's first and last line, where
    its own yields are (a nested definition's or a string's only cost a full walk)."""
    if lines is None:
        return True
    index = bisect.bisect_left(lines, node.lineno)
    return index < len(lines) and lines[index] <= node.end_lineno


# --------------------------------------------------------------------------- the walk


@dataclass(eq=False)
class Scope:
    """A definition found by the walk; its body is walked for facts only when they are asked for."""

    node: ast.AST
    qualname: str  # as Python names it: "Outer.method", "f.<locals>.inner"; "" for the module
    # The enclosing definition's node (None for the module), not its Scope: a scope that
    # pointed back at its parent would make a reference cycle, and every file's whole tree
    # would then wait for the cyclic garbage collector, which on a large tree cost --check
    # about half its time.
    parent: ast.AST | None
    children: list[Scope] = field(default_factory=list)
    imports: list[ast.stmt] = field(default_factory=list)  # filled for the module only

    @property
    def in_function(self) -> bool:
        """Whether some enclosing scope is a function: Python names such things ``<locals>``."""
        return "<locals>" in self.qualname

    @property
    def in_class(self) -> bool:
        """Whether the definition is a class's own member."""
        return isinstance(self.parent, ast.ClassDef)

    @cached_property
    def facts(self) -> BodyFacts:
        """What the definition's own body does (walked on first use)."""
        return body_facts(self.node.body)


def _child_qualname(scope: Scope, name: str) -> str:
    if isinstance(scope.node, ast.Module):
        return name
    separator = "." if isinstance(scope.node, ast.ClassDef) else ".<locals>."
    return f"{scope.qualname}{separator}{name}"


# Definitions are statements, and expressions never hold statements: walking the statement
# blocks finds every definition without visiting the (far more numerous) expression nodes.
_BLOCKS = ("body", "cases", "handlers", "orelse", "finalbody")
_BLOCKS_REVERSED = tuple(reversed(_BLOCKS))


# The blocks that _discover enters, per node type: those of _BLOCKS that the type has, for
# types with a body (compound statements, except handlers); none for the others.
_BLOCKS_OF: dict[type, tuple[str, ...]] = {}


def _blocks_of(kind: type) -> tuple[str, ...]:
    blocks = _BLOCKS_OF.get(kind)
    if blocks is None:
        blocks = tuple(b for b in _BLOCKS if b in kind._fields) if "body" in kind._fields else ()
        _BLOCKS_OF[kind] = blocks
    return blocks


def _discover(scope: Scope, statements: Sequence[ast.AST]) -> None:
    for statement in statements:
        if isinstance(statement, DEFINITIONS):
            child = Scope(statement, _child_qualname(scope, statement.name), scope.node)
            scope.children.append(child)
            _discover(child, statement.body)
            continue
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            if scope.parent is None:
                scope.imports.append(statement)
            continue
        blocks = _BLOCKS_OF.get(type(statement))
        for block in _blocks_of(type(statement)) if blocks is None else blocks:
            inner = getattr(statement, block)
            if inner:
                _discover(scope, inner)


def walk_module(tree: ast.Module) -> Scope:
    """The module's scope, with every definition below it and the module-level imports."""
    module = Scope(tree, "", None)
    _discover(module, tree.body)
    return module


def iter_definitions(scope: Scope | ast.Module) -> Iterator[Scope]:
    """Every definition below ``scope`` (a walked module or a tree), in source order, parents before children."""
    if isinstance(scope, ast.Module):
        scope = walk_module(scope)
    for child in scope.children:
        yield child
        yield from iter_definitions(child)


__all__ = [
    "ABSTRACT_DECORATORS",
    "ALWAYS_KNOWN",
    "CONTEXT_MANAGER_DECORATORS",
    "DEFINITIONS",
    "FUNCTIONS",
    "GENERATOR_TYPES",
    "NO_VALUE",
    "PROPERTY_DECORATORS",
    "BodyFacts",
    "Scope",
    "annotation_text",
    "body_facts",
    "body_statements",
    "decorator_names",
    "docstring_node",
    "dotted",
    "first_line",
    "flow_facts",
    "is_abstract",
    "is_context_manager",
    "is_property",
    "is_stub",
    "iter_definitions",
    "promises_value",
    "raised_name",
    "walk_module",
    "yield_type",
]
