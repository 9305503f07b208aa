"""Through the real command line: a served model's text is grounded, gated only by gates calibrated for it,
and its warnings all reach the user.

The served model is played by a small local server on 127.0.0.1 that answers every function
with the same chat answer and low token log-probabilities; what differs between the tests is
the model id it serves and the configuration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_engines import Request, chat_answer, chat_logprobs, error, model_list, serving

from docucode_hook.backends.loading import DEFAULT_MODEL_DIR
from docucode_hook.backends.model import ModelBackend
from docucode_hook.cli import main
from docucode_hook.config import Config
from docucode_hook.precision.confidence import NO_GATES, load_thresholds
from docucode_hook.pipeline import confidence_gates

SOURCE = '''import os


def join_all(base: str, *parts: str) -> str:
    if not parts:
        raise ValueError("no parts")
    return os.path.join(base, *parts)
'''
SUMMARY = "Join the parts onto the base path."
# Scores: e^-3 = 0.05 confidence, every content word in the code ("onto" carries no claim):
# 0.5 * 0.05 + 0.5 * 1 = 0.52, under the shipped summary gate (0.68), over no gate.
TOKENS = ["Join", " the", " parts", " onto", " the", " base", " path", "."]


def chat_model_serving(model_id: str):
    def handler(request: Request):
        if request.method == "GET":
            return model_list(model_id) if request.path == "/v1/models" else error(404)
        return chat_answer("".join(TOKENS), chat_logprobs(TOKENS, logprob=-3.0))

    return handler


def run_hook(project: Path, root: str, capsys: pytest.CaptureFixture[str], extra: str = "") -> tuple[int, dict[str, Any], str]:
    (project / "pyproject.toml").write_text(
        f'[tool.docucode]\nbackend = "server"\nserver-url = "{root}"\ncache = false\n{extra}', encoding="utf-8")
    code = main(["--diff", "--format", "json", "m.py"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else {}), captured.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "m.py").write_text(SOURCE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def summary_part(report: dict[str, Any]) -> dict[str, str]:
    [docstring] = report["files"][0]["docstrings"]
    assert docstring["by"] == "server"
    return next(part for part in docstring["parts"] if part["part"] == "summary")


def test_a_model_nobody_calibrated_keeps_its_text(project, capsys) -> None:
    with serving(chat_model_serving("qwen2.5-coder:7b")) as engine:
        code, report, _ = run_hook(project, engine.root, capsys)
    assert code == 1 and summary_part(report)["origin"] == "backend"
    assert SUMMARY in report["files"][0]["diff"]


@pytest.mark.parametrize("model_id", ["docucode-small:latest", "/models/docucode-small-q8_0.gguf"])
def test_the_shipped_models_gates_apply_when_it_is_served(project, capsys, model_id: str) -> None:
    with serving(chat_model_serving(model_id)) as engine:
        code, report, _ = run_hook(project, engine.root, capsys)
    part = summary_part(report)
    gate = load_thresholds(DEFAULT_MODEL_DIR).summary
    assert part["origin"] == "derived" and part["reason"] == f"model unsure: summary score 0.52 below {gate:.2f}"
    assert SUMMARY not in report["files"][0]["diff"]


def test_a_models_own_thresholds_apply_inline_or_from_a_file(project, capsys) -> None:
    with serving(chat_model_serving("qwen2.5-coder:7b")) as engine:
        _, inline, _ = run_hook(project, engine.root, capsys, "thresholds = {summary = 0.6}\n")
        gates = project / "gates" / "docucode.json"
        gates.parent.mkdir()
        gates.write_text(json.dumps({"thresholds": {"summary": 0.3}}), encoding="utf-8")
        # A relative path is read from the configuration's folder, wherever the hook runs.
        (project / "sub").mkdir()
        (project / "sub" / "m.py").write_text(SOURCE, encoding="utf-8")
        _, from_file, _ = run_hook(project, engine.root, capsys, 'thresholds = "gates/docucode.json"\n')
    assert summary_part(inline)["reason"] == "model unsure: summary score 0.52 below 0.60"
    assert summary_part(from_file)["origin"] == "backend"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('thresholds = "missing.json"', "missing.json: thresholds file not found"),
        ("thresholds = {summary = 2}", "[tool.docucode] thresholds: thresholds.summary must be a number from 0 to 1 or \"never\" (got 2)"),
        ("thresholds = {sumary = 0.5}", "[tool.docucode] thresholds: 'thresholds' keys must be among"),
        ('server-api = "responses"', "server_api must be one of chat, completions (got 'responses')"),
        ('server-options = "top_k=1"', "server_options must be a table of request fields"),
    ],
)
def test_bad_server_settings_are_usage_errors(project, capsys, setting: str, message: str) -> None:
    (project / "pyproject.toml").write_text(
        f'[tool.docucode]\nbackend = "server"\nserver-url = "http://127.0.0.1:9"\n{setting}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        main(["m.py"])
    assert caught.value.code == 2 and message in capsys.readouterr().err
    assert (project / "m.py").read_text(encoding="utf-8") == SOURCE


def test_identical_warnings_are_each_shown(project, capsys) -> None:
    # Two functions in two batches fail alike: Python's default filter would show the second warning never.
    (project / "m.py").write_text(SOURCE + "\n\ndef other(x: int) -> int:\n    return x\n", encoding="utf-8")

    def overloaded_engine(request: Request):
        return error(500, "slot unavailable") if request.method == "POST" else error(404)

    with serving(overloaded_engine) as engine:
        code, _, err = run_hook(project, engine.root, capsys, 'server-model = "m"\nbatch-size = 1\nserver-max-failures = 5\n')
    line = (f"docucode: warning: server {engine.root}/v1: HTTP 500 at /v1/chat/completions: slot unavailable "
            "(1 function(s) use the template)")
    assert code == 1 and err.count(line) == 2, err


def test_gates_for_the_model_backend_follow_the_model(tiny_model_dir, tiny_adapter_dir) -> None:
    shipped = ModelBackend(Config())
    assert confidence_gates(Config(), shipped) == load_thresholds(DEFAULT_MODEL_DIR)
    # The shipped base with an adapter is another model; a model directory without docucode.json has none.
    with_adapter = Config(model=str(DEFAULT_MODEL_DIR), adapter=str(tiny_adapter_dir))
    assert confidence_gates(with_adapter, ModelBackend(with_adapter, quantize_4bit=False)) == NO_GATES
    own = Config(model=str(tiny_model_dir))
    assert confidence_gates(own, ModelBackend(own)) == NO_GATES
