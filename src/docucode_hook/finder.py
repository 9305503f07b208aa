"""The fast ``ast`` pass: every definition's context, and which ones the hook must work on."""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath
from typing import Iterator, Sequence

from docstring_parser import Docstring, DocstringStyle, parse
from docstring_parser.common import DocstringRaises

from docucode_hook.config import Config
from docucode_hook.context import FunctionContext, Parameter, ParamKind, Style

_SKIP_COMMENT = re.compile(r"#\s*docucode:\s*skip\b")
_YIELD = re.compile(r"yield")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_OVERLOAD_MODULES = ("typing", "typing_extensions")
_PROPERTY_DECORATORS = ("property", "functools.cached_property", "cached_property", "abc.abstractproperty")
_NO_VALUE = frozenset({"None", "NoReturn", "Never"})  # annotations that promise no value (as grounding reads them)
_PARSER_STYLES = {
    Style.GOOGLE: DocstringStyle.GOOGLE,
    Style.NUMPY: DocstringStyle.NUMPYDOC,
    Style.SPHINX: DocstringStyle.REST,
}


# --------------------------------------------------------------------------- the walk


@dataclass(frozen=True)
class _BodyFacts:
    """What a definition's own body does; nested definitions and lambdas are not its own."""

    returns_value: bool
    is_generator: bool
    raises: tuple[str, ...]
    calls: tuple[str, ...]


@dataclass(eq=False)
class _Scope:
    """A definition found by the walk; its body is walked for facts only when they are asked for."""

    node: ast.AST
    qualname: str
    # The enclosing definition's node (None for the module), not its _Scope: a scope that
    # pointed back at its parent would make a reference cycle, and every file's whole tree
    # would then wait for the cyclic garbage collector, which on a large tree cost --check
    # about half its time.
    parent: ast.AST | None
    children: list[_Scope] = field(default_factory=list)
    imports: list[ast.stmt] = field(default_factory=list)  # filled for the module only

    @property
    def in_function(self) -> bool:
        """Whether some enclosing scope is a function: Python names such things ``<locals>``."""
        return "<locals>" in self.qualname

    @property
    def in_class(self) -> bool:
        return isinstance(self.parent, ast.ClassDef)

    @cached_property
    def facts(self) -> _BodyFacts:
        return _body_facts(self.node.body)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _raised_name(exc: ast.expr) -> str | None:
    name = _dotted(exc.func if isinstance(exc, ast.Call) else exc)
    # `raise err` re-raises a variable; exception classes are CapWords by convention.
    if name and name.rsplit(".", 1)[-1][:1].isupper():
        return name
    return None


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
    return tuple(name for name in map(_dotted, caught) if name)


def _body_facts(body: Sequence[ast.AST]) -> _BodyFacts:
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
        if isinstance(node, (*_DEFINITIONS, ast.Lambda)):
            stack.extend((part, ()) for part in reversed(_outer_parts(node)))
            continue
        if isinstance(node, ast.Call):
            if name := _dotted(node.func):
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
    return _BodyFacts(returns_value, is_generator, tuple(raises), tuple(calls))


def _returns_value(node: ast.Return) -> bool:
    """``return x`` with a value other than ``None``."""
    value = node.value
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def _note_raise(node: ast.Raise, handling: tuple[str, ...], raises: dict[str, None]) -> None:
    """Add what ``node`` raises; a bare ``raise`` re-raises what the enclosing ``except`` caught."""
    if node.exc is None:
        for name in handling:
            raises.setdefault(name)
    elif name := _raised_name(node.exc):
        raises.setdefault(name)


@dataclass(frozen=True)
class _Flow:
    """The part of ``_BodyFacts`` that the stale checks read: no calls."""

    returns_value: bool
    is_generator: bool
    raises: tuple[str, ...]


