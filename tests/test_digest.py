"""A model directory's digest: every byte of a weight file counts, the directory's path does not."""

from __future__ import annotations

import os
from pathlib import Path

from docucode_hook.backends import digest as digest_module
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


def test_a_file_digest_is_remembered_under_its_stat_across_processes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCUCODE_CACHE_DIR", str(tmp_path / "cache"))
    model = _model(tmp_path / "m", os.urandom(1 << 20))
    weights = model / "model.safetensors"
    first = directory_digest(model)
    assert (tmp_path / "cache" / "file-digests.json").is_file()
    # The same size, inode and modification time: the remembered digest stands (as git's index
    # trusts a stat). A fresh process would see the file on disk, so clear this one's memory too.
    stat = weights.stat()
    with weights.open("r+b") as handle:
        handle.write(b"\x00" * 16)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    digest_module._file_digest.cache_clear()
    assert directory_digest(model) == first
    # Any change of the stat (here the time alone) and the file is read again.
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert directory_digest(model) != first
