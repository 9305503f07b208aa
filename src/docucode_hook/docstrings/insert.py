"""Insert or replace docstrings with LibCST, keeping the module's indentation, newlines, comments.

What the inserted docstring's value (``ast.get_docstring(clean=True)``) gives back is
``normalize_docstring(text)``, not always ``text`` itself, because a docstring cannot hold
everything a string can once it is cleaned:

- ``\\r\\n`` and ``\\r`` inside the text become ``\\n`` (Python reads them as line breaks);
- trailing whitespace on each line is stripped (no line of the file may end with spaces);
- ``inspect.cleandoc`` is applied (until stable): tabs expanded, the first line's leading
  whitespace and the common indentation of the other lines removed, blank lines at both
  ends dropped.

Everything else survives exactly: quotes of any kind, backslashes, NUL and other control
characters (written as escapes), unicode, very long lines.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from typing import Mapping, TypeVar

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from docucode_hook.docstrings.verify import UnsafeEdit

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_Definition = TypeVar("_Definition", cst.FunctionDef, cst.ClassDef)


class InsertError(UnsafeEdit):
    """The file cannot be edited safely; str(e) is a one-line reason (the file is left alone)."""


def normalize_docstring(text: str) -> str:
    """The value a docstring written from ``text`` has once Python cleans it."""
    clean = inspect.cleandoc("\n".join(line.rstrip() for line in _LINE_BREAK.split(text)))
    # Dropping leading blank lines can bring an indented line to the front: clean once more.
    return inspect.cleandoc(clean)


def _must_escape(char: str) -> bool:
    # NUL cannot appear in source at all; other control characters, lone surrogates and
    # the unicode line separators would be invisible or split lines in editors and tools.
    if char in "\t\n":
        return False
    return unicodedata.category(char) in ("Cc", "Cs") or char in "\u2028\u2029"


def _escape_line(line: str, quote_char: str, closes_literal: bool) -> str:
    """Escape one line so that it reads back as itself and cannot end the literal early."""
    # Quotes right before the closing delimiter would merge with it, so escape all of them.
    trailing = len(line) - len(line.rstrip(quote_char)) if closes_literal else 0
    out: list[str] = []
    run = 0
    for index, char in enumerate(line):
        if char == quote_char:
            run += 1
            if run == 3 or index >= len(line) - trailing:
                out.append("\\" + char)
                run = 0
            else:
                out.append(char)
            continue
        run = 0
        if char == "\\":
            out.append("\\\\")
        elif _must_escape(char):
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def _can_be_raw(text: str, quote: str, one_line: bool) -> bool:
    """A raw literal keeps backslashes readable, but it cannot escape anything."""
    if "\\" not in text or quote in text or any(_must_escape(char) for char in text):
        return False
    # In a raw string a final backslash or quote still merges with the closing quotes.
    return not (one_line and text.endswith(("\\", quote[0])))


def docstring_literal(text: str, indent: str, newline: str) -> str:
    """Source of a string literal whose cleaned value is ``normalize_docstring(text)``.

    ``indent`` is the absolute indentation of the body the docstring opens; continuation
    lines and the closing quotes get it, blank lines stay empty. Raises InsertError when
    nothing is left of the text after normalisation.
    """
    clean = normalize_docstring(text)
    if not clean:
        raise InsertError("empty docstring")
    quote = "'''" if '"""' in clean and "'''" not in clean else '"""'
    lines = clean.split("\n")
    one_line = len(lines) == 1
    if _can_be_raw(clean, quote, one_line):
        prefix, body = "r", lines
    else:
        prefix, body = "", [_escape_line(line, quote[0], one_line) for line in lines]
    if one_line:
        return f"{prefix}{quote}{body[0]}{quote}"
    rest = [indent + line if line else "" for line in body[1:]]
    return prefix + quote + newline.join([body[0], *rest, indent + quote])


def _string_value(node: cst.BaseExpression) -> str | None:
    """The str value of a plain (possibly concatenated) string literal, else None."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _opens_with_docstring(statements: tuple[cst.BaseSmallStatement, ...]) -> bool:
    first = statements[0] if statements else None
    return isinstance(first, cst.Expr) and _string_value(first.value) is not None


def _existing_docstring(body: cst.BaseSuite | cst.Module) -> str | None:
    """The cleaned value of the docstring opening ``body``, if it has one."""
    statements = body.body
    if isinstance(body, cst.SimpleStatementSuite):
        small = statements
    elif statements and isinstance(statements[0], cst.SimpleStatementLine):
        small = statements[0].body
    else:
        return None
    if not _opens_with_docstring(small):
        return None
    return inspect.cleandoc(_string_value(small[0].value))


def _docstring_line(literal: str) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[cst.Expr(cst.SimpleString(literal))])


def _with_docstring(statements: list[cst.BaseStatement], literal: str) -> list[cst.BaseStatement]:
    """Statements of an indented body (or module) with the docstring replaced or put first."""
    first = statements[0] if statements else None
    if isinstance(first, cst.SimpleStatementLine) and _opens_with_docstring(first.body):
        expr = first.body[0].with_changes(value=cst.SimpleString(literal))
        return [first.with_changes(body=[expr, *first.body[1:]]), *statements[1:]]
    # Comments that opened the body keep their place after the new docstring.
    return [_docstring_line(literal), *statements]


def _suite_to_block(suite: cst.SimpleStatementSuite, literal: str) -> cst.IndentedBlock:
    """Rebuild ``def f(): return 1  # note`` as an indented block that opens with the docstring."""
    rest = suite.body[1:] if _opens_with_docstring(suite.body) else suite.body
    if not rest:
        only_line = _docstring_line(literal).with_changes(trailing_whitespace=suite.trailing_whitespace)
        return cst.IndentedBlock(body=[only_line])
    # The old last statement gets no semicolon of its own, as on its single line before.
    code_line = cst.SimpleStatementLine(body=list(rest), trailing_whitespace=suite.trailing_whitespace)
    return cst.IndentedBlock(body=[_docstring_line(literal), code_line])


