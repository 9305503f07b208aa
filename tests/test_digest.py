"""A model directory's digest: every byte of a weight file counts, the directory's path does not."""

from __future__ import annotations

import os
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
