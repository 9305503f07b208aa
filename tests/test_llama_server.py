"""The llama.cpp server fixture itself: the shipped model's export loads in the real engine, and the server dies with its test."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
from llama_server import llama_server, post_json, requires_engine

from docucode_hook.backends.model import STOP_STRINGS


@requires_engine
def test_the_served_export_completes_the_hook_s_prompt_with_log_probabilities(shipped_server) -> None:
    with urllib.request.urlopen(shipped_server.url + "/models", timeout=10) as response:
        listed = [model["id"] for model in json.load(response)["data"]]
    assert [Path(name).name for name in listed] == ["docucode-small-q8_0.gguf"]
    prompt = ('### Instruction\nWrite a Google-style docstring for the Python function `area`.\n### Code\n'
              'def area(width: float, height: float) -> float:\n    return width * height\n### Docstring\n')
    answer = post_json(shipped_server.url + "/completions", {
        "prompt": prompt, "max_tokens": 48, "temperature": 0, "repeat_penalty": 1.0, "logprobs": 1,
        "stop": list(STOP_STRINGS)})
    choice = answer["choices"][0]
    assert choice["text"].strip() and '"""' not in choice["text"]
    assert "".join(choice["logprobs"]["tokens"]).startswith(choice["text"])
    assert all(value <= 0 for value in choice["logprobs"]["token_logprobs"])
    assert shipped_server.requests("/v1/completions") >= 1


@requires_engine
def test_the_server_is_gone_when_its_with_block_ends(shipped_gguf: Path, tmp_path: Path) -> None:
    with llama_server(shipped_gguf, "--n_ctx", "512", log=tmp_path / "server.log") as served:
        pid = int(served.log.read_text().split("Started server process [", 1)[1].split("]", 1)[0])
        os.kill(pid, 0)  # alive while the test runs
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(OSError):
        urllib.request.urlopen(served.url + "/models", timeout=2)
