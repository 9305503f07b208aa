"""The README's configuration for each engine (Your own model, One configuration per engine) is
one the hook accepts as written, and asks the OpenAI-compatible path that engine serves.

Ollama, LM Studio, vLLM and hosted APIs are not run here (the README says so); llama.cpp's
server is, in tests/test_served_hook.py. This holds the documented text to the code: a renamed
option or a base URL the backend would read otherwise fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docucode_hook.backends.transport import base_url
from docucode_hook.config import load_mapping, tomllib  # tomli on Python 3.10

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("### One configuration per engine"):]
SECTION = SECTION[: SECTION.index("\n### ", 1)]
BLOCKS = re.findall(r"```toml\n(# ([^:\n]+)[^\n]*\n.*?)```", SECTION, re.DOTALL)
# Where each engine's OpenAI-compatible API lives, by its documentation.
API_ROOT = {"Ollama (ollama serve)": "http://127.0.0.1:11434/v1", "llama.cpp": "http://127.0.0.1:8080/v1",
            "LM Studio (Developer tab, server on)": "http://127.0.0.1:1234/v1", "vLLM": "http://127.0.0.1:8000/v1",
            "A hosted OpenAI-compatible API": "https://api.openai.com/v1"}


def test_every_engine_has_a_configuration() -> None:
    assert sorted(engine for _, engine in BLOCKS) == sorted(API_ROOT)


@pytest.mark.parametrize(("block", "engine"), BLOCKS, ids=[engine for _, engine in BLOCKS])
def test_the_readme_configuration_loads_and_asks_the_engine_s_api(block: str, engine: str) -> None:
    config = load_mapping({"backend": "server", **tomllib.loads(block)})
    assert config.backend == "server" and config.server_api == "chat"
    assert base_url(config.server_url) == API_ROOT[engine]
