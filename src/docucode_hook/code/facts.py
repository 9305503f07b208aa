"""What a definition's code says that its docstring's prose may use, and the facts the prose checks read.

``code_facts`` reads, while the context is built, what a definition's ``return`` and
``raise`` statements say, where its parameters go and which names it uses. The
``FunctionContext`` also says what kind of function it is (async, generator, property, stub,
abstract, context manager), whether it returns a value, and which names its module and class
define; ``prose_facts`` gathers all of it for the prose checks and the derived text.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from docucode_hook.code.records import CodeFacts, FunctionContext, Guard
from docucode_hook.code.syntax import ALWAYS_KNOWN, DEFINITIONS, FUNCTIONS, decorator_names, promises_value


def own_nodes(node: ast.AST) -> list[ast.AST]:
    """Every node of the definition's body, not descending into nested definitions and lambdas."""
    found: list[ast.AST] = []
    stack = list(reversed(node.body))
    while stack:
        current = stack.pop()
        found.append(current)
        if not isinstance(current, (*DEFINITIONS, ast.Lambda)):
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
    for current in own_nodes(node):
        if isinstance(current, ast.If) and len(current.orelse) == 1 and isinstance(current.orelse[0], ast.If):
            elifs.add(id(current.orelse[0]))
    conditions: dict[int, str | None] = {}
    for current in own_nodes(node):
        if isinstance(current, ast.If) and isinstance(current.body[0], ast.Raise) and id(current) not in elifs:
            names = {n.id for n in ast.walk(current.test) if isinstance(n, ast.Name)}
            readable = names <= parameters | ALWAYS_KNOWN and len(ast.unparse(current.test)) <= 60
            conditions[id(current.body[0])] = ast.unparse(current.test) if readable else None
    for current in own_nodes(node):
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


# Calls that only report a value: "Passed to `logger.debug`" was read as the parameter's
# purpose, and a blind review found it misleading ("func is applied to the args, not a
# logger argument").
_REPORTING = (".debug", ".info", ".warning", ".warn", ".error", ".exception", ".critical", ".log")


def _forwarded(own: list[ast.AST], parameters: set[str]) -> list[tuple[str, str]]:
    """(parameter, callee) for the first call that receives each parameter unchanged."""
    found: dict[str, str] = {}
    for node in own:
        if isinstance(node, ast.Call):
            callee = ast.unparse(node.func)
            # "Passed to `len`" or "to `ValueError`" says nothing the reader does not see.
            if len(callee) > 40 or callee in ALWAYS_KNOWN or callee.endswith(("Error", "Exception", *_REPORTING)):
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


_MAX_USE = 40  # longer expressions read more easily in the code than in a parameter's entry


def _uses(node: ast.AST, own: list[ast.AST], parameters: set[str]) -> list[tuple[str, str, str]]:
    """(parameter, how, detail): the least a parameter's entry can truly say when no call takes it
    and nothing stores it: returned as is, iterated over, the attributes read from it, the first
    short expression that reads it, or that nothing reads it at all (closures included)."""
    loads: dict[str, list[ast.Name]] = {}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in parameters:
            loads.setdefault(sub.id, []).append(sub)
    # ``locals()`` or ``vars()`` read every parameter without naming it.
    reads_all = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("locals", "vars")
                    for n in ast.walk(node))
    parents = {id(child): parent for parent in own for child in ast.iter_child_nodes(parent)}
    found: dict[str, tuple[str, str]] = {}
    for name in sorted(parameters):
        names = [n for n in own if isinstance(n, ast.Name) and n.id == name]
        if not loads.get(name):
            if not reads_all:
                found[name] = ("unused", "")
            continue
        attributes = list(dict.fromkeys(
            parents[id(n)].attr for n in names
            if isinstance(parents.get(id(n)), ast.Attribute) and isinstance(n.ctx, ast.Load)))
        for n in names:
            parent = parents.get(id(n))
            if isinstance(parent, ast.Return):
                found[name] = ("returned", "")
            elif isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)) and parent.iter is n:
                found[name] = ("iterated", "")
            else:
                continue
            break
        else:
            if attributes:
                found[name] = ("attributes", ", ".join(attributes[:3]))
            elif names and (parent := _enclosing(names[0], parents)) is not None:
                source = ast.unparse(parent)
                if len(source) <= _MAX_USE and "\n" not in source:
                    found[name] = ("used in", source)
    return [(name, how, detail) for name, (how, detail) in found.items()]