def _flow(scope: _Scope, may_yield: bool) -> _Flow:
    """Returns, raises and yields of ``scope``'s own body, the same as ``scope.facts`` says.

    ``return`` and ``raise`` are statements, so walking the statement blocks finds them in
    the order the full walk does, without visiting the expressions (most of the nodes).
    ``yield`` is an expression: only where the definition's text has the word does the full walk run.
    """
    if may_yield:
        facts = scope.facts
        return _Flow(facts.returns_value, facts.is_generator, facts.raises)
    returns_value = False
    raises: dict[str, None] = {}
    stack: list[tuple[ast.AST, tuple[str, ...]]] = [(node, ()) for node in reversed(scope.node.body)]
    while stack:
        node, handling = stack.pop()
        if isinstance(node, _DEFINITIONS):
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
    return _Flow(returns_value, False, tuple(raises))


def _child_qualname(scope: _Scope, name: str) -> str:
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


def _discover(scope: _Scope, statements: Sequence[ast.AST]) -> None:
    for statement in statements:
        if isinstance(statement, _DEFINITIONS):
            child = _Scope(statement, _child_qualname(scope, statement.name), scope.node)
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


def _walk_module(tree: ast.Module) -> _Scope:
    module = _Scope(tree, "", None)
    _discover(module, tree.body)
    return module


def _definitions(scope: _Scope) -> Iterator[_Scope]:
    """Every definition below ``scope``, in source order, parents before children."""
    for child in scope.children:
        yield child
        yield from _definitions(child)


# --------------------------------------------------------------------------- source text


class _Source:
    """Source text by node position; splits the lines once instead of once per lookup, and
    only when asked (``--check`` never needs them)."""

    def __init__(self, source: str) -> None:
        self.text = source

    @cached_property
    def lines(self) -> list[str]:
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


def _docstring_node(node: ast.AST) -> ast.Expr | None:
    body = getattr(node, "body", None)
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def first_line(node: ast.AST) -> int:
    """The definition's first line: its first decorator's, else its own."""
    decorators = getattr(node, "decorator_list", ())
    return min([node.lineno, *(d.lineno for d in decorators)])


def _definition_code(source: _Source, node: ast.AST) -> str:
    """The definition's source from its first decorator, dedented, with the docstring removed."""
    start = first_line(node)
    lines = source.lines[start - 1 : node.end_lineno]
    doc = _docstring_node(node)
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


def _decorator_names(node: ast.AST) -> list[str]:
    """Dotted names of the decorators, arguments dropped: ``@a.b(1)`` gives ``a.b``."""
    names = []
    for decorator in getattr(node, "decorator_list", ()):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.append(_dotted(target) or "")
    return names


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


@dataclass(frozen=True)
class _Module:
    """What every context of one file shares; the imports' text only when a context asks."""

    path: str
    source: _Source
    import_nodes: tuple[ast.stmt, ...]
    docstring: str | None

    @cached_property
    def imports(self) -> tuple[str, ...]:
        return tuple(self.source.segment(node) for node in self.import_nodes)


def _enclosing_class(module: _Module, scope: _Scope) -> dict[str, object]:
    parent = scope.parent
    if not scope.in_class:
        return {}
    return {
        "class_name": parent.name,
        "class_bases": tuple(module.source.segment(base) for base in parent.bases),
        "class_docstring": ast.get_docstring(parent),
    }


def _scope_parameters(source: _Source, scope: _Scope) -> tuple[list[Parameter], bool]:
    """A function's documentable parameters (a class's are its ``__init__``'s) and whether self/cls was dropped."""
    if isinstance(scope.node, ast.ClassDef):
        init = _init_of(scope)
        return (_parameters(source, init.node.args, drop_first=True)[0], False) if init else ([], False)
    drop_first = scope.in_class and "staticmethod" not in _decorator_names(scope.node)
    return _parameters(source, scope.node.args, drop_first)


def _scope_parameter_names(scope: _Scope) -> list[str]:
    """The names ``_scope_parameters`` gives, without reading annotations and defaults from the source."""
    node = scope.node
    if isinstance(node, ast.ClassDef):
        init = _init_of(scope)
        if init is None:
            return []
        args, drop_first = init.node.args, True
    else:
        args, drop_first = node.args, scope.in_class and "staticmethod" not in _decorator_names(node)
    names = [arg.arg for arg, _, _ in _arguments(args)]
    return names[1:] if drop_first and (args.posonlyargs or args.args) else names


