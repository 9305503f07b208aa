"""Scanning a file for the hook and ``--check``: which definitions need a docstring, what is stale, coverage."""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from docucode_hook.config import Config
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.code.contexts import definition_context, module_facts, module_name, parameter_names
from docucode_hook.docstrings.sections import CODES, DefinitionShape, may_have_sections, read_sections, stale_sections
from docucode_hook.docstrings.styles import StyleChoice, StyleRule, section_styles, style_rule
from docucode_hook.code.syntax import (
    FUNCTIONS,
    Scope,
    annotation_text,
    body_statements,
    decorator_names,
    docstring_node,
    first_line,
    flow_facts,
    is_abstract,
    is_property,
    is_stub,
    iter_definitions,
    may_yield,
    promises_value,
    walk_module,
    yield_lines,
)

_SKIP_COMMENT = re.compile(r"#\s*docucode:\s*skip\b")
_OVERLOAD_MODULES = ("typing", "typing_extensions")


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
    reason: str  # "missing" | "stale" | "restyle"
    style: Style = Style.GOOGLE  # the file's style, which what is written takes
    text: str | None = None  # the docstring converted into ``style`` (restyle, or stale with convert on)


@dataclass(frozen=True)
class FileScan:
    path: str
    targets: tuple[Target, ...]  # what fix mode must write (stale ones only with config.refresh_stale)
    findings: tuple[Finding, ...]  # what --check reports
    documented: int  # counted definitions that have a docstring (coverage numerator)
    total: int  # counted definitions (coverage denominator; skipped ones are not counted)
    skipped: tuple[tuple[str, str], ...]  # (qualname, reason) for definitions a skip rule removed
    style: StyleChoice = StyleChoice(Style.GOOGLE, "")  # the file's style, and why
    unconverted: tuple[tuple[int, str], ...] = ()  # (line, reason) for docstrings convert left as they are


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


def _body_lines(node: ast.AST) -> int:
    statements = body_statements(node)
    return statements[-1].end_lineno - statements[0].lineno + 1 if statements else 1


@dataclass(frozen=True)
class _Rules:
    """The skip rules of one file: the config plus what the file itself says."""

    config: Config
    overload_names: frozenset[str]
    skip_lines: frozenset[int]

    def skip_reason(self, scope: Scope) -> str | None:
        """Why the configuration skips this definition (private, dunder, nested, ...), or None."""
        node, config = scope.node, self.config
        name = node.name
        # Each test runs only when its rule is on: with every rule off (as in the benchmark's
        # config) this is called for every definition of every file.
        if marked_skip(node, self.skip_lines):
            return "skip comment"
        decorators = decorator_names(node) if node.decorator_list else []
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
        if config.min_lines > 0 and isinstance(node, FUNCTIONS) and _body_lines(node) < config.min_lines:
            return f"shorter than {config.min_lines} lines"
        return None


def _stale_sections(scope: Scope, style: Style, may_yield: bool, cleaned: dict[int, str]) -> dict[str, str]:
    """``stale_sections`` for a walked definition, from facts read off the AST (no context is built).

    ``cleaned`` holds the docstrings the style pass has already cleaned, by ``id`` of their node.
    """
    node = scope.node
    raw = docstring_node(node).value.value
    if not may_have_sections(raw):
        return {}  # before inspect.cleandoc, which costs more than this test
    text = cleaned[id(node)] if id(node) in cleaned else inspect.cleandoc(raw)
    doc = read_sections(text, style)
    if doc is None:
        return {}
    parameters = tuple(parameter_names(scope))
    if isinstance(node, ast.ClassDef):
        return stale_sections(doc, DefinitionShape("class", node.name, parameters))
    flow = flow_facts(scope, may_yield)
    code = DefinitionShape(
        kind="function",
        name=node.name,
        parameters=parameters,
        returns_value=flow.returns_value,
        is_generator=flow.is_generator,
        raises=flow.raises,
        is_stub=is_abstract(node) or is_stub(node),
        is_property=is_property(node),
        promises_value=node.returns is not None and promises_value(annotation_text(node.returns)),
    )
    return stale_sections(doc, code)


def _kind_name(node: ast.AST) -> str:
    return "class" if isinstance(node, ast.ClassDef) else "module" if isinstance(node, ast.Module) else "function"


@dataclass(frozen=True)
class _Sectioned:
    """A docstring with sections, and the styles they are written in (several: mixed)."""

    scope: Scope
    text: str
    styles: frozenset[Style]


def _sectioned_docstrings(root: Scope, skip_lines: frozenset[int], cleaned: dict[int, str]) -> list[_Sectioned]:
    """Every docstring of the file that has sections: the module's, each class's and function's,
    whatever the skip rules (a style applies to every docstring, as ruff's D4xx rules do),
    apart from definitions marked ``# docucode: skip``. Each one cleaned goes into ``cleaned``
    (by ``id`` of its node), for the stale check to read rather than clean again."""
    found = []
    for scope in [root, *iter_definitions(root)]:
        node = docstring_node(scope.node)
        if node is None or not may_have_sections(node.value.value):
            continue
        text = cleaned[id(scope.node)] = inspect.cleandoc(node.value.value)  # as ast.get_docstring gives it
        if scope is not root and marked_skip(scope.node, skip_lines):
            continue
        if styles := section_styles(text):
            found.append(_Sectioned(scope, text, styles))
    return found