def _enclosing(name: ast.Name, parents: dict[int, ast.AST]) -> ast.expr | None:
    """The expression that reads ``name``; an f-string's whole text rather than its ``{name}`` part."""
    parent = parents.get(id(name))
    if isinstance(parent, ast.FormattedValue):
        parent = parents.get(id(parent))
    return parent if isinstance(parent, ast.expr) else None


def used_names(node: ast.AST) -> frozenset[str]:
    """Every name, attribute, argument and definition name in ``node``'s code."""
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
        elif isinstance(sub, ast.arg):
            names.add(sub.arg)
        elif isinstance(sub, DEFINITIONS):
            names.add(sub.name)
    return frozenset(names)


def code_facts(node: ast.AST, parameters: set[str]) -> CodeFacts:
    """The ``CodeFacts`` of a definition (a class or module gets its names only)."""
    if not isinstance(node, FUNCTIONS):
        return CodeFacts(used_names=used_names(node))
    own = own_nodes(node)
    returns = [n.value for n in own if isinstance(n, ast.Return) and n.value is not None]
    return CodeFacts(
        is_constructor=_is_classmethod(node) and bool(returns) and all(_builds_cls(value) for value in returns),
        return_expressions=tuple(dict.fromkeys(ast.unparse(value) for value in returns if not _is_none(value))),
        guards=tuple(_guards(node, parameters)),
        forwarded=tuple(_forwarded(own, parameters)),
        stored=tuple(_stored(own, parameters)),
        used_names=used_names(node),
        uses=tuple(_uses(node, own, parameters)),
    )



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
    uses: tuple[tuple[str, str, str], ...] = ()  # CodeFacts.uses
    known_names: frozenset[str] = frozenset()


_LINTED_PROPERTIES = ("property", "functools.cached_property", "abc.abstractproperty")


def lints_as_property(ctx: FunctionContext) -> bool:
    """Whether ruff's pydocstyle rules see a property, whose summary they let read as a value: the
    builtin ``property``, ``functools.cached_property`` or ``abc.abstractproperty``, however
    imported. Another library's ``cached_property`` (Django's) is a function to them (D401)."""
    if not ctx.is_property:
        return False
    for decorator in ctx.decorators:
        name = decorator.split("(", 1)[0].strip()
        if name in _LINTED_PROPERTIES or name.endswith((".setter", ".getter", ".deleter")):
            return True
        if name in ("cached_property", "abstractproperty") and any(
            re.search(rf"^from (?:functools|abc) import .*\b{name}\b", line) for line in ctx.imports
        ):
            return True
    return False


def prose_facts(ctx: FunctionContext) -> ProseFacts:
    """The facts of ``ctx``, from what the finder read off its code."""
    code = ctx.code_facts
    return ProseFacts(
        is_async=ctx.is_async,
        is_generator=ctx.is_generator,
        returns_value=ctx.returns_value,
        # The prose of a property that ruff reads as a function follows the rules of a function.
        is_property=lints_as_property(ctx),
        is_stub=ctx.is_stub or ctx.is_abstract,
        is_context_manager=ctx.is_context_manager,
        is_constructor=code.is_constructor,
        promises_value=promises_value(" ".join((ctx.returns_annotation or "").split()) or None),
        return_expressions=code.return_expressions,
        guards=code.guards,
        forwarded=code.forwarded,
        stored=code.stored,
        uses=code.uses,
        known_names=_known_names(ctx),
    )


def _known_names(ctx: FunctionContext) -> frozenset[str]:
    """Names the prose may mention: builtins, the definition, its class, parameters, calls, the
    module's names (imports included) and the class's, and every name and attribute its code uses."""
    names = set(ALWAYS_KNOWN) | {ctx.name, *(p.name for p in ctx.parameters), *ctx.scope_names}
    names |= {part for dotted in (ctx.class_name or "", *ctx.class_bases, *ctx.calls) for part in dotted.split(".") if part}
    return frozenset(names | ctx.code_facts.used_names)


__all__ = ["ProseFacts", "code_facts", "lints_as_property", "own_nodes", "prose_facts", "used_names"]
