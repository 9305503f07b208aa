"""A model or adapter directory's digest: the cache keys of generated text and of converted models."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
# Files up to this size are hashed whole; larger ones by head and tail (a retrain changes both).
FULL_HASH_LIMIT = 64 << 20
SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20


@functools.lru_cache(maxsize=64)  # a backfill asks once per batch: hash each file version once per process
def _file_digest(path: Path, size: int, modified_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as handle:
        if size <= FULL_HASH_LIMIT:
            # Through one small buffer: reading a 15 MB shard whole first cost as much as hashing it.
            buffer = bytearray(CHUNK_BYTES)
            view = memoryview(buffer)
            while read := handle.readinto(buffer):
                digest.update(view[:read])
        else:
            digest.update(handle.read(SAMPLE_BYTES))
            handle.seek(size - SAMPLE_BYTES)
            digest.update(handle.read())
    return f"{path.name}:{size}:{digest.hexdigest()}"


def directory_digest(directory: Path) -> str:
    """sha256 over config files and weight files (sampled when large): cheap, changes on retrain."""
    digest = hashlib.sha256()
    for path in sorted(Path(directory).iterdir()):
        if path.suffix == ".json" or path.name.endswith(WEIGHT_SUFFIXES):
            stat = path.stat()
            digest.update(_file_digest(path, stat.st_size, stat.st_mtime_ns).encode())
    return digest.hexdigest()


__all__ = ["directory_digest"]