def _definition_fields(module: _Module, scope: _Scope) -> dict[str, object]:
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
        **_enclosing_class(module, scope),
    }


def _function_context(module: _Module, scope: _Scope) -> FunctionContext:
    node = scope.node
    parameters, dropped = _scope_parameters(module.source, scope)
    return FunctionContext(
        kind="function",
        is_async=isinstance(node, ast.AsyncFunctionDef),
        is_method=dropped,
        signature=_signature(module.source, node),
        parameters=tuple(parameters),
        returns_annotation=module.source.segment(node.returns) if node.returns is not None else None,
        returns_value=scope.facts.returns_value,
        is_generator=scope.facts.is_generator,
        raises=scope.facts.raises,
        **_definition_fields(module, scope),
    )


def _init_of(scope: _Scope) -> _Scope | None:
    return next((c for c in scope.children if isinstance(c.node, _FUNCTIONS) and c.node.name == "__init__"), None)


def _class_context(module: _Module, scope: _Scope) -> FunctionContext:
    init = _init_of(scope)
    return FunctionContext(
        kind="class",
        signature=_class_signature(module.source, scope.node),
        parameters=tuple(_scope_parameters(module.source, scope)[0]),
        raises=init.facts.raises if init else (),
        **_definition_fields(module, scope),
    )


def _module_name(path: str) -> str:
    pure = PurePath(path)
    return pure.parent.name if pure.stem == "__init__" and pure.parent.name else pure.stem


def _module_context(module: _Module, tree: ast.Module, scope: _Scope) -> FunctionContext:
    name = _module_name(module.path)
    code = "\n".join(module.source.lines)
    doc = _docstring_node(tree)
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
    )


def _module_info(path: str, source: _Source, tree: ast.Module, scope: _Scope) -> _Module:
    return _Module(path=path, source=source, import_nodes=tuple(scope.imports), docstring=ast.get_docstring(tree))


def _context(module: _Module, scope: _Scope) -> FunctionContext:
    if isinstance(scope.node, ast.ClassDef):
        return _class_context(module, scope)
    return _function_context(module, scope)


def iter_contexts(source: str, path: str, *, classes: bool = False, modules: bool = False) -> Iterator[FunctionContext]:
    """One context per function and method in ``source`` (classes and the module on request).

    Raises SyntaxError when ``source`` does not parse.
    """
    tree = ast.parse(source, filename=path)
    root = _walk_module(tree)
    module = _module_info(path, _Source(source), tree, root)
    if modules:
        yield _module_context(module, tree, root)
    for scope in _definitions(root):
        if classes or not isinstance(scope.node, ast.ClassDef):
            yield _context(module, scope)


# --------------------------------------------------------------------------- scanning for the hook


@dataclass(frozen=True)
class Finding:
    """One problem for ``--check``; ``line`` and ``col`` are 1-based, as editors expect."""

    path: str
    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"


@dataclass(frozen=True)
class Target:
    context: FunctionContext
    reason: str  # "missing" | "stale"


@dataclass(frozen=True)
class FileScan:
    path: str
    targets: tuple[Target, ...]  # what fix mode must write (stale ones only with config.refresh_stale)
    findings: tuple[Finding, ...]  # what --check reports
    documented: int  # counted definitions that have a docstring (coverage numerator)
    total: int  # counted definitions (coverage denominator; skipped ones are not counted)
    skipped: tuple[tuple[str, str], ...]  # (qualname, reason) for definitions a skip rule removed


def skip_comment_lines(source: str) -> frozenset[int]:
    """Lines holding a ``# docucode: skip`` comment; tokenizes only files that mention it."""
    if "docucode:" not in source:
        return frozenset()
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return frozenset(tok.start[0] for tok in tokens if tok.type == tokenize.COMMENT and _SKIP_COMMENT.match(tok.string))


def marked_skip(node: ast.AST, skip_lines: frozenset[int]) -> bool:
    """``# docucode: skip`` on the definition's line or the line above its first decorator."""
    return bool(skip_lines) and (node.lineno in skip_lines or first_line(node) - 1 in skip_lines)


