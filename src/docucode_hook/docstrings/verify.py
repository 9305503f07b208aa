"""Check that an edit changed nothing but docstrings before anything is written."""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass

from docucode_hook.code.syntax import docstring_node, iter_definitions


class UnsafeEdit(Exception):
    """The rewritten source would change more than docstrings; str(e) says what."""


def _strip_docstrings(tree: ast.Module) -> ast.Module:
    """Remove every docstring in place; a body left empty stays empty (never compiled)."""
    for node in [tree, *(scope.node for scope in iter_definitions(tree))]:
        if docstring_node(node) is not None:
            node.body = node.body[1:]
    return tree


def _parse(source: str, which: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise UnsafeEdit(f"{which} source does not parse: line {exc.lineno}: {exc.msg}") from None
    except ValueError as exc:  # NUL bytes in the source
        raise UnsafeEdit(f"{which} source does not parse: {exc}") from None


def _first_difference(old: ast.AST, new: ast.AST) -> int:
    """Line in the new source of the innermost node where the two trees part (0 if unknown)."""
    line = getattr(new, "lineno", 0)
    old_children, new_children = list(ast.iter_child_nodes(old)), list(ast.iter_child_nodes(new))
    if type(old) is not type(new):
        return line
    for old_child, new_child in zip(old_children, new_children):
        if ast.dump(old_child) != ast.dump(new_child):
            return _first_difference(old_child, new_child) or line
    if len(new_children) > len(old_children):
        return getattr(new_children[len(old_children)], "lineno", line)
    return line


def assert_only_docstrings_changed(old: str, new: str) -> None:
    """Raise UnsafeEdit unless ``new`` parses and its AST equals ``old``'s modulo docstrings."""
    old_tree = _strip_docstrings(_parse(old, "original"))
    new_tree = _strip_docstrings(_parse(new, "new"))
    if ast.dump(old_tree) != ast.dump(new_tree):
        line = _first_difference(old_tree, new_tree)
        where = f" near line {line}" if line else ""
        raise UnsafeEdit(f"code other than docstrings changed{where}")


@dataclass(frozen=True)
class CommentLines:
    """Where the comments of a file are: lines holding only a comment (with its column), and all."""

    alone: dict[int, int]
    any: frozenset[int]


def comment_lines(source: str) -> CommentLines:
    """Comment positions (1-based lines) from the tokenizer, so a ``#`` inside a string is never taken for one."""
    alone: dict[int, int] = {}
    found: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, col = token.start
            found.add(row)
            if not token.line[:col].strip():
                alone[row] = col
    return CommentLines(alone, frozenset(found))


def assert_only_comment_lines_added(old: str, new: str) -> None:
    """Raise UnsafeEdit unless ``new`` is ``old`` with whole comment lines inserted.

    Comments are not in the AST, so besides an equal AST this checks the text: every line
    of ``old`` is still there, unchanged and in order (so every original comment survives),
    and each extra line of ``new`` is a comment alone on its line, not text inside a string.
    """
    if ast.dump(_parse(old, "original")) != ast.dump(_parse(new, "new")):
        raise UnsafeEdit("code changed where only comments were to be added")
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    comments = comment_lines(new).alone
    kept = 0
    for number, line in enumerate(new_lines, start=1):
        # Greedy matching is exact here: an added line may only equal an old one if both are comments.
        if kept < len(old_lines) and line == old_lines[kept]:
            kept += 1
        elif number not in comments:
            raise UnsafeEdit(f"line {number} is neither an original line nor an added comment")
    if kept < len(old_lines):
        raise UnsafeEdit(f"line {kept + 1} of the original is missing or changed")


def definition_line_map(old: str, new: str) -> dict[int, int]:
    """Where each def/class of ``old`` starts in ``new`` (0 stays 0 for the module).

    Inserted docstrings push later definitions down, so a second pass over ``new`` needs
    these lines; only meaningful once assert_only_docstrings_changed(old, new) has passed.
    """
    lines = {0: 0}
    for old_scope, new_scope in zip(iter_definitions(ast.parse(old)), iter_definitions(ast.parse(new))):
        lines[old_scope.node.lineno] = new_scope.node.lineno
    return lines


def docstring_values(source: str) -> dict[int, str]:
    """Cleaned docstring of each definition that has one: def/class ``lineno``, 0 for the module."""
    values: dict[int, str] = {}
    tree = ast.parse(source)
    for node in [tree, *(scope.node for scope in iter_definitions(tree))]:
        text = ast.get_docstring(node, clean=True)
        if text is not None:
            values[getattr(node, "lineno", 0)] = text
    return values


__all__ = [
    "CommentLines",
    "UnsafeEdit",
    "assert_only_comment_lines_added",
    "assert_only_docstrings_changed",
    "comment_lines",
    "definition_line_map",
    "docstring_values",
]
