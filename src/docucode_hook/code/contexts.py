"""One ``FunctionContext`` per definition: signature, parameters, body facts and surroundings, read from the ``ast`` walk."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePath
from typing import Iterator

from docucode_hook.code.facts import code_facts
from docucode_hook.code.records import FunctionContext, Parameter, ParamKind
from docucode_hook.code.syntax import (
    DEFINITIONS,
    FUNCTIONS,
    Scope,
    decorator_names,
    docstring_node,
    first_line,
    is_abstract,
    is_context_manager,
    is_property,
    is_stub,
    iter_definitions,
    walk_module,
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# --------------------------------------------------------------------------- source text


class _Source:
    """_Source text by node position; splits the lines once instead of once per lookup, and
    only when asked (``--check`` never needs them)."""

    def __init__(self, source: str) -> None:
        self.text = source

    @cached_property
    def lines(self) -> list[str]:
        """The source's lines, split the way ``ast`` counts line numbers."""
        return _LINE_BREAK.split(self.text)

    def column(self, lineno: int, byte_col: int) -> int:
        """ast columns count UTF-8 bytes; string slicing counts characters."""
        line = self.lines[lineno - 1]
        if line.isascii():
            return byte_col
        return len(line.encode("utf-8")[:byte_col].decode("utf-8"))

    def segment(self, node: ast.AST) -> str:
        """The node's source on one line (multi-line expressions are unparsed)."""
        if node.lineno != node.end_lineno:
            return ast.unparse(node)
        line = self.lines[node.lineno - 1]
        return line[self.column(node.lineno, node.col_offset) : self.column(node.lineno, node.end_col_offset)]


def _definition_code(source: _Source, node: ast.AST) -> str:
    """The definition's source from its first decorator, dedented, with the docstring removed."""
    start = first_line(node)
    lines = source.lines[start - 1 : node.end_lineno]
    doc = docstring_node(node)
    if doc is not None:
        lines = _without_docstring(source, lines, start, doc, only_statement=len(node.body) == 1)
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
    return "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def _without_docstring(source: _Source, lines: list[str], start: int, doc: ast.Expr, only_statement: bool) -> list[str]:
    first, last = doc.lineno - start, doc.end_lineno - start
    before = lines[first][: source.column(doc.lineno, doc.col_offset)]
    after = lines[last][source.column(doc.end_lineno, doc.end_col_offset) :]
    if only_statement:
        # A body of only a docstring becomes `...` so the snippet still parses.
        joined = before + "..." + after
    else:
        joined = before + re.sub(r"^\s*;\s*", "", after)
    replacement = [joined] if joined.strip() else []
    return lines[:first] + replacement + lines[last + 1 :]


# --------------------------------------------------------------------------- contexts


