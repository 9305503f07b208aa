"""Read Python sources exactly as they are on disk; replace them atomically in the same encoding."""

from __future__ import annotations

import codecs
import errno
import io
import os
import re
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

# PEP 263: the cookie must be on line 1 or 2.
_CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
# The first two lines as bytes.splitlines() cuts them (a missing line is b"").
_FIRST_TWO_LINES = re.compile(rb"([^\r\n]*)(?:\r\n|\r|\n)?([^\r\n]*)")

_OS_REASONS = {
    errno.ENOENT: "no such file",
    errno.EISDIR: "is a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large",
    errno.EROFS: "read-only file system",
}


class SourceError(Exception):
    """A file that cannot be read or written; str(e) is the one-line reason, without the path."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    raw: bytes  # the bytes as read, to detect a change on disk before writing
    text: str  # decoded, BOM removed, newlines untranslated
    encoding: str  # codec name for encoding ``text`` back ("utf-8", "latin-1", ...)
    bom: bool
    newline: str  # the first line ending: "\n" | "\r\n" | "\r"


def _reason(exc: OSError) -> str:
    return _OS_REASONS.get(exc.errno, (exc.strerror or str(exc)).lower())


def _first_newline(text: str) -> str:
    match = re.search(r"\r\n|\r|\n", text)
    return match.group() if match else "\n"


def _detect_encoding(raw: bytes) -> tuple[str, bool]:
    """Codec from the BOM or coding cookie (default utf-8), and whether a cookie declared it."""
    first_lines = _FIRST_TWO_LINES.match(raw.removeprefix(codecs.BOM_UTF8)).groups()  # not the whole file's lines
    declared = any(_CODING_COOKIE.match(line) for line in first_lines)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        if not declared:  # a first line that is not utf-8: the decode below says so
            return "utf-8", False
        raise SourceError(f"bad coding cookie: {exc.msg}") from None
    # utf-8-sig is how detect_encoding reports a BOM; the BOM is written back separately.
    return ("utf-8" if encoding == "utf-8-sig" else encoding), declared


def read_source(path: Path) -> SourceFile:
    """Read ``path`` without changing a byte of meaning; SourceError says why it cannot be used."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(_reason(exc)) from None
    if b"\x00" in raw:
        raise SourceError("binary file")
    bom = raw.startswith(codecs.BOM_UTF8)
    encoding, declared = _detect_encoding(raw)
    try:
        text = raw.removeprefix(codecs.BOM_UTF8).decode(encoding)
    except UnicodeDecodeError as exc:
        how = "as its coding cookie declares" if declared else "no coding cookie"
        byte = exc.object[exc.start]
        reason = f"not valid {encoding} ({how}): byte 0x{byte:02x} at offset {exc.start}"
        raise SourceError(reason) from None
    return SourceFile(Path(path), raw, text, encoding, bom, _first_newline(text))


def _encode(sf: SourceFile, new_text: str) -> bytes:
    try:
        data = new_text.encode(sf.encoding)
    except UnicodeEncodeError as exc:
        char = exc.object[exc.start]
        raise SourceError(f"new text has {char!r}, which {sf.encoding} cannot encode") from None
    return codecs.BOM_UTF8 + data if sf.bom else data


def _check_writable(target: str, sf: SourceFile) -> int:
    """The permission bits of ``target`` once it is known to be unchanged and writable."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
        current = Path(target).read_bytes()
    except OSError as exc:
        raise SourceError(_reason(exc)) from None
    if current != sf.raw:
        raise SourceError("file changed on disk since it was read; not written")
    # Root passes os.access on anything, so the mode bits decide as well.
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
        raise SourceError("file is read-only")
    return mode


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not every platform lets a directory be opened; the rename is done anyway
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_source(sf: SourceFile, new_text: str) -> None:
    """Replace the file with ``new_text`` atomically: after a crash it is old or new, never half."""
    data = _encode(sf, new_text)
    # Write through a symlink to its target rather than replacing the link with a file.
    target = os.path.realpath(sf.path)
    mode = _check_writable(target, sf)
    directory = os.path.dirname(target)
    try:
        prefix = f".{os.path.basename(target)}."
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    except OSError as exc:
        raise SourceError(f"cannot create a temporary file next to it: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        _remove_quietly(tmp)
        raise SourceError(f"not written: {_reason(exc)}") from None
    except BaseException:
        _remove_quietly(tmp)  # interrupted: the original is still in place
        raise
    _fsync_directory(directory)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


__all__ = ["SourceError", "SourceFile", "read_source", "write_source"]
