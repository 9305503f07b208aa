"""When a row of batched greedy decoding can stop: as soon as its text's cut point is known.

A completion is cut after generation (``backends.model.cut_completion`` / ``cut_comment``).
Once the text holds that cut point, later tokens are thrown away, so generating them only
costs time: a batch runs until its slowest row stops, and on the CPU each step reads every
weight of the model. ``completion_done`` says when the cut point has been reached, so that
cutting the stopped text gives exactly what cutting the full-length text would.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

QUOTES = ('"""', "'''")
HEADER = "### "
# Control characters and U+FFFD (a byte-level BPE cut inside a UTF-8 sequence) never belong in a docstring.
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufffd]")
# A token can move a cut point only if it ends a line, or adds a quote or a '#'. A loop inside
# a line ends on any token, so rows are also checked every LOOP_CHECK_EVERY tokens.
_TRIGGERS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\"'#")
LOOP_CHECK_EVERY = 16
# The same 2-20 characters four times in a row: "5.5.5.5.", "the the the the ".
_REPEATS = re.compile(r"(.{2,20}?)\1{3,}")


def loops(line: str) -> bool:
    """A line where greedy decoding went round in circles; rules like "--------" do not count."""
    return any(any(c.isalnum() for c in match.group(1)) for match in _REPEATS.finditer(line))


def _terminated(line: str) -> bool:
    return line.splitlines()[0] != line


def completion_done(text: str, comment: bool = False) -> bool:
    """True once every later token would be cut away.

    Docstrings end at a closing quote, at a ``### `` line (the next prompt section), or at a
    repeated line or a line that loops (greedy decoding of a small model going in circles). A comment is its first
    non-blank line, so it ends when that line does.
    """
    if comment:
        lines = UNPRINTABLE.sub("", text).lstrip().splitlines(keepends=True)
        return bool(lines) and (len(lines) > 1 or _terminated(lines[0]))
    if any(quote in text for quote in QUOTES):
        return True
    seen: set[str] = set()
    for line in text.splitlines(keepends=True):
        body = line.splitlines()[0]
        if body.startswith(HEADER) or loops(body):  # a loop, once there, stays: the line is cut
            return True
        if not _terminated(line):  # the last line, still being written: it may yet change
            return False
        if body.strip() and body in seen:
            return True
        seen.add(body)
    return False


class RowStopper:
    """Decides, token by token, which rows of a batch are done.

    Decoding a row's text at every step would cost more than the step itself on a GPU, so a
    row is checked only when its newest token could move the cut point. Which tokens can is
    learned lazily, one ``decode`` per distinct token.
    """

    def __init__(self, decode: Callable[[Sequence[int]], str], comment_rows: Sequence[bool]) -> None:
        self.decode = decode
        self.comment_rows = list(comment_rows)
        self._triggers: dict[int, bool] = {}

    def _trigger(self, token: int) -> bool:
        if token not in self._triggers:
            self._triggers[token] = not _TRIGGERS.isdisjoint(self.decode([token]))
        return self._triggers[token]

    def done(self, row: int, generated: Sequence[int]) -> bool:
        """Whether ``row``, having generated ``generated`` so far, can stop."""
        if not generated or not (self._trigger(generated[-1]) or len(generated) % LOOP_CHECK_EVERY == 0):
            return False
        return completion_done(self.decode(generated), self.comment_rows[row])
