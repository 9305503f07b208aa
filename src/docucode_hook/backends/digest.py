"""A model or adapter directory's digest: the cache keys of generated text and of converted models.

Hashing the shipped model's 31 MB of weights took 25 ms of every commit, so a file's digest
is remembered on disk (``file-digests.json`` in docucode's cache folder) under its path,
size, modification time and inode, the way git's index trusts a file's stat: a file
rewritten keeps none of the three unchanged unless on purpose.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
# Files up to this size are hashed whole; larger ones by head and tail (a retrain changes both).
FULL_HASH_LIMIT = 64 << 20
SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20
MEMO_FILE = "file-digests.json"
MEMO_ENTRIES = 256  # the newest kept: a few models' files, each version once


def _file_digest(path: Path, size: int) -> str:
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


def _memo_path() -> Path:
    from docucode_hook.backends.cache import models_cache_dir

    return models_cache_dir().parent / MEMO_FILE  # beside the models and docstrings, in neither


@functools.lru_cache(maxsize=4)  # a backfill asks once per batch: read the file once per process
def _read_memo(path: Path) -> dict[str, str]:
    try:
        memo = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or a broken one: rebuilt from the files
        return {}
    return memo if isinstance(memo, dict) else {}


def _write_memo(path: Path, memo: dict[str, str]) -> None:
    kept = dict(list(memo.items())[-MEMO_ENTRIES:])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(kept), encoding="utf-8")
        os.replace(temporary, path)  # another process reads the old file or the new one, never half
    except OSError:  # a read-only cache only costs the hashing next time
        pass


def directory_digest(directory: Path) -> str:
    """sha256 over config files and weight files (sampled when large): cheap, changes on retrain."""
    digest = hashlib.sha256()
    memo_path = _memo_path()
    memo, added = _read_memo(memo_path), False
    for path in sorted(Path(directory).iterdir()):
        if path.suffix == ".json" or path.name.endswith(WEIGHT_SUFFIXES):
            stat = path.stat()
            key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
            if key not in memo:
                memo[key], added = _file_digest(path, stat.st_size), True
            digest.update(memo[key].encode())
    if added:
        _write_memo(memo_path, memo)
    return digest.hexdigest()


__all__ = ["directory_digest"]
