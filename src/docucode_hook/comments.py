"""Inline comments for complex blocks: which blocks get one (ast), and writing them in (LibCST).

The rule. Every statement inside a function that starts its own line is scored on its own
code (a nested block is scored separately, and never counts towards its parent):

==========================================================  ======
loop (``for``/``while``) whose body has 2+ statements or a block  2
nested comprehension (2+ ``for`` clauses, or one inside another)  2
boolean expression with 3+ operands, or mixing ``and``/``or``     2
recursion (a call to the enclosing function itself)               2
regular expression (a call into the ``re`` module)                2
bit manipulation (each ``& | ^ << >> ~``)                         1
==========================================================  ======

A statement scoring at least ``comment_threshold`` (default 2) is complex. It is commented
already when a comment ends its first line or is the nearest non-blank line above it. A
function gets at most ``max_comments_per_function`` comments on complex blocks, those already
there included, highest score first; so once a block is commented, a second run selects
nothing more (idempotent).
"""

from __future__ import annotations

import ast
import re
import textwrap
import tokenize
import unicodedata
from dataclasses import dataclass
from typing import Iterator, Mapping

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from docucode_hook.config import Config
from docucode_hook.finder import marked_skip, skip_comment_lines
from docucode_hook.docstrings.insert import parse_exactly
from docucode_hook.backends.prompt import Prompt, build_comment_prompt
from docucode_hook.code.syntax import DEFINITIONS, FUNCTIONS, first_line, iter_definitions
from docucode_hook.docstrings.verify import CommentLines, UnsafeEdit, assert_only_comment_lines_added, comment_lines

MAX_COMMENT_CHARS = 80
_STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_BIT_OPS = (ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift)
# Comment text that tools read as an instruction (type checkers, linters, formatters, the
# source encoding on lines 1-2) must never be written, nor learned from mined code.
PRAGMA = re.compile(
    r"^\s*(type:|noqa|pragma|pylint:|mypy:|pyright:|fmt:|isort:|nosec|docucode:|ruff:)|coding[:=]", re.I
)


# --------------------------------------------------------------------------- selection (ast)


def _own_nodes(stmt: ast.stmt) -> Iterator[ast.AST]:
    """Every node of the statement's own code: its header, not the statements nested in it."""
    for name, value in ast.iter_fields(stmt):
        if name in _STATEMENT_LISTS:
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                yield from ast.walk(child)


def _operand_count(node: ast.BoolOp) -> int:
    return sum(_operand_count(v) if isinstance(v, ast.BoolOp) else 1 for v in node.values)


def _tricky_condition(node: ast.BoolOp) -> bool:
    mixed = any(isinstance(v, ast.BoolOp) and type(v.op) is not type(node.op) for v in node.values)
    return mixed or _operand_count(node) >= 3


def _nested_comprehension(node: ast.AST) -> bool:
    inner = (n for child in ast.iter_child_nodes(node) for n in ast.walk(child))
    return len(node.generators) >= 2 or any(isinstance(n, _COMPREHENSIONS) for n in inner)


def _calls_itself(node: ast.Call, function: str) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute):  # self.walk(...) inside walk, cls.build(...) inside build
        return func.attr == function and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls")
    return isinstance(func, ast.Name) and func.id == function


def _is_regex_call(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "re"


def block_score(stmt: ast.stmt, function: str) -> int:
    """Points of the statement's own code under the rule in the module docstring."""
    features: set[str] = set()
    bits = 0
    if isinstance(stmt, _LOOPS) and (len(stmt.body) > 1 or any(isinstance(s, _BLOCKS) for s in stmt.body)):
        features.add("loop")
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, _BIT_OPS):
        bits += 1
    for node in _own_nodes(stmt):
        if isinstance(node, ast.BoolOp) and _tricky_condition(node):
            features.add("condition")
        elif isinstance(node, _COMPREHENSIONS) and _nested_comprehension(node):
            features.add("comprehension")
        elif isinstance(node, ast.Call):
            if _calls_itself(node, function):
                features.add("recursion")
            if _is_regex_call(node):
                features.add("regex")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _BIT_OPS):
            bits += 1
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            bits += 1
    return 2 * len(features) + bits


def _is_elif(stmt: ast.stmt, parent: ast.AST, lines: list[str]) -> bool:
    # ast gives an elif as an If alone in its parent's orelse, with no keyword of its own.
    return (
        isinstance(parent, ast.If)
        and parent.orelse == [stmt]
        and lines[stmt.lineno - 1][stmt.col_offset :].startswith("elif")
    )


def function_blocks(node: ast.AST, lines: list[str]) -> Iterator[ast.stmt]:
    """Statements inside ``node`` (a function) that start their own line, in source order.

    Nested defs and classes are left out (a nested function gets its own turn); a statement
    sharing its line (``if x: y = 1``, ``a; b``) or an ``elif`` has no line to comment above.
    """
    for name in _STATEMENT_LISTS:
        for child in getattr(node, name, ()):
            if isinstance(child, DEFINITIONS):
                continue
            if isinstance(child, ast.stmt) and not (
                lines[child.lineno - 1][: child.col_offset].strip() or _is_elif(child, node, lines)
            ):
                yield child
            yield from function_blocks(child, lines)  # also handlers and match cases