def _overload_names(imports: Sequence[ast.stmt]) -> frozenset[str]:
    """Names that mean ``typing.overload`` here, aliases from ``from typing import overload as o`` included."""
    names = {"overload"}
    for node in imports:
        if isinstance(node, ast.ImportFrom) and node.module in _OVERLOAD_MODULES:
            names.update(alias.asname for alias in node.names if alias.name == "overload" and alias.asname)
    return frozenset(names)


def _statements(node: ast.AST) -> list[ast.stmt]:
    """The body without its docstring."""
    return node.body[1:] if _docstring_node(node) is not None else node.body


def _body_lines(node: ast.AST) -> int:
    statements = _statements(node)
    return statements[-1].end_lineno - statements[0].lineno + 1 if statements else 1


@dataclass(frozen=True)
class _Rules:
    """The skip rules of one file: the config plus what the file itself says."""

    config: Config
    overload_names: frozenset[str]
    skip_lines: frozenset[int]

    def skip_reason(self, scope: _Scope) -> str | None:
        node, config = scope.node, self.config
        name = node.name
        # Each test runs only when its rule is on: with every rule off (as in the benchmark's
        # config) this is called for every definition of every file.
        if marked_skip(node, self.skip_lines):
            return "skip comment"
        decorators = _decorator_names(node) if node.decorator_list else []
        if config.skip_overload and any(d in self.overload_names or d.endswith(".overload") for d in decorators):
            return "overload"
        is_accessor = any(d.count(".") == 1 and d.endswith((".setter", ".deleter")) for d in decorators)
        if config.skip_property_setters and is_accessor:
            return "property setter"
        if config.skip_nested and scope.in_function:
            return "nested"
        is_dunder = len(name) > 4 and name.startswith("__") and name.endswith("__")
        if config.skip_dunder and is_dunder and not (name == "__init__" and config.document_init):
            return "dunder"
        if config.skip_private and name.startswith("_") and not is_dunder:
            return "private"
        if config.min_lines > 0 and isinstance(node, _FUNCTIONS) and _body_lines(node) < config.min_lines:
            return f"shorter than {config.min_lines} lines"
        return None


# docstring_parser's AUTO tries these in this order and keeps the result with the most sections.
# It is not called directly: it keeps a failed style's ParseError in a local, a reference cycle
# through the traceback's frames that holds the caller's whole AST until the cyclic collector
# runs, which on a large tree cost --check about half its time.
_ANY_STYLE = (DocstringStyle.REST, DocstringStyle.GOOGLE, DocstringStyle.NUMPYDOC, DocstringStyle.EPYDOC)


# What any docstring_parser style needs to find a section: a title line ("Args:"), a NumPy
# underline, a field (":param", "@param", "::") or a directive (".. deprecated::"). Text with
# none of these is summary-only and is not parsed (about half of all docstrings).
_MAY_HAVE_SECTIONS = re.compile(r"^[ \t]*(?:[A-Za-z][A-Za-z ]*:[ \t]*$|-+[ \t]*$|[:@]\S|\.\. )", re.M)


def _parse_as(text: str, style: DocstringStyle) -> Docstring | None:
    try:
        return parse(text, style)
    except Exception:  # ParseError, and IndexError from docstring_parser's own bugs (pyasn1's docstrings)
        return None


def _may_have_sections(text: str) -> bool:
    """False when ``text`` is summary-only, also after ``inspect.cleandoc``: cleaning removes
    only leading whitespace and lines, but turns tabs into spaces (so a tab is a maybe)."""
    return "\n" in text and ("\t" in text or _MAY_HAVE_SECTIONS.search(text) is not None)


