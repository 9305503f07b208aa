"""The local llama.cpp engine of the tests and benchmarks: its venv, and its server on 127.0.0.1 for the length of a ``with``.

``make engine`` (part of ``make test``) builds the venv ``.venv-llama`` with llama-cpp-python's
server; the hook's own environment never imports llama_cpp, so everything here runs it as a
subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
ENGINE_PYTHON = ROOT / ".venv-llama" / "bin" / "python"
# Loading a model and starting uvicorn takes seconds; a cold disk on a busy 2-core machine, longer.
START_TIMEOUT = 120.0


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
    caller did; a server that dies or does not answer in time raises RuntimeError with its log.
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
                raise RuntimeError(f"llama_cpp.server did not start (exit {process.poll()}):\n{tail}")
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


__all__ = ["ENGINE_PYTHON", "Served", "free_port", "llama_server"]
