"""The confidence gates on a real (tiny) model: its log-probabilities reach grounding through the real
engine and pipeline, and the gates in the model directory's docucode.json decide."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from docucode_hook.cli import main

SOURCE = (
    "def add_numbers(first: int, second: int = 2) -> int:\n    return first + second\n\n\n"
    "def read_lines(path: str) -> list[str]:\n    with open(path) as handle:\n        return handle.read().splitlines()\n\n\n"
    "def scale_values(values: list[float], factor: float) -> list[float]:\n    return [v * factor for v in values]\n"
)


def _explained(tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / ".git").mkdir(exist_ok=True)
    (project / "m.py").write_text(SOURCE, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        f'[tool.docucode]\nmodel = "{model_dir.as_posix()}"\nmax-new-tokens = 24\ncache = false\n', encoding="utf-8"
    )
    old = Path.cwd()
    try:
        import os

        os.chdir(project)
        assert main(["--diff", "--format", "json", "m.py"]) == 1
    finally:
        os.chdir(old)
    written = json.loads(capsys.readouterr().out)["files"][0]["docstrings"]
    # A random model's text is unusable for some functions, and the template stands in for them.
    return [d for d in written if d["by"] == "model"]


def test_gates_in_the_model_directory_decide_with_the_models_log_probabilities(tmp_path, tiny_model_dir, capsys) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    # Gates of 0 keep whatever the model wrote: no part is taken for want of confidence.
    (model_dir / "docucode.json").write_text(json.dumps({"thresholds": {"summary": 0, "description": 0, "parameter": 0}}))
    open_gates = _explained(tmp_path, model_dir, capsys)
    assert open_gates
    assert not any(part["reason"].startswith("model unsure") for d in open_gates for part in d["parts"])
    # Gates of 1 take every part the model wrote that the other rules kept: the scores came
    # from the engine's log-probabilities, or no gate would apply at all.
    (model_dir / "docucode.json").write_text(json.dumps({"thresholds": {"summary": 1, "description": 1, "parameter": 1}}))
    closed = _explained(tmp_path, model_dir, capsys)
    summaries = [next(p for p in d["parts"] if p["part"] == "summary") for d in closed]
    gated = [p for p in summaries if p["reason"].startswith("model unsure: summary score")]
    assert gated, summaries
    assert all(p["origin"] == "derived" for p in gated)
    # What no gate took was never the model's to keep: nothing written, or only the name restated.
    assert all(p in gated or p["reason"] in ("no summary written", "restates the name") for p in summaries), summaries


def test_a_gate_of_never_gives_every_summary_to_derived_text_and_explain_says_why(tmp_path, tiny_model_dir, capsys) -> None:
    # What train.calibrate ships where the model's summaries were not rated above derived text
    # at any score: the model still writes (its parameters are gated as usual), its summaries never stand.
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    (model_dir / "docucode.json").write_text(json.dumps(
        {"thresholds": {"summary": "never", "description": 0, "parameter": 0}, "calibration": "far-set review"}))
    written = _explained(tmp_path, model_dir, capsys)
    assert written
    summaries = [next(p for p in d["parts"] if p["part"] == "summary") for d in written]
    never = [p for p in summaries if p["reason"] == "the model does not write summaries: far-set review"]
    assert never and all(p["origin"] == "derived" for p in never), summaries
    assert all(p in never or p["reason"] in ("no summary written", "restates the name") for p in summaries), summaries
    # --explain prints the same reason under the docstring.
    old = Path.cwd()
    try:
        import os

        os.chdir(tmp_path / "project")
        assert main(["--diff", "--explain", "m.py"]) == 1
    finally:
        os.chdir(old)
    assert "summary: derived (the model does not write summaries: far-set review)" in capsys.readouterr().err