def _parse_docstring(text: str, style: Style) -> Docstring | None:
    """The parsed docstring when it has sections; a summary-only docstring is never stale."""
    if "\n" not in text or not _MAY_HAVE_SECTIONS.search(text):
        return None
    chosen_style = _PARSER_STYLES[style]
    chosen = _parse_as(text, chosen_style)
    if chosen is not None and chosen.meta:
        return chosen
    # The chosen style is one of the four: its parse is reused rather than done again.
    tried = (chosen if any_style is chosen_style else _parse_as(text, any_style) for any_style in _ANY_STYLE)
    parsed = [doc for doc in tried if doc is not None]
    best = max(parsed, key=lambda doc: len(doc.meta), default=None)  # the first of equals, as AUTO
    return best if best is not None and best.meta else None


def _is_stub(node: ast.AST) -> bool:
    """A body of only ``...``, ``pass`` or ``raise NotImplementedError``: an interface, not an implementation."""
    return all(_is_placeholder(statement) for statement in _statements(node))


def _is_placeholder(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass) or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
        return True
    return isinstance(statement, ast.Raise) and statement.exc is not None and _raised_name(statement.exc) == "NotImplementedError"


def _documented_names(docstring: Docstring) -> list[str]:
    names = []
    for meta in docstring.params:
        if meta.args[0] in ("param", "other_param"):
            # NumPy allows "a, b : int"; "*args" and "args" both name the same parameter.
            names += [part.strip().lstrip("*") for part in meta.arg_name.split(",") if part.strip()]
    return names


def _parameter_problems(docstring: Docstring, expected: Sequence[str], lenient: bool) -> list[tuple[str, str]]:
    documented = _documented_names(docstring)
    missing = [name for name in expected if name not in documented]
    unknown = [name for name in dict.fromkeys(documented) if name not in expected]
    # Classes and __init__ may document their arguments in either docstring: require them only once started.
    if lenient and not documented:
        missing = []
    parts = [f"{label}: {', '.join(names)}" for label, names in (("missing", missing), ("unknown", unknown)) if names]
    return [("DCU101", f"docstring parameters do not match signature ({'; '.join(parts)})")] if parts else []


