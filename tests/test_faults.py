"""Faults around a real hook process: killed mid-run, two at once, a read-only file, a full disk."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docucode_hook.docstrings.verify import assert_only_docstrings_changed

CONFIG = '[tool.docucode]\nbackend = "template"\n'


def _module(index: int, functions: int) -> str:
    defs = [f"def f{index}_{n}(a, b=1, *args, **kwargs):\n    # keep {n}\n    return a + b\n" for n in range(functions)]
    return "\n\n".join(defs)


def _tree(root: Path, files: int, functions: int) -> dict[Path, bytes]:
    (root / "pyproject.toml").write_text(CONFIG)
    (root / "pkg").mkdir()
    originals = {}
    for index in range(files):
        path = root / "pkg" / f"m{index:03}.py"
        path.write_text(_module(index, functions))
        originals[path] = path.read_bytes()
    return originals


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "DOCUCODE_CACHE_DIR": str(root / "cache"), "PYTHONDONTWRITEBYTECODE": "1"}


def _hook(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "docucode_hook", "-q", *args]


def _assert_intact(originals: dict[Path, bytes]) -> tuple[int, int]:
    """Every file is its original or a complete docstring-only edit of it; (untouched, written)."""
    untouched = written = 0
    for path, raw in originals.items():
        now = path.read_bytes()
        if now == raw:
            untouched += 1
        else:
            assert_only_docstrings_changed(raw.decode(), now.decode())
            assert now.count(b'"""') == 2 * raw.count(b"def "), path  # every function, none twice
            written += 1
    return untouched, written


def test_killed_mid_run_leaves_each_file_untouched_or_complete(tmp_path) -> None:
    originals = _tree(tmp_path, files=40, functions=25)
    hook = subprocess.Popen(_hook(tmp_path, "--no-cache", "pkg"), cwd=tmp_path, env=_env(tmp_path))
    deadline = time.monotonic() + 120
    while all(p.read_bytes() == raw for p, raw in originals.items()) and time.monotonic() < deadline:
        time.sleep(0.005)  # kill as soon as the first file is written, so the rest is mid-stream
    hook.send_signal(signal.SIGKILL)
    hook.wait()
    untouched, written = _assert_intact(originals)
    assert written >= 1 and untouched >= 1, "the kill did not land mid-run"
    # The next run finishes the job: nothing was left half-done that it would trip over.
    assert subprocess.run(_hook(tmp_path, "pkg"), cwd=tmp_path, env=_env(tmp_path)).returncode == 1
    assert _assert_intact(originals) == (0, len(originals))
    assert subprocess.run(_hook(tmp_path, "pkg"), cwd=tmp_path, env=_env(tmp_path)).returncode == 0


def test_two_hooks_at_once_corrupt_neither_files_nor_cache(tmp_path) -> None:
    originals = _tree(tmp_path, files=12, functions=15)
    hooks = [subprocess.Popen(_hook(tmp_path, "pkg"), cwd=tmp_path, env=_env(tmp_path), stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outcomes = [(hook.wait(), hook.stderr.read()) for hook in hooks]
    for code, err in outcomes:
        # The loser of a race refuses the file it read before the other wrote it (exit 2), never overwrites.
        assert code in (1, 2), err
        assert all("file changed on disk since it was read" in line for line in err.splitlines() if "error" in line)
    assert _assert_intact(originals)[1] >= 1
    done = subprocess.run(_hook(tmp_path, "pkg"), cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode in (0, 1)
    assert _assert_intact(originals) == (0, len(originals))
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert entries, "the cache was never written"
    for entry in entries:
        record = json.loads(entry.read_text())
        assert record["key"] == entry.parent.name + entry.name and isinstance(record["text"], str)


def _one_error_line(done: subprocess.CompletedProcess, path: str, reason: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert lines == [f"{path}: error: not written: {reason}"], done.stderr


def test_read_only_file_is_a_clear_error_and_untouched(tmp_path) -> None:
    originals = _tree(tmp_path, files=1, functions=2)
    path = next(iter(originals))
    path.chmod(0o444)
    done = subprocess.run(_hook(tmp_path, "pkg/m000.py"), cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                          text=True)
    _one_error_line(done, "pkg/m000.py", "file is read-only")
    assert path.read_bytes() == originals[path]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs holding a project, so that a real write runs out of space."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)], capture_output=True)
    if mount.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the RLIMIT_FSIZE test covers the same path")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_full_disk_is_a_clear_error_and_untouched(tiny_disk) -> None:
    originals = _tree(tiny_disk, files=1, functions=40)
    path = next(iter(originals))
    filler = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(filler, b"\0" * 4096):  # take every block that is left
            pass
    except OSError:
        pass
    finally:
        os.close(filler)
    done = subprocess.run(_hook(tiny_disk, "--no-cache", "pkg/m000.py"), cwd=tiny_disk, env=_env(tiny_disk),
                          capture_output=True, text=True)
    _one_error_line(done, "pkg/m000.py", "disk full")
    assert path.read_bytes() == originals[path]
    assert sorted(p.name for p in (tiny_disk / "pkg").iterdir()) == ["m000.py"]  # no temp file left


def test_file_size_limit_is_a_clear_error_and_untouched(tmp_path) -> None:
    originals = _tree(tmp_path, files=1, functions=10)
    path = next(iter(originals))

    def limit_file_size() -> None:
        # The hook's new text is longer than the original: any write past this size fails.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(originals[path]), len(originals[path])))

    done = subprocess.run(_hook(tmp_path, "--no-cache", "pkg/m000.py"), cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, preexec_fn=limit_file_size)
    _one_error_line(done, "pkg/m000.py", "file too large")
    assert path.read_bytes() == originals[path]
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == ["m000.py"]
