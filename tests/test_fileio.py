"""Tests for byte-exact reading and atomic, refusing-when-unsafe writing of source files."""

from __future__ import annotations

import codecs
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docucode_hook.fileio import SourceError, read_source, write_source

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

READS = {
    "utf-8": (b"x = '\xc3\xa9'\n", "utf-8", False, "\n", "x = '\u00e9'\n"),
    "BOM and CRLF": (codecs.BOM_UTF8 + b"x = 1\r\ny = 2\r\n", "utf-8", True, "\r\n", "x = 1\r\ny = 2\r\n"),
    "old Mac newlines": (b"x = 1\ry = 2\r", "utf-8", False, "\r", "x = 1\ry = 2\r"),
    "latin-1 cookie": (
        b"# -*- coding: latin-1 -*-\nx = '\xe9'\n",
        "iso-8859-1",
        False,
        "\n",
        "# -*- coding: latin-1 -*-\nx = '\u00e9'\n",
    ),
    "cookie on line 2": (
        b"#!/usr/bin/python\n# coding=cp1252\nx = '\x80'\n",
        "cp1252",
        False,
        "\n",
        "#!/usr/bin/python\n# coding=cp1252\nx = '\u20ac'\n",
    ),
    "empty": (b"", "utf-8", False, "\n", ""),
    "no final newline": (b"x = 1", "utf-8", False, "\n", "x = 1"),
}

BAD = {
    "binary": (b"\x7fELF\x00\x01", "binary file"),
    "not utf-8": (b"x = '\xff'\n", r"not valid utf-8 \(no coding cookie\): byte 0xff at offset 5"),
    "not utf-8 on line 1": (b"# \xff\n", r"not valid utf-8 \(no coding cookie\)"),
    "wrong cookie": (b"# coding: utf-8\nx = '\xe9'\n", r"not valid utf-8 \(as its coding cookie declares\)"),
    "unknown codec": (b"# coding: klingon\n", "bad coding cookie: unknown encoding: klingon"),
    "BOM contradicts cookie": (codecs.BOM_UTF8 + b"# coding: latin-1\n", "bad coding cookie"),
}


@pytest.mark.parametrize(("raw", "encoding", "bom", "newline", "text"), READS.values(), ids=READS.keys())
def test_read_and_write_back_is_byte_exact(tmp_path, raw, encoding, bom, newline, text) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(raw)
    sf = read_source(path)
    assert (sf.encoding, sf.bom, sf.newline, sf.raw) == (encoding, bom, newline, raw)
    assert sf.text == text
    write_source(sf, sf.text)
    assert path.read_bytes() == raw


@pytest.mark.parametrize(("raw", "reason"), BAD.values(), ids=BAD.keys())
def test_unreadable_content_gives_one_line_reason(tmp_path, raw, reason) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(raw)
    with pytest.raises(SourceError, match=f"^{reason}") as info:
        read_source(path)
    assert "\n" not in str(info.value) and str(path) not in str(info.value)


def test_missing_file_and_directory(tmp_path) -> None:
    with pytest.raises(SourceError, match="^no such file$"):
        read_source(tmp_path / "absent.py")
    (tmp_path / "pkg.py").mkdir()
    with pytest.raises(SourceError, match="^is a directory$"):
        read_source(tmp_path / "pkg.py")


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    path.chmod(0)
    with pytest.raises(SourceError, match="^permission denied$"):
        read_source(path)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_write_keeps_encoding_bom_and_mode(tmp_path) -> None:
    path = tmp_path / "tool.py"
    path.write_bytes(codecs.BOM_UTF8 + b"x = 1\r\n")
    path.chmod(0o751)
    sf = read_source(path)
    write_source(sf, 'x = "\u00e9"\r\n')
    assert path.read_bytes() == codecs.BOM_UTF8 + b'x = "\xc3\xa9"\r\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert _leftovers(tmp_path) == []


def test_write_through_symlink_keeps_the_link(tmp_path) -> None:
    real = tmp_path / "real.py"
    real.write_text("x = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    write_source(read_source(link), "x = 2\n")
    assert link.is_symlink() and real.read_text() == "x = 2\n"


def test_file_changed_since_read_is_not_overwritten(tmp_path) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    sf = read_source(path)
    path.write_text("x = 1  # edited meanwhile\n")
    with pytest.raises(SourceError, match="changed on disk"):
        write_source(sf, "x = 2\n")
    assert path.read_text() == "x = 1  # edited meanwhile\n"
    assert _leftovers(tmp_path) == []


def test_read_only_file_is_untouched(tmp_path) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    path.chmod(0o444)
    with pytest.raises(SourceError, match="^file is read-only$"):
        write_source(read_source(path), "x = 2\n")
    assert path.read_text() == "x = 1\n" and _leftovers(tmp_path) == []


def test_text_the_encoding_cannot_hold_is_refused(tmp_path) -> None:
    path = tmp_path / "m.py"
    raw = b"# coding: latin-1\nx = '\xe9'\n"
    path.write_bytes(raw)
    with pytest.raises(SourceError, match="iso-8859-1 cannot encode"):
        write_source(read_source(path), "# coding: latin-1\nx = '\u2603'\n")
    assert path.read_bytes() == raw


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs, so that a real write runs out of space."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)]
    mount = subprocess.run(command, capture_output=True)
    if mount.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_full_disk_leaves_the_file_untouched(tiny_disk) -> None:
    path = tiny_disk / "m.py"
    path.write_text("x = 1\n")
    sf = read_source(path)
    with pytest.raises(SourceError, match="disk full"):
        write_source(sf, "x = 2\n" + "#" * 200_000 + "\n")
    assert path.read_text() == "x = 1\n" and _leftovers(tiny_disk) == []


def test_write_refused_by_file_size_limit_leaves_the_file_untouched(tmp_path) -> None:
    # Another real failure mid-write, available without root: the RLIMIT_FSIZE limit.
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from docucode_hook.fileio import SourceError, read_source, write_source\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "sf = read_source(Path(sys.argv[1]))\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "try:\n"
        "    write_source(sf, 'x = 2\\n' + '#' * 100000)\n"
        "except SourceError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "not written: file too large"
    assert path.read_text() == "x = 1\n" and _leftovers(tmp_path) == []


def test_killed_writer_leaves_old_or_new_content(tmp_path) -> None:
    path = tmp_path / "m.py"
    versions = ["a = 1\n" * 20_000, "b = 2\n" * 30_000]
    for index, text in enumerate(versions):
        (tmp_path / f"v{index}.txt").write_text(text)
    path.write_text(versions[0])
    path.chmod(0o640)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from docucode_hook.fileio import read_source, write_source\n"
        "path = Path(sys.argv[1])\n"
        "versions = [(path.parent / f'v{i}.txt').read_text() for i in (0, 1)]\n"
        "for i in range(10**6):\n"
        "    write_source(read_source(path), versions[(i + 1) % 2])\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(path)])
    deadline = time.monotonic() + 30
    while path.read_text() == versions[0] and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until the writer is really writing, then kill it mid-stream
    time.sleep(0.3)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert path.read_text() in versions
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_unwritable_directory(tmp_path) -> None:
    if IS_ROOT:
        pytest.skip("root writes into read-only directories")
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(SourceError, match="cannot create a temporary file next to it: permission denied"):
            write_source(read_source(path), "x = 2\n")
    finally:
        tmp_path.chmod(0o755)
    assert path.read_text() == "x = 1\n"