def _style_message(styles: frozenset[Style], choice: StyleChoice) -> str:
    names = " and ".join(sorted(style.value for style in styles))
    return f"docstring sections in {names} style{'s' if len(styles) > 1 else ''}, not {choice.style.value} ({choice.reason})"


def _position(scope: Scope) -> tuple[int, int]:
    node = scope.node
    return (1, 1) if isinstance(node, ast.Module) else (node.lineno, node.col_offset + 1)


def _converted(off_style: list[_Sectioned], choice: StyleChoice) -> tuple[dict[int, str], list[tuple[int, str]]]:
    """Each docstring of ``off_style`` in the file's style (by ``id`` of its node), or why it is left as it is."""
    from docucode_hook.docstrings.restyle import restyle

    converted: dict[int, str] = {}
    left: list[tuple[int, str]] = []
    for found in off_style:
        line = _position(found.scope)[0]
        if len(found.styles) > 1:
            left.append((line, "its sections mix " + " and ".join(sorted(s.value for s in found.styles)) + " styles"))
            continue
        result = restyle(found.text, next(iter(found.styles)), choice.style)
        if result.text is None:
            left.append((line, result.reason or "it cannot be converted"))
        else:
            converted[id(found.scope.node)] = result.text
    return converted, left


def scan_source(
    source: str, path: str, config: Config, *, targets: bool = True, styles: StyleRule | None = None
) -> FileScan:
    """Decide which definitions need a docstring written, refreshed or converted, and what ``--check`` reports.

    ``targets=False`` leaves ``FileScan.targets`` empty: ``--check`` reports findings only, and
    building a context per undocumented function was most of its time on a large tree.
    ``styles`` decides the file's style (default: the configured one, else the file's own).
    Raises SyntaxError when ``source`` does not parse.
    """
    tree = ast.parse(source, filename=path)
    root = walk_module(tree)
    module = module_facts(path, source, root)
    rules = _Rules(config, _overload_names(root.imports), skip_comment_lines(source))
    styles = styles or style_rule(config, None)
    wanted = styles.fixed is None or config.check_style or config.convert
    cleaned: dict[int, str] = {}
    sectioned = _sectioned_docstrings(root, rules.skip_lines, cleaned) if wanted else []
    counts = Counter(next(iter(found.styles)) for found in sectioned if len(found.styles) == 1)
    choice = styles.for_file(counts, mixed=sum(len(found.styles) > 1 for found in sectioned))
    off_style = [found for found in sectioned if found.styles != {choice.style}]
    converted, unconverted = _converted(off_style, choice) if config.convert and targets and off_style else ({}, [])
    lines_with_yield = yield_lines(source)
    scopes = [root] if config.include_modules else []
    scopes += [s for s in iter_definitions(root) if config.include_classes or not isinstance(s.node, ast.ClassDef)]
    found: list[Target] = []
    findings: list[Finding] = []
    skipped: list[tuple[str, str]] = []
    documented = total = 0
    for scope in scopes:
        reason = rules.skip_reason(scope) if scope is not root else None
        if reason is not None:
            skipped.append((scope.qualname or module_name(path), reason))
            continue
        total += 1
        line, col = (scope.node.lineno, scope.node.col_offset + 1) if scope is not root else (1, 1)
        if docstring_node(scope.node) is None:
            name = scope.qualname or module_name(path)
            message = f"missing docstring in {_kind_name(scope.node)} {name}"
            findings.append(Finding(path, line, col, CODES["missing"], message))
            if targets:
                found.append(Target(definition_context(module, scope), "missing", choice.style))
            continue
        documented += 1
        if scope is root or not (config.check_stale or config.refresh_stale):
            continue
        stale = _stale_sections(scope, choice.style, may_yield(lines_with_yield, scope.node), cleaned)
        if stale and config.check_stale:
            findings += [Finding(path, line, col, CODES[kind], message) for kind, message in stale.items()]
        if stale and config.refresh_stale and targets:
            # A docstring both stale and in another style is converted first, then refreshed.
            text = converted.pop(id(scope.node), None)
            found.append(Target(definition_context(module, scope), "stale", choice.style, text))
    if config.check_style:
        findings += [Finding(path, *_position(f.scope), CODES["style"], _style_message(f.styles, choice))
                     for f in off_style]
    found += [Target(definition_context(module, f.scope), "restyle", choice.style, converted[id(f.scope.node)])
              for f in off_style if id(f.scope.node) in converted]
    return FileScan(path, tuple(found), tuple(findings), documented, total, tuple(skipped), choice, tuple(unconverted))