def _arguments(args: ast.arguments) -> list[tuple[ast.arg, ParamKind, ast.expr | None]]:
    """Every parameter in signature order with its kind and default."""
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    entries: list[tuple[ast.arg, ParamKind, ast.expr | None]] = [
        (arg, ParamKind.POSITIONAL_ONLY if index < len(args.posonlyargs) else ParamKind.POSITIONAL_OR_KEYWORD, default)
        for index, (arg, default) in enumerate(zip(positional, defaults))
    ]
    if args.vararg:
        entries.append((args.vararg, ParamKind.VAR_POSITIONAL, None))
    entries += [(arg, ParamKind.KEYWORD_ONLY, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        entries.append((args.kwarg, ParamKind.VAR_KEYWORD, None))
    return entries


def _parameters(source: _Source, args: ast.arguments, drop_first: bool) -> tuple[list[Parameter], bool]:
    """Documentable parameters and whether a leading self/cls was dropped."""
    entries = _arguments(args)
    dropped = drop_first and bool(args.posonlyargs or args.args)
    parameters = [
        Parameter(
            name=arg.arg,
            kind=kind,
            annotation=source.segment(arg.annotation) if arg.annotation else None,
            default=source.segment(default) if default is not None else None,
        )
        for arg, kind, default in (entries[1:] if dropped else entries)
    ]
    return parameters, dropped


_STARS = {ParamKind.VAR_POSITIONAL: "*", ParamKind.VAR_KEYWORD: "**"}


def _format_parameter(source: _Source, arg: ast.arg, kind: ParamKind, default: ast.expr | None) -> str:
    text = _STARS.get(kind, "") + arg.arg
    if arg.annotation is not None:
        text += f": {source.segment(arg.annotation)}"
    if default is not None:
        # PEP 8: spaces around "=" only when the parameter is annotated.
        text += f" = {source.segment(default)}" if arg.annotation is not None else f"={source.segment(default)}"
    return text


def _signature(source: _Source, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    parts = []
    previous = None
    for arg, kind, default in _arguments(node.args):
        if previous is ParamKind.POSITIONAL_ONLY and kind is not ParamKind.POSITIONAL_ONLY:
            parts.append("/")
        if kind is ParamKind.KEYWORD_ONLY and previous not in (ParamKind.KEYWORD_ONLY, ParamKind.VAR_POSITIONAL):
            parts.append("*")
        parts.append(_format_parameter(source, arg, kind, default))
        previous = kind
    if previous is ParamKind.POSITIONAL_ONLY:
        parts.append("/")
    type_params = getattr(node, "type_params", None)  # Python 3.12+
    generics = f"[{', '.join(source.segment(p) for p in type_params)}]" if type_params else ""
    returns = f" -> {source.segment(node.returns)}" if node.returns is not None else ""
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    return f"{prefix} {node.name}{generics}({', '.join(parts)}){returns}:"


def _class_signature(source: _Source, node: ast.ClassDef) -> str:
    bases = [source.segment(base) for base in node.bases]
    bases += [f"{kw.arg}={source.segment(kw.value)}" if kw.arg else f"**{source.segment(kw.value)}"
              for kw in node.keywords]
    return f"class {node.name}({', '.join(bases)}):" if bases else f"class {node.name}:"


def _bound_names(statements: list[ast.stmt]) -> list[str]:
    """Names a block's own statements define: functions, classes and assignment targets."""
    names = []
    for statement in statements:
        if isinstance(statement, DEFINITIONS):
            names.append(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names += [node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)]
    return names


@dataclass(frozen=True)
class ModuleFacts:
    """What every context of one file shares; the imports' text and the names only when a context asks."""

    path: str
    source: _Source
    import_nodes: tuple[ast.stmt, ...]
    docstring: str | None
    tree: ast.Module

    @cached_property
    def imports(self) -> tuple[str, ...]:
        """The source text of each import statement of the module, in order."""
        return tuple(self.source.segment(node) for node in self.import_nodes)

    @cached_property
    def top_level_names(self) -> tuple[str, ...]:
        """The module's definitions and assignments, and the names its imports bind and the
        modules they name (``import os.path``: "os", "os.path"; ``from a import b as c``: "a", "b", "c")."""
        names = _bound_names(self.tree.body)
        for node in self.import_nodes:
            if isinstance(node, ast.ImportFrom) and node.module:
                names += node.module.split(".")
            for alias in node.names:
                names += [*alias.name.split("."), alias.name, *([alias.asname] if alias.asname else [])]
        return tuple(dict.fromkeys(names))


def class_members(node: ast.ClassDef) -> list[str]:
    """The class's own definitions and class attributes, and the ``self.x`` its methods assign."""
    names = _bound_names(node.body)
    for statement in node.body:
        if isinstance(statement, FUNCTIONS):
            names += [target.attr for sub in ast.walk(statement) if isinstance(sub, (ast.Assign, ast.AnnAssign))
                      for target in (sub.targets if isinstance(sub, ast.Assign) else [sub.target])
                      if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                      and target.value.id == "self"]
    return names


def _enclosing_class(module: ModuleFacts, scope: Scope) -> dict[str, object]:
    parent = scope.parent
    if not scope.in_class:
        return {"scope_names": module.top_level_names}
    return {
        "class_name": parent.name,
        "class_bases": tuple(module.source.segment(base) for base in parent.bases),
        "class_docstring": ast.get_docstring(parent),
        "scope_names": tuple(dict.fromkeys([*module.top_level_names, *class_members(parent)])),
    }


def _body_indent(source: _Source, node: ast.AST) -> int:
    """The body's indentation in columns; a one-line body (``def f(): ...``) will be indented one level."""
    first = node.body[0]
    line = source.lines[first.lineno - 1]
    before = line[: source.column(first.lineno, first.col_offset)]
    return len(before) if not before.strip() else node.col_offset + 4


def _scope_parameters(source: _Source, scope: Scope) -> tuple[list[Parameter], bool]:
    """A function's documentable parameters (a class's are its ``__init__``'s) and whether self/cls was dropped."""
    if isinstance(scope.node, ast.ClassDef):
        init = _init_of(scope)
        return (_parameters(source, init.node.args, drop_first=True)[0], False) if init else ([], False)
    drop_first = scope.in_class and "staticmethod" not in decorator_names(scope.node)
    return _parameters(source, scope.node.args, drop_first)


def parameter_names(scope: Scope) -> list[str]:
    """The names ``_scope_parameters`` gives, without reading annotations and defaults from the source."""
    node = scope.node
    if isinstance(node, ast.ClassDef):
        init = _init_of(scope)
        if init is None:
            return []
        args, drop_first = init.node.args, True
    else:
        args, drop_first = node.args, scope.in_class and "staticmethod" not in decorator_names(node)
    names = [arg.arg for arg, _, _ in _arguments(args)]
    return names[1:] if drop_first and (args.posonlyargs or args.args) else names


def _definition_fields(module: ModuleFacts, scope: Scope) -> dict[str, object]:
    """The FunctionContext fields that a function and a class share."""
    node = scope.node
    return {
        "path": module.path,
        "qualname": scope.qualname,
        "name": node.name,
        "lineno": node.lineno,
        "col": node.col_offset,
        "decorators": tuple(module.source.segment(d) for d in node.decorator_list),
        "code": _definition_code(module.source, node),
        "imports": module.imports,
        "module_docstring": module.docstring,
        "calls": scope.facts.calls,
        "docstring": ast.get_docstring(node),
        "body_indent": _body_indent(module.source, node),
        **_enclosing_class(module, scope),
    }


def _is_none_annotation(returns: ast.expr | None) -> bool:
    return isinstance(returns, ast.Constant) and returns.value is None


def _function_context(module: ModuleFacts, scope: Scope) -> FunctionContext:
    node = scope.node
    parameters, dropped = _scope_parameters(module.source, scope)
    return FunctionContext(
        kind="function",
        is_async=isinstance(node, ast.AsyncFunctionDef),
        is_method=dropped,
        signature=_signature(module.source, node),
        parameters=tuple(parameters),
        returns_annotation=module.source.segment(node.returns) if node.returns is not None else None,
        # "-> None" is the author's word that nothing comes back, a `return cast(None, ...)` included.
        returns_value=scope.facts.returns_value and not _is_none_annotation(node.returns),
        is_generator=scope.facts.is_generator,
        raises=scope.facts.raises,
        is_stub=is_stub(node),
        is_abstract=is_abstract(node),
        is_property=is_property(node),
        is_context_manager=is_context_manager(node),
        code_facts=code_facts(node, {p.name for p in parameters}),
        **_definition_fields(module, scope),
    )


def _init_of(scope: Scope) -> Scope | None:
    return next((c for c in scope.children if isinstance(c.node, FUNCTIONS) and c.node.name == "__init__"), None)


def _class_context(module: ModuleFacts, scope: Scope) -> FunctionContext:
    init = _init_of(scope)
    return FunctionContext(
        kind="class",
        signature=_class_signature(module.source, scope.node),
        parameters=tuple(_scope_parameters(module.source, scope)[0]),
        raises=init.facts.raises if init else (),
        code_facts=code_facts(scope.node, set()),
        **_definition_fields(module, scope),
    )


def module_name(path: str) -> str:
    """The module's name from its path (a package's ``__init__`` is named after the package)."""
    pure = PurePath(path)
    return pure.parent.name if pure.stem == "__init__" and pure.parent.name else pure.stem


def _module_context(module: ModuleFacts, tree: ast.Module, scope: Scope) -> FunctionContext:
    name = module_name(module.path)
    code = "\n".join(module.source.lines)
    doc = docstring_node(tree)
    if doc is not None:
        lines = module.source.lines
        code = "\n".join(lines[: doc.lineno - 1] + lines[doc.end_lineno :]).lstrip("\n")
    return FunctionContext(
        path=module.path,
        qualname=name,
        name=name,
        kind="module",
        lineno=0,
        col=0,
        code=code,
        imports=module.imports,
        module_docstring=module.docstring,
        calls=scope.facts.calls,
        docstring=module.docstring,
        scope_names=module.top_level_names,
    )


def module_facts(path: str, source: str, root: Scope) -> ModuleFacts:
    """What every context of the walked module ``root`` shares."""
    return ModuleFacts(
        path=path, source=_Source(source), import_nodes=tuple(root.imports), docstring=ast.get_docstring(root.node),
        tree=root.node,
    )


def definition_context(module: ModuleFacts, scope: Scope) -> FunctionContext:
    """The context of one walked definition (or of the module, for the walk's root)."""
    if isinstance(scope.node, ast.Module):
        return _module_context(module, scope.node, scope)
    if isinstance(scope.node, ast.ClassDef):
        return _class_context(module, scope)
    return _function_context(module, scope)


def iter_contexts(source: str, path: str, *, classes: bool = False, modules: bool = False) -> Iterator[FunctionContext]:
    """One context per function and method in ``source`` (classes and the module on request).

    Raises SyntaxError when ``source`` does not parse.
    """
    tree = ast.parse(source, filename=path)
    root = walk_module(tree)
    module = module_facts(path, source, root)
    if modules:
        yield definition_context(module, root)
    for scope in iter_definitions(root):
        if classes or not isinstance(scope.node, ast.ClassDef):
            yield definition_context(module, scope)




__all__ = ["ModuleFacts", "class_members", "definition_context", "iter_contexts", "module_facts", "module_name", "parameter_names"]