def _promises_value(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A return annotation other than None/NoReturn: ``-> int | None`` with ``return None`` still returns one."""
    if node.returns is None:
        return False
    return ast.unparse(node.returns).strip("'\"").rsplit(".", 1)[-1] not in _NO_VALUE


def _return_problems(docstring: Docstring, node: ast.AST, flow: _Flow, is_stub: bool) -> list[tuple[str, str]]:
    documented = any(not meta.is_generator for meta in docstring.many_returns)
    if documented and not flow.returns_value and not flow.is_generator and not (is_stub or _promises_value(node)):
        return [("DCU102", "docstring documents a return value but the function returns nothing")]
    # A generator's ``return x`` ends the iteration; its Yields section is what callers read.
    if flow.returns_value and not documented and not flow.is_generator:
        if not any(d in _PROPERTY_DECORATORS for d in _decorator_names(node)):
            return [("DCU102", "function returns a value but the docstring has no Returns section")]
    return []


def _yield_problems(docstring: Docstring, flow: _Flow, is_stub: bool) -> list[tuple[str, str]]:
    documented = any(meta.is_generator for meta in docstring.many_returns)
    if documented and not flow.is_generator and not is_stub:
        return [("DCU103", "docstring documents yielded values but the function does not yield")]
    if flow.is_generator and not documented:
        return [("DCU103", "function yields but the docstring has no Yields section")]
    return []


def documented_raises(docstring: Docstring) -> list[DocstringRaises]:
    """The Raises entries: docstring_parser also lists a NumPy "Warns" section under ``raises``.

    A warning is issued (``warnings.warn``), not raised, so it is neither an exception the
    body must document nor one documented "but never raised". Grounding reads the same list.
    """
    return [meta for meta in docstring.raises if meta.args[0] != "warns"]


def _raise_problems(docstring: Docstring, raised: Sequence[str]) -> list[tuple[str, str]]:
    documented = [meta.type_name for meta in documented_raises(docstring) if meta.type_name]

    def short(name: str) -> str:
        return name.rsplit(".", 1)[-1]

    undocumented = [name for name in raised if short(name) not in {short(d) for d in documented}]
    if undocumented:
        return [("DCU104", f"raised exceptions not documented in Raises: {', '.join(undocumented)}")]
    never_raised = [name for name in documented if short(name) not in {short(r) for r in raised}]
    if raised and never_raised:
        return [("DCU104", f"Raises documents exceptions never raised: {', '.join(never_raised)}")]
    return []


def _stale_problems(scope: _Scope, style: Style, may_yield: bool) -> list[tuple[str, str]]:
    node = scope.node
    if not _may_have_sections(_docstring_node(node).value.value):
        return []  # before inspect.cleandoc, which costs more than this test
    docstring = _parse_docstring(ast.get_docstring(node) or "", style)
    if docstring is None:
        return []
    parameters = _scope_parameter_names(scope)
    if isinstance(node, ast.ClassDef):
        return _parameter_problems(docstring, parameters, lenient=True)
    is_abstract = any(d in ("abstractmethod", "abc.abstractmethod") for d in _decorator_names(node))
    is_stub = is_abstract or _is_stub(node)
    flow = _flow(scope, may_yield)
    return [
        *_parameter_problems(docstring, parameters, lenient=node.name == "__init__"),
        *_return_problems(docstring, node, flow, is_stub),
        *_yield_problems(docstring, flow, is_stub),
        *_raise_problems(docstring, flow.raises),
    ]


def _yield_lines(source: str) -> list[int] | None:
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


def _may_yield(yield_lines: list[int] | None, node: ast.AST) -> bool:
    """Whether the word ``yield`` appears between the definition's first and last line, where
    its own yields are (a nested definition's or a string's only cost a full walk)."""
    if yield_lines is None:
        return True
    index = bisect.bisect_left(yield_lines, node.lineno)
    return index < len(yield_lines) and yield_lines[index] <= node.end_lineno


def _kind_name(node: ast.AST) -> str:
    return "class" if isinstance(node, ast.ClassDef) else "module" if isinstance(node, ast.Module) else "function"


def scan_source(source: str, path: str, config: Config, *, targets: bool = True) -> FileScan:
    """Decide which definitions need a docstring written or refreshed, and what ``--check`` reports.

    ``targets=False`` leaves ``FileScan.targets`` empty: ``--check`` reports findings only, and
    building a context per undocumented function was most of its time on a large tree.
    Raises SyntaxError when ``source`` does not parse.
    """
    tree = ast.parse(source, filename=path)
    root = _walk_module(tree)
    module = _module_info(path, _Source(source), tree, root)
    rules = _Rules(config, _overload_names(root.imports), skip_comment_lines(source))
    yield_lines = _yield_lines(source)
    scopes = [root] if config.include_modules else []
    scopes += [s for s in _definitions(root) if config.include_classes or not isinstance(s.node, ast.ClassDef)]
    found: list[Target] = []
    findings: list[Finding] = []
    skipped: list[tuple[str, str]] = []
    documented = total = 0
    for scope in scopes:
        reason = rules.skip_reason(scope) if scope is not root else None
        if reason is not None:
            skipped.append((scope.qualname or _module_name(path), reason))
            continue
        total += 1
        line, col = (scope.node.lineno, scope.node.col_offset + 1) if scope is not root else (1, 1)
        if _docstring_node(scope.node) is None:
            name = scope.qualname or _module_name(path)
            findings.append(Finding(path, line, col, "DCU100", f"missing docstring in {_kind_name(scope.node)} {name}"))
            if targets:
                found.append(Target(_scope_context(module, tree, scope), "missing"))
            continue
        documented += 1
        if scope is root or not (config.check_stale or config.refresh_stale):
            continue
        problems = _stale_problems(scope, config.style, _may_yield(yield_lines, scope.node))
        if problems and config.check_stale:
            findings += [Finding(path, line, col, code, message) for code, message in problems]
        if problems and config.refresh_stale and targets:
            found.append(Target(_context(module, scope), "stale"))
    return FileScan(path, tuple(found), tuple(findings), documented, total, tuple(skipped))


def _scope_context(module: _Module, tree: ast.Module, scope: _Scope) -> FunctionContext:
    return _module_context(module, tree, scope) if scope.parent is None else _context(module, scope)
