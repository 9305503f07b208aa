"""Token log-probabilities: read from a server's answer in either format, and placed in the text that is kept.

Servers report them two ways. The completions format (OpenAI's legacy, vLLM,
llama-cpp-python) is ``logprobs = {tokens, token_logprobs, text_offset}``; the chat format
(OpenAI's chat, llama.cpp's ``llama-server`` for both endpoints, Ollama) is
``logprobs = {content: [{token, logprob, bytes}]}``. A token may hold part of a multi-byte
character: its text is then a replacement character or ``"bytes:\\xe2\\x80"``, and only its
bytes (or the server's ``text_offset``) say where it lies. Each token is placed at the
character its first byte belongs to, so one split character costs no score.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, Mapping, Sequence

_BYTES_TOKEN = re.compile(r"^bytes:((?:\\x[0-9a-fA-F]{2})+)$")
REPLACEMENT = "\ufffd"


def read_logprobs(choice: Mapping[str, Any], text: str) -> tuple[list[int], list[float]]:
    """(start of each token in ``text``, its natural-log probability) from a choice, in either format.

    ``text`` is the choice's text or message content as the server sent it. Tokens before it
    (a reasoning model's thinking, when the server lists those too) are left out; tokens after
    it (a stop string) start past its end. Empty when the server sent none, or tokens that
    cannot be placed in ``text``.
    """
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, Mapping):
        return [], []
    content = logprobs.get("content")
    if isinstance(content, list):
        entries = [(entry.get("token"), entry.get("logprob"), entry.get("bytes"))
                   for entry in content if isinstance(entry, Mapping)]
        if len(entries) != len(content):
            return [], []
        tokens, values, raw_bytes = (list(column) for column in zip(*entries)) if entries else ([], [], [])
        offsets = None
    else:
        tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
        offsets, raw_bytes = logprobs.get("text_offset"), None
        if not isinstance(tokens, list) or not isinstance(values, list) or len(tokens) != len(values):
            return [], []
    if not tokens or not all(isinstance(token, str) for token in tokens):
        return [], []
    starts = (_starts_by_bytes(tokens, raw_bytes, text) or _starts_by_offsets(tokens, offsets, text)
              or _starts_by_text(tokens, text))
    if starts is None:
        return [], []
    # A server may send no number for a token (the prompt's first one when echoing): skip it.
    kept = [(start, float(value)) for start, value in zip(starts, values)
            if start >= 0 and isinstance(value, (int, float)) and not isinstance(value, bool)]
    return [start for start, _ in kept], [value for _, value in kept]


def _token_bytes(token: str, raw: Any) -> bytes | None:
    """A token's bytes: the server's ``bytes`` list, a ``bytes:\\x..`` token, or its UTF-8 text."""
    if isinstance(raw, list) and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in raw):
        return bytes(raw)
    if match := _BYTES_TOKEN.match(token):
        return bytes.fromhex(match.group(1).replace("\\x", ""))
    if REPLACEMENT in token:  # part of a character, its bytes lost: the offsets must place it
        return None
    return token.encode("utf-8")


def _starts_by_bytes(tokens: Sequence[str], raw_bytes: Sequence[Any] | None, text: str) -> list[int] | None:
    """Each token's start in ``text``, counted in bytes and turned into characters."""
    pieces = [_token_bytes(token, raw) for token, raw in zip(tokens, raw_bytes or [None] * len(tokens))]
    if any(piece is None for piece in pieces):
        return None
    spelled = b"".join(pieces)  # type: ignore[arg-type]
    try:
        decoded = spelled.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Generation may stop inside a character; what comes before it still reads.
        if exc.reason != "unexpected end of data":
            return None
        decoded = spelled[: exc.start].decode("utf-8")
    shift = _where(decoded, text)
    if shift is None:
        return None
    char_bytes, position = [], 0  # the byte offset where each character of ``decoded`` starts
    for char in decoded:
        char_bytes.append(position)
        position += len(char.encode("utf-8"))
    decoded_bytes = position
    starts, position = [], 0
    for piece in pieces:
        # The character holding the token's first byte; past the end for bytes left undecoded.
        at = bisect.bisect_right(char_bytes, position) - 1 if position < decoded_bytes else len(decoded)
        starts.append(min(at - shift, len(text)))
        position += len(piece)  # type: ignore[arg-type]
    return starts


def _starts_by_offsets(tokens: Sequence[str], offsets: Any, text: str) -> list[int] | None:
    """Each token's start from the server's ``text_offset`` (counted from the first token, as some
    servers count from the prompt's start), when the tokens' texts sit where they say."""
    if not isinstance(offsets, list) or len(offsets) != len(tokens) or not offsets:
        return None
    if not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets):
        return None
    starts = [offset - offsets[0] for offset in offsets]
    if any(later < earlier for earlier, later in zip(starts, starts[1:])):
        return None
    for token, start in zip(tokens, starts):
        # A token that completes a character begun by the one before it starts inside that character.
        if token and REPLACEMENT not in token and start < len(text):
            if not (text.startswith(token, start) or text.startswith(token, start + 1)):
                return None
    return starts


def _starts_by_text(tokens: Sequence[str], text: str) -> list[int] | None:
    """Each token's start when the tokens' texts, joined, spell ``text`` (with anything before or
    after it), or spell it but for characters split across tokens that the server wrote as ""
    (llama-cpp-python drops the bytes of a partial character)."""
    if any(REPLACEMENT in token for token in tokens):
        return None
    shift = _where("".join(tokens), text)
    if shift is not None:
        starts, position = [], -shift
        for token in tokens:
            starts.append(min(position, len(text)))
            position += len(token)
        return starts
    starts, cursor = [], 0
    for token in tokens:
        if cursor >= len(text) or not token or text.startswith(token, cursor):
            starts.append(min(cursor, len(text)))
            cursor += len(token)
            continue
        skip = cursor  # only characters outside ASCII can have lost their bytes
        while skip < len(text) and ord(text[skip]) > 127 and not text.startswith(token, skip):
            skip += 1
        if not text.startswith(token, skip):
            return None
        starts.append(skip - 1)  # its first bytes complete the character before
        cursor = skip + len(token)
    if any(ord(char) < 128 for char in text[cursor:]):
        return None
    return starts


def _where(spelled: str, text: str) -> int | None:
    """Where ``text`` begins in what the tokens spell: 0 when it leads, later after a reasoning
    model's thinking or a space the server trimmed; None when it is not there."""
    if spelled.startswith(text):
        return 0
    at = spelled.find(text) if text else -1
    return at if at >= 0 else None


def place_logprobs(
    origins: Sequence[int], raw_length: int, starts: Sequence[int], logprobs: Sequence[float]
) -> tuple[tuple[int, float], ...]:
    """(offset in the kept text, log-probability) of each token that survives in it.

    ``origins[i]`` is where character i of the kept text came from in the raw text, in
    increasing order; ``starts[k]`` is where token k starts in the raw text. A token with no
    text of its own (the first bytes of a character split across tokens) shares the next
    token's offset.
    """
    ends = [raw_length] * len(starts)
    for k in range(len(starts) - 2, -1, -1):  # the next start past this one
        ends[k] = starts[k + 1] if starts[k + 1] > starts[k] else ends[k + 1]
    kept = []
    for start, end, logprob in zip(starts, ends, logprobs):
        first = bisect.bisect_left(origins, start)
        if first < len(origins) and origins[first] < end:
            kept.append((first, float(logprob)))
    return tuple(kept)


__all__ = ["place_logprobs", "read_logprobs"]
