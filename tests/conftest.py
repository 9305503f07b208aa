"""Shared fixtures: a tiny random model and adapter, the pre-commit hook repo and its environment (each
built once per session), and an isolated cache dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest
from precommit_support import CHECKOUT, run

from docucode_hook.code.records import FunctionContext
from docucode_hook.code.contexts import iter_contexts
from tinymodel import build_tiny_adapter, build_tiny_model

if TYPE_CHECKING:
    from llama_server import Served

SAMPLE_SOURCE = '''"""Small helpers for the backend tests."""

import os
from pathlib import Path


def add(a: int, b: int = 2) -> int:
    return a + b


def read_lines(path: str) -> list[str]:
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    return Path(path).read_text().splitlines()


class Stack:
    """A last-in, first-out stack."""

    def push(self, item: object) -> None:
        self.items.append(item)

    def pop(self) -> object:
        if not self.items:
            raise IndexError("pop from an empty stack")
        return self.items.pop()


def countdown(n: int):
    while n > 0:
        yield n
        n -= 1
'''


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init Llama and its trained tokenizer, saved as a model directory."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="session")
def tiny_adapter_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A LoRA adapter on q_proj/v_proj for the tiny model, with non-zero B weights."""
    return build_tiny_adapter(tiny_model_dir, tmp_path_factory.mktemp("adapters") / "tiny-lora")


@pytest.fixture(scope="session")
def sample_contexts() -> list[FunctionContext]:
    """Contexts of SAMPLE_SOURCE from the real finder: functions, methods, a generator."""
    return list(iter_contexts(SAMPLE_SOURCE, "helpers.py"))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or fills the user's real docstring cache."""
    cache_dir = tmp_path / "docucode-cache"
    monkeypatch.setenv("DOCUCODE_CACHE_DIR", str(cache_dir))
    return cache_dir


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for git and pre-commit: one PRE_COMMIT_HOME for the whole session, so the
    hook environment is installed once for every test that runs the real pre-commit."""
    home = tmp_path_factory.mktemp("precommit-home")
    return {
        **os.environ,
        "PRE_COMMIT_HOME": str(home / "cache"),
        "DOCUCODE_CACHE_DIR": str(home / "docucode-cache"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> tuple[Path, str]:
    """A git repo holding this checkout's working tree (committed or not), as pre-commit fetches it; and its rev."""
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], CHECKOUT, env).stdout.split("\0")
    for name in filter(None, listed):
        source = CHECKOUT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    run(["git", "init", "-q"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "snapshot"], repo, env)
    return repo, run(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()


@pytest.fixture(scope="session")
def shipped_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model exported by ``train.export --format gguf`` (q8_0, the default), once per session."""
    pytest.importorskip("gguf", reason="the gguf extra is not installed (pip install 'docucode[gguf]')")
    from train import export

    out = tmp_path_factory.mktemp("gguf")
    assert export.main(["--format", "gguf", "--out", str(out)]) == 0
    return out / "docucode-small-q8_0.gguf"


@pytest.fixture(scope="module")
def shipped_server(shipped_gguf: Path) -> Iterator[Served]:
    """llama.cpp's server serving the shipped model's GGUF export, as the README's command starts it."""
    from llama_server import ENGINE_MISSING, ENGINE_PYTHON, llama_server

    if not ENGINE_PYTHON.is_file():
        pytest.skip(ENGINE_MISSING)
    with llama_server(shipped_gguf, "--n_ctx", "512") as served:
        yield served


@pytest.fixture(scope="module")
def smollm2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """llama.cpp's server serving SmolLM2-135M-Instruct, with the chat template its GGUF holds."""
    from llama_server import ENGINE_MISSING, ENGINE_PYTHON, llama_server, smollm2_gguf

    if not ENGINE_PYTHON.is_file():
        pytest.skip(ENGINE_MISSING)
    with llama_server(smollm2_gguf(tmp_path_factory.mktemp("smollm2")), "--n_ctx", "2048") as served:
        yield served
