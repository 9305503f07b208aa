"""The docstring cache: keys, atomic files, unreadable entries, and generate_cached around a real backend."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Sequence

import pytest

from docucode_hook.backends import Generation
from docucode_hook.backends.model import ModelBackend
from docucode_hook.backends.cache import DocstringCache, default_cache_dir, generate_cached
from docucode_hook.config import Config
from docucode_hook.code.records import FunctionContext, Style

from conftest import SAMPLE_SOURCE


class CountingBackend:
    """A real backend, wrapped to record which functions it was asked for."""

    def __init__(self, inner: ModelBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.asked: list[list[str]] = []

    def cache_key(self) -> str:
        return self.inner.cache_key()

    def generate(self, contexts: Sequence[FunctionContext], style: Style) -> list[Generation | None]:
        self.asked.append([ctx.qualname for ctx in contexts])
        return self.inner.generate(contexts, style)


@pytest.fixture
def counting(tiny_model_dir: Path) -> CountingBackend:
    return CountingBackend(ModelBackend(Config(model=str(tiny_model_dir), max_new_tokens=10, batch_size=4)))


def test_default_dir_follows_the_environment(isolated_cache: Path) -> None:
    assert default_cache_dir() == isolated_cache
    assert DocstringCache().root == isolated_cache


def test_put_then_get_in_a_sharded_file(tmp_path: Path) -> None:
    cache = DocstringCache(tmp_path)
    key = "ab" + "0" * 62
    assert cache.get(key) is None
    generation = Generation("Add two numbers.\n\nArgs:\n    a: The first.", ((0, -0.25), (4, -1.5)))
    cache.put(key, generation)
    assert cache.get(key) == generation  # the log-probabilities too
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == [f"ab/{key[2:]}"]


def test_key_depends_on_code_context_style_and_backend(sample_contexts) -> None:
    cache = DocstringCache()
    ctx = sample_contexts[0]
    key = cache.key_for(ctx, Style.GOOGLE, "model:a")
    assert key == cache.key_for(dataclasses.replace(ctx, path="elsewhere/helpers.py"), Style.GOOGLE, "model:a")
    others = {
        cache.key_for(ctx, Style.NUMPY, "model:a"),
        cache.key_for(ctx, Style.GOOGLE, "model:b"),
        cache.key_for(dataclasses.replace(ctx, code=ctx.code + "    # changed\n"), Style.GOOGLE, "model:a"),
        cache.key_for(dataclasses.replace(ctx, imports=("import numpy",)), Style.GOOGLE, "model:a"),
        cache.key_for(dataclasses.replace(ctx, class_name="Calculator"), Style.GOOGLE, "model:a"),
    }
    assert key not in others and len(others) == 5


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe not utf-8", b'{"key": "ab', b"[]", b'{"text": 3}', json.dumps({"key": "other", "text": "x"}).encode(),
        json.dumps({"key": "cd" + "1" * 62, "text": "x", "token_logprobs": [[0, "low"]]}).encode(),
    ],
)
def test_unreadable_entries_are_misses(tmp_path: Path, content: bytes) -> None:
    cache = DocstringCache(tmp_path)
    key = "cd" + "1" * 62
    cache.path_for(key).parent.mkdir(parents=True)
    cache.path_for(key).write_bytes(content)
    assert cache.get(key) is None
    cache.put(key, Generation("Fresh."))
    assert cache.get(key) == Generation("Fresh.")


def test_unwritable_cache_costs_nothing_but_speed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = DocstringCache(blocker)
    cache.put("ef" + "2" * 62, Generation("text"))
    assert cache.get("ef" + "2" * 62) is None


def test_concurrent_writers_never_expose_half_an_entry(tmp_path: Path) -> None:
    cache = DocstringCache(tmp_path)
    key = "0f" + "3" * 62
    texts = [str(n) * 200_000 for n in range(4)]  # large enough that a plain write would be seen half-done
    path = cache.path_for(key)
    seen: list[str] = []

    def write(text: str) -> None:
        for _ in range(20):
            cache.put(key, Generation(text))

    writers = [threading.Thread(target=write, args=(text,)) for text in texts]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers):
        if path.exists():  # read the raw file: get() would hide a torn entry as a miss
            seen.append(path.read_text(encoding="utf-8"))
    for thread in writers:
        thread.join()

    assert seen and {json.loads(raw)["text"] for raw in seen} <= set(texts)
    assert cache.get(key).text in texts
    assert [p.name for p in path.parent.iterdir()] == [key[2:]]  # no temp files left


def test_second_run_asks_the_backend_for_nothing(counting: CountingBackend, sample_contexts) -> None:
    cache = DocstringCache()
    contexts = sample_contexts[:4]
    first = generate_cached(counting, contexts, Style.GOOGLE, cache)
    assert counting.asked == [[ctx.qualname for ctx in contexts]]
    # Only texts are cached; a None (template fallback) is asked for again next time.
    uncached = [ctx.qualname for ctx, text in zip(contexts, first) if text is None]

    assert generate_cached(counting, contexts, Style.GOOGLE, cache) == first
    assert counting.asked[1:] == ([uncached] if uncached else [])

    generate_cached(counting, sample_contexts, Style.GOOGLE, cache)
    assert counting.asked[-1] == uncached + [ctx.qualname for ctx in sample_contexts[4:]]


def test_identical_functions_are_generated_once(counting: CountingBackend, sample_contexts) -> None:
    twin = dataclasses.replace(sample_contexts[0], path="copy/helpers.py")
    texts = generate_cached(counting, [sample_contexts[0], twin], Style.GOOGLE, DocstringCache())
    assert counting.asked == [[sample_contexts[0].qualname]]
    assert texts[0] == texts[1]


def test_no_cache_always_asks(counting: CountingBackend, sample_contexts) -> None:
    for _ in range(2):
        generate_cached(counting, sample_contexts[:1], Style.GOOGLE, None)
    assert len(counting.asked) == 2


def test_cache_hit_in_a_fresh_process_never_imports_torch(counting, tiny_model_dir, sample_contexts, tmp_path) -> None:
    texts = generate_cached(counting, sample_contexts, Style.NUMPY, DocstringCache())
    generated = [ctx.qualname for ctx, text in zip(sample_contexts, texts) if text is not None]
    assert generated, "the tiny model produced some text to cache"
    source = tmp_path / "helpers.py"
    source.write_text(SAMPLE_SOURCE)
    script = f"""
import json, sys
from docucode_hook.backends import Generation
from docucode_hook.backends.model import ModelBackend
from docucode_hook.backends.cache import DocstringCache, generate_cached
from docucode_hook.config import Config
from docucode_hook.code.records import Style
from docucode_hook.code.contexts import iter_contexts
contexts = [c for c in iter_contexts(open({str(source)!r}).read(), "helpers.py") if c.qualname in {generated!r}]
backend = ModelBackend(Config(model={str(tiny_model_dir)!r}, max_new_tokens=10, batch_size=4))
generations = generate_cached(backend, contexts, Style.NUMPY, DocstringCache())
print(json.dumps({{"texts": [g.text for g in generations], "torch": "torch" in sys.modules}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    answer = json.loads(result.stdout)
    assert answer == {"texts": [g.text for g in texts if g is not None], "torch": False}
