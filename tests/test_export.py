"""train.export on the tiny model and adapter: the merged model, converted by the hook's converter, runs as is."""

from __future__ import annotations

from pathlib import Path

import pytest

from docucode_hook.backends.convert import is_ct2_model
from docucode_hook.backends.model import ModelBackend
from docucode_hook.config import Config
from docucode_hook.code.records import Style
from docucode_hook.backends.prompt import build_prompt
from train import export


def test_an_adapter_merged_and_exported_writes_what_the_adapter_writes(
    tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path, sample_contexts, capsys
) -> None:
    out = tmp_path / "exported"
    argv = ["--base", str(tiny_model_dir), "--adapter", str(tiny_adapter_dir), "--out", str(out),
            "--quantization", "float32"]
    assert export.main(argv) == 0
    assert f'model = "{out}"' in capsys.readouterr().out
    merged = tmp_path / "exported-hf"
    assert is_ct2_model(out) and (merged / "model.safetensors").is_file() and (merged / "tokenizer.json").is_file()

    settings = {"max_new_tokens": 12, "batch_size": 8}
    exported = ModelBackend(Config(model=str(out), **settings), ct2_compute_type="float32")
    adapted = ModelBackend(Config(model=str(tiny_model_dir), adapter=str(tiny_adapter_dir), **settings),
                           quantize_4bit=False)
    plain = ModelBackend(Config(model=str(tiny_model_dir), runtime="transformers", **settings), quantize_4bit=False)
    assert exported.runtime == "ctranslate2" and adapted.runtime == "transformers"
    # The merge is the adapter's own arithmetic: the same greedy tokens as base + adapter, not as the base.
    # (Tokens, not cut texts: the tiny adapter's random weights write text the cut mostly drops.)
    prompts = [build_prompt(ctx, Style.GOOGLE).text for ctx in sample_contexts]

    def tokens(backend: ModelBackend) -> list[list[int]]:
        engine = backend.engine()
        return [ids for ids, _ in engine.generate(engine.encode(prompts), [False] * len(prompts))]

    ours = tokens(exported)
    assert all(ours) and ours == tokens(adapted) and ours != tokens(plain)


def test_without_an_adapter_the_base_is_converted_as_it_is(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert export.main(["--base", str(tiny_model_dir), "--out", str(tmp_path / "plain")]) == 0
    assert is_ct2_model(tmp_path / "plain") and not (tmp_path / "plain-hf").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [("missing", "not a model directory"), ("gpt2", "model type 'gpt2' is not Llama"),
     ("pickle-adapter", "no adapter_model.safetensors")],
)
def test_what_cannot_be_exported_is_one_line_and_exit_2(
    tiny_model_dir: Path, tmp_path: Path, capsys, setup: str, message: str
) -> None:
    import json
    import shutil

    base, argv = tiny_model_dir, []
    if setup == "missing":
        base = tmp_path / "nothing"
    elif setup == "gpt2":
        base = Path(shutil.copytree(tiny_model_dir, tmp_path / "gpt2"))
        config = json.loads((base / "config.json").read_text())
        (base / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    else:
        adapter = tmp_path / "adapter"
        adapter.mkdir()
        (adapter / "adapter_model.bin").write_bytes(b"pickle")
        argv = ["--adapter", str(adapter)]
    assert export.main(["--base", str(base), "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "out").exists()
