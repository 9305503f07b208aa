"""A docstring cache on disk, so a re-run after the commit stopped asks the backend for nothing.

The user cache directory also holds the models converted for CTranslate2 (``models_cache_dir``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Sequence

from docucode_hook.backends import Backend, Generation
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.backends.prompt import PROMPT_VERSION, build_prompt

CACHE_ENV = "DOCUCODE_CACHE_DIR"
# 2: entries hold the tokens' log-probabilities, which entries of format 1 lack.
ENTRY_FORMAT = "2"


def _user_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("docucode"))


def default_cache_dir() -> Path:
    """``$DOCUCODE_CACHE_DIR`` if set, else the platform's user cache dir for docucode."""
    if override := os.environ.get(CACHE_ENV):
        return Path(override)
    return _user_cache_dir() / "docstrings"


def models_cache_dir() -> Path:
    """Where converted models go: ``models`` beside the docstrings (in ``$DOCUCODE_CACHE_DIR`` if set)."""
    if override := os.environ.get(CACHE_ENV):
        return Path(override) / "models"  # docstring shards are two hex digits: no clash
    return _user_cache_dir() / "models"


class DocstringCache:
    """Raw backend text, one small file per key under a two-character shard directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def key_for(self, ctx: FunctionContext, style: Style, backend_key: str) -> str:
        """sha256 of the code, what the model sees of its context, the backend and the style."""
        # The prompt text is the context digest: it holds exactly the fields the model saw.
        prompt = build_prompt(ctx, style).text
        parts = [ctx.code, prompt, backend_key, Style(style).value, PROMPT_VERSION, ENTRY_FORMAT]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()

    def path_for(self, key: str) -> Path:
        """Sharded by the first two hex digits so no directory grows huge."""
        return self.root / key[:2] / key[2:]

    def get(self, key: str) -> Generation | None:
        """The cached generation, or None on a miss or an entry that cannot be read back."""
        try:
            entry = json.loads(self.path_for(key).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("text"), str):
            return None
        pairs = entry.get("token_logprobs", [])
        if not isinstance(pairs, list) or not all(_is_logprob_pair(pair) for pair in pairs):
            return None
        return Generation(entry["text"], tuple((offset, float(logprob)) for offset, logprob in pairs))

    def put(self, key: str, generation: Generation) -> None:
        """Write atomically (temp file + rename) so concurrent hooks never see half an entry."""
        target = self.path_for(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        except OSError:
            return  # an unwritable cache only costs speed, never the commit
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                entry = {"key": key, "text": generation.text, "token_logprobs": generation.token_logprobs}
                json.dump(entry, handle)
            os.replace(temp, target)
        except OSError:
            Path(temp).unlink(missing_ok=True)


def _is_logprob_pair(pair: object) -> bool:
    return (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) is int
            and isinstance(pair[1], (int, float)) and not isinstance(pair[1], bool))


def generate_cached(
    backend: Backend, contexts: Sequence[FunctionContext], style: Style, cache: DocstringCache | None
) -> list[Generation | None]:
    """``backend.generate`` for the cache misses only; identical functions are generated once."""
    if cache is None:
        return backend.generate(contexts, style)
    backend_key = backend.cache_key()
    keys = [cache.key_for(ctx, style, backend_key) for ctx in contexts]
    found = {key: generation for key in dict.fromkeys(keys) if (generation := cache.get(key)) is not None}
    missing = {key: ctx for key, ctx in zip(keys, contexts) if key not in found}
    if missing:
        for key, generation in zip(missing, backend.generate(list(missing.values()), style)):
            if generation is not None:
                cache.put(key, generation)
                found[key] = generation
    return [found.get(key) for key in keys]


__all__ = ["CACHE_ENV", "ENTRY_FORMAT", "DocstringCache", "default_cache_dir", "generate_cached", "models_cache_dir"]