def _has_comment(stmt: ast.stmt, lines: list[str], comments: CommentLines) -> bool:
    if stmt.lineno in comments.any:
        return True
    above = stmt.lineno - 1
    while above >= 1 and not lines[above - 1].strip():
        above -= 1
    return above in comments.alone


@dataclass(frozen=True)
class CommentSite:
    """A complex block that gets a comment: where it starts and what the model is asked."""

    line: int  # the block's first line in the file (1-based); the comment goes above it
    function: str  # qualname of the enclosing function
    key: str  # the function and the block's AST: unchanged by comments, so a re-run can be matched
    prompt: Prompt


def find_comment_sites(source: str, config: Config) -> list[CommentSite]:
    """The blocks to comment in ``source``, in file order (see the module docstring for the rule)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    try:
        comments = comment_lines(source)
    except (tokenize.TokenError, SyntaxError):  # what ast accepts tokenizes; stay safe regardless
        return []
    skip_lines = skip_comment_lines(source)
    sites: list[CommentSite] = []
    functions = (scope for scope in iter_definitions(tree) if isinstance(scope.node, FUNCTIONS))
    for qualname, function in ((scope.qualname, scope.node) for scope in functions):
        if marked_skip(function, skip_lines):  # the same marker and place as for docstrings
            continue
        scored = [(block_score(s, function.name), s) for s in function_blocks(function, lines)]
        complex_blocks = [(score, s) for score, s in scored if score >= config.comment_threshold]
        open_blocks = [(score, s) for score, s in complex_blocks if not _has_comment(s, lines, comments)]
        room = config.max_comments_per_function - (len(complex_blocks) - len(open_blocks))
        chosen = sorted(open_blocks, key=lambda item: (-item[0], item[1].lineno))[: max(room, 0)]
        first = first_line(function)
        code = textwrap.dedent("\n".join(lines[first - 1 : function.end_lineno]))
        for _, stmt in sorted(chosen, key=lambda item: item[1].lineno):
            prompt = build_comment_prompt(qualname, code, stmt.lineno - first + 1, stmt.end_lineno - first + 1)
            sites.append(CommentSite(stmt.lineno, qualname, f"{qualname}:{ast.dump(stmt)}", prompt))
    return sorted(sites, key=lambda site: site.line)


# --------------------------------------------------------------------------- text


def sanitize_comment(text: str | None) -> str | None:
    """One clean line of comment text (no ``#``), or None when nothing usable is left.

    Control and format characters (bidi overrides included) are dropped, whitespace is
    collapsed, the text is cut at a word boundary to MAX_COMMENT_CHARS, and a text that
    tools would read as a pragma or encoding declaration is refused.
    """
    if not text or not text.strip():
        return None
    line = text.strip().splitlines()[0]
    line = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") else c for c in line)
    line = " ".join(line.split()).lstrip("# ").strip()
    if len(line) > MAX_COMMENT_CHARS:
        line = line[: MAX_COMMENT_CHARS + 1].rsplit(" ", 1)[0].rstrip() if " " in line[:MAX_COMMENT_CHARS] else ""
    if not any(c.isalnum() for c in line) or PRAGMA.search(line):
        return None
    return line


# --------------------------------------------------------------------------- insertion (LibCST)


class _CommentInserter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, comments: Mapping[int, str]) -> None:
        super().__init__()
        self.comments = comments
        self.done: set[int] = set()

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        """Put the comment chosen for a statement on an own line above it."""
        # Every statement that owns a line has leading_lines; EmptyLine(indent=True) takes the
        # indentation of the block the statement is in, and the module's newline.
        if isinstance(updated_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            line = self.get_metadata(PositionProvider, original_node).start.line
            if line in self.comments and line not in self.done:
                self.done.add(line)
                comment = cst.EmptyLine(indent=True, comment=cst.Comment(f"# {self.comments[line]}"))
                return updated_node.with_changes(leading_lines=[*updated_node.leading_lines, comment])
        return updated_node


def insert_comments(source: str, comments: Mapping[int, str]) -> str:
    """``source`` with ``# text`` above the statement starting on each line of ``comments``.

    The text must be sanitized already (one line); a line where no statement starts gets
    nothing, which verification then reports through the re-run check.
    """
    if not comments:
        return source
    module = parse_exactly(source)  # an InsertError (UnsafeEdit) for what LibCST cannot round-trip
    return MetadataWrapper(module, unsafe_skip_copy=True).visit(_CommentInserter(comments)).code


def apply_comments(source: str, sites: list[CommentSite], texts: list[str | None], config: Config) -> tuple[str, int]:
    """Insert the usable texts and verify; returns the new source and how many comments it gained.

    Raises UnsafeEdit unless only whole comment lines were added (same AST, every old line
    kept) and a second pass would select nothing but the blocks whose text was unusable.
    """
    clean = {site.line: text for site, raw in zip(sites, texts) if (text := sanitize_comment(raw))}
    if not clean:
        return source, 0
    new = insert_comments(source, clean)
    assert_only_comment_lines_added(source, new)
    left = sorted(site.key for site in sites if site.line not in clean)
    again = find_comment_sites(new, config)
    if sorted(site.key for site in again) != left:
        names = ", ".join(sorted({site.function for site in again}))
        raise UnsafeEdit(f"a second pass would comment {names} again")
    return new, len(clean)


__all__ = [
    "CommentSite",
    "apply_comments",
    "block_score",
    "find_comment_sites",
    "function_blocks",
    "insert_comments",
    "sanitize_comment",
]
