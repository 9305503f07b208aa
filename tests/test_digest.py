"""A model directory's digest: every byte of a weight file counts, the directory's path does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from docucode_hook.backends.digest import directory_digest


def _model(directory: Path, weights: bytes) -> Path:
    directory.mkdir()
    (directory / "config.json").write_text('{"model_type": "llama"}')
    (directory / "model.safetensors").write_bytes(weights)
    (directory / "README.md").write_text("not part of the model")
    return directory


def test_the_digest_reads_a_weight_file_to_its_last_byte(tmp_path: Path):
    weights = os.urandom(3 * (1 << 20) + 123)  # several read chunks and a partial one
    first = directory_digest(_model(tmp_path / "a", weights))
    assert directory_digest(_model(tmp_path / "b", weights)) == first
    assert directory_digest(_model(tmp_path / "c", weights[:-1] + bytes([weights[-1] ^ 1]))) != first
    assert directory_digest(_model(tmp_path / "d", weights[:-1])) != first
    (tmp_path / "b" / "README.md").write_text("edited")
    assert directory_digest(tmp_path / "b") == first


def _digest_in_a_new_process(model: Path) -> str:
    script = "import sys; from pathlib import Path; from docucode_hook.backends.digest import directory_digest; " \
             "print(directory_digest(Path(sys.argv[1])))"
    return subprocess.run([sys.executable, "-c", script, str(model)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_file_digest_is_remembered_under_its_stat_across_processes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCUCODE_CACHE_DIR", str(tmp_path / "cache"))
    model = _model(tmp_path / "m", os.urandom(1 << 20))
    weights = model / "model.safetensors"
    first = _digest_in_a_new_process(model)
    assert first == directory_digest(model) and (tmp_path / "cache" / "file-digests.json").is_file()
    # The same size, inode and modification time: the remembered digest stands, as git's index
    # trusts a stat, and a new process does not read the weights again.
    stat = weights.stat()
    with weights.open("r+b") as handle:
        handle.write(b"\x00" * 16)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _digest_in_a_new_process(model) == first
    # Any change of the stat (here the time alone) and the file is read again.
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert _digest_in_a_new_process(model) != first
