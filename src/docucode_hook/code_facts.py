"""What a definition's code says that its docstring's prose may use: guards, forwarded and stored parameters, names."""

from __future__ import annotations

import ast

from docucode_hook.context import CodeFacts, Guard
from docucode_hook.syntax import ALWAYS_KNOWN, DEFINITIONS, FUNCTIONS, decorator_names


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
    )


__all__ = ["code_facts", "own_nodes", "used_names"]