class _DocstringInserter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, docstrings: Mapping[int, str], module: cst.Module) -> None:
        super().__init__()
        self.docstrings = docstrings
        self.default_indent = module.default_indent
        self.newline = module.default_newline
        self.indents: list[str] = []  # indentation of each enclosing block, outermost first
        self.done: set[int] = set()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        """Remember the block's indentation, for the docstrings inserted inside it."""
        self.indents.append(self.default_indent if node.indent is None else node.indent)

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        """Forget the block's indentation on the way out."""
        self.indents.pop()
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        """Insert or replace the function's docstring when one was written for its line."""
        return self._document(original_node, updated_node)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        """Insert or replace the class's docstring when one was written for its line."""
        return self._document(original_node, updated_node)

    def _document(self, original_node: _Definition, updated_node: _Definition) -> _Definition:
        line = self.get_metadata(PositionProvider, original_node).start.line
        if line not in self.docstrings:
            return updated_node
        self.done.add(line)
        text = self.docstrings[line]
        body = updated_node.body
        if _existing_docstring(body) == normalize_docstring(text):
            return updated_node  # keeps a human's quoting when the value is already right
        # The enclosing blocks have been left already, so the stack holds only the outer indents.
        own = self.default_indent
        if isinstance(body, cst.IndentedBlock) and body.indent is not None:
            own = body.indent
        literal = self._literal(text, "".join(self.indents) + own, line)
        if isinstance(body, cst.SimpleStatementSuite):
            return updated_node.with_changes(body=_suite_to_block(body, literal))
        statements = _with_docstring(list(body.body), literal)
        return updated_node.with_changes(body=body.with_changes(body=statements))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        """Insert the module docstring written for line 0, if any, at the top of the module."""
        if 0 not in self.docstrings:
            return updated_node
        self.done.add(0)
        text = self.docstrings[0]
        if _existing_docstring(updated_node) == normalize_docstring(text):
            return updated_node
        literal = self._literal(text, "", 0)
        body = _with_docstring(list(updated_node.body), literal)
        if len(body) > len(updated_node.body) and len(body) > 1 and not body[1].leading_lines:
            # One blank line between a new module docstring and the code, as PEP 8 tools expect.
            body[1] = body[1].with_changes(leading_lines=[cst.EmptyLine()])
        # An empty file has no final newline to keep; the docstring line still needs one.
        has_trailing_newline = updated_node.has_trailing_newline or not updated_node.body
        return updated_node.with_changes(body=body, has_trailing_newline=has_trailing_newline)

    def _literal(self, text: str, indent: str, line: int) -> str:
        try:
            return docstring_literal(text, indent, self.newline)
        except InsertError as exc:
            raise InsertError(f"line {line}: {exc}") from None


def insert_docstrings(source: str, docstrings: Mapping[int, str]) -> str:
    """Return ``source`` with each docstring inserted into (or replacing the one of) its definition.

    Keys are the ast ``lineno`` of the ``def``/``async def``/``class`` keyword, 0 for the
    module; values are the plain docstring text (no quotes, no indentation). Raises
    InsertError (an UnsafeEdit) for source LibCST cannot parse or print back unchanged, a
    key that names no definition, or a text that is empty once normalised.
    """
    if not docstrings:
        return source
    module = parse_exactly(source)
    inserter = _DocstringInserter(docstrings, module)
    # The module is not used again, so the wrapper may skip its defensive deep copy.
    new_module = MetadataWrapper(module, unsafe_skip_copy=True).visit(inserter)
    missing = sorted(set(docstrings) - inserter.done)
    if missing:
        raise InsertError(f"no def or class starts on line(s) {', '.join(map(str, missing))}")
    return new_module.code


def parse_exactly(source: str) -> cst.Module:
    """The LibCST module of ``source``; InsertError unless it prints back byte for byte."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise InsertError(f"LibCST cannot parse it: {exc.message}") from None
    if source.endswith("\r"):
        # LibCST only recognises a final "\n" as the trailing newline and drops a lone "\r".
        module = module.with_changes(has_trailing_newline=True)
    if module.code != source:
        raise InsertError("LibCST does not reproduce this file byte for byte")
    return module


__all__ = ["InsertError", "docstring_literal", "insert_docstrings", "normalize_docstring", "parse_exactly"]
