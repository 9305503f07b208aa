"""QLoRA training (train.qlora) and the memory benchmark, run for real on a tiny Llama on CPU."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from docucode_hook.code.records import FunctionContext, Parameter, ParamKind, Style
from docucode_hook.backends.prompt import build_comment_record, build_record, model_input, record_input
from tinymodel import build_tiny_model
from train import qlora

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "train" / "configs" / "qlora-tiny.yaml"
TRAIN_STEPS = 4  # max_steps in qlora-tiny.yaml


def _record(index: int, package: str) -> dict[str, str]:
    name = f"scale_{index}"
    ctx = FunctionContext(
        path=f"{package}/ops.py",
        qualname=name,
        name=name,
        kind="function",
        lineno=1,
        col=0,
        signature=f"def {name}(value: float, factor: float = {index}) -> float:",
        parameters=(
            Parameter("value", ParamKind.POSITIONAL_OR_KEYWORD, "float"),
            Parameter("factor", ParamKind.POSITIONAL_OR_KEYWORD, "float", str(index)),
        ),
        returns_annotation="float",
        returns_value=True,
        code=f"def {name}(value: float, factor: float = {index}) -> float:\n    return value * factor\n",
    )
    completion = (
        f"Scale a value by {index}.\n\nArgs:\n    value: The value.\n    factor: The factor.\n\n"
        "Returns:\n    The product."
    )
    return {**build_record(ctx, Style.GOOGLE, completion), "package": package}


def _comment_record(index: int) -> dict[str, str]:
    code = f"def scale_{index}(values, factor):\n    for i, v in enumerate(values):\n        values[i] = v * factor\n"
    return build_comment_record(f"scale_{index}", code, 2, 3, "Scale every value in place")


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("qlora")
    build_tiny_model(root / "model")
    records = [_record(i, "alpha" if i % 2 else "beta") for i in range(8)]
    # Both tasks train together: two comment records on the same kind of code.
    records += [{**_comment_record(i), "package": "alpha"} for i in (1, 3)]
    _write_jsonl(root / "train.jsonl", records)
    _write_jsonl(root / "validation.jsonl", [_record(i, "alpha") for i in (11, 13)])
    return root


@pytest.fixture(scope="module")
def trained(workspace: Path) -> Path:
    out = workspace / "adapter"
    status = qlora.main(
        [
            "--config", str(TINY_CONFIG),
            "--model", str(workspace / "model"),
            "--train-file", str(workspace / "train.jsonl"),
            "--validation-file", str(workspace / "validation.jsonl"),
            "--output-dir", str(out),
        ]
    )  # fmt: skip
    assert status == 0
    return out


def test_training_saves_a_safetensors_lora_adapter_on_q_and_v(trained: Path) -> None:
    assert (trained / "adapter_model.safetensors").stat().st_size > 0
    config = json.loads((trained / "adapter_config.json").read_text())
    assert config["r"] == 16 and config["lora_alpha"] == 32
    assert sorted(config["target_modules"]) == ["q_proj", "v_proj"]


def test_train_log_shows_4bit_base_paged_optimizer_and_falling_loss(trained: Path) -> None:
    log = json.loads((trained / "train_log.json").read_text())
    assert log["base_quantized_4bit"] is True
    assert log["optimizer"].startswith("bitsandbytes.optim.")
    assert log["optimizer_bits"] == 8 and log["optimizer_paged"] is True
    losses = [entry["loss"] for entry in log["loss"]]
    assert len(losses) == TRAIN_STEPS and all(math.isfinite(loss) for loss in losses)
    # Same 10 records every epoch at lr 5e-3: the completion loss must go down.
    assert losses[-1] < losses[0]
    assert [entry["step"] for entry in log["eval"]] == [2, 4]
    assert log["train_tokens"] > 0 and log["tokens_per_s"] > 0
    assert log["peak_memory_bytes"] > 0 and log["wall_s"] > 0
    assert log["train_examples"] == 10 and log["eval_examples"] == 2


def test_adapter_loads_with_peft_and_changes_the_logits(workspace: Path, trained: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(trained)
    ids = tokenizer(model_input("### Instruction\nDocument it.\n", "def f(x):\n    return x"), return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(workspace / "model")
    with torch.no_grad():
        before = base(**ids).logits
        adapted = PeftModel.from_pretrained(base, trained)
        after = adapted(**ids).logits
    assert isinstance(adapted, PeftModel)
    assert not torch.allclose(before, after, atol=1e-4)


def test_examples_use_the_shared_prompt_format_and_end_with_eos() -> None:
    records = [_record(1, "alpha"), _record(2, "beta"), _record(3, "alpha")]
    examples = qlora.to_examples(records, "</s>")
    assert examples[0].prompt == model_input(records[0]["prompt"], records[0]["code_snippet"])
    assert examples[0].completion == records[0]["completion"] + "</s>"
    only_alpha = qlora.to_examples(records, "</s>", packages=["alpha"], max_samples=1)
    assert [e.prompt for e in only_alpha] == [examples[0].prompt]
    (comment,) = qlora.to_examples([_comment_record(1)], "</s>")
    assert comment.prompt == record_input(_comment_record(1)) and comment.prompt.endswith("### Comment\n")
    assert comment.completion == "Scale every value in place</s>"


def test_cli_flags_override_the_yaml_config() -> None:
    args = qlora.parse_args(["--config", str(TINY_CONFIG), "--model", "m", "--lora-r", "8", "--no-load-in-4bit"])
    assert (args.model, args.lora_r, args.load_in_4bit, args.max_steps) == ("m", 8, False, TRAIN_STEPS)
    assert args.target_modules == ("q_proj", "v_proj")


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ("lora_rank: 8\n", "unknown option 'lora_rank'"),
        ("lora_r: eight\n", "lora_r must be an integer"),
        ("target_modules: [1, 2]\n", "target_modules must be a list of strings"),
        ("model: [unclosed\n", "invalid YAML"),
    ],
)
def test_bad_config_is_one_line_naming_the_file(tmp_path: Path, capsys, config_text: str, message: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(config_text, encoding="utf-8")
    assert qlora.main(["--config", str(config), "--model", "m"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(config) in err and message in err


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"prompt": "p", "code_snippet": "c", "completion": "d"}', "{not json"], ":2: invalid JSON"),
        (['{"prompt": "p", "completion": "d"}'], ":1: missing string field(s) code_snippet"),
    ],
)
def test_bad_data_line_is_reported_with_file_and_line(
    workspace: Path, tmp_path: Path, capsys, lines: list[str], message: str
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = qlora.main(["--model", str(workspace / "model"), "--train-file", str(data), "--output-dir", str(tmp_path)])
    assert status == 2
    assert f"{data}{message}" in capsys.readouterr().err
    assert not (tmp_path / "adapter_model.safetensors").exists()


def test_package_filter_that_matches_nothing_is_an_error(workspace: Path, tmp_path: Path, capsys) -> None:
    status = qlora.main(
        ["--model", str(workspace / "model"), "--train-file", str(workspace / "train.jsonl"),
         "--packages", "gamma", "--output-dir", str(tmp_path)]
    )  # fmt: skip
    assert status == 2
    assert "no training records for packages gamma" in capsys.readouterr().err


def _load_bench():
    spec = importlib.util.spec_from_file_location("qlora_memory", ROOT / "bench" / "qlora_memory.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


def test_memory_benchmark_runs_tiny_on_cpu(tmp_path: Path, capsys) -> None:
    bench = _load_bench()
    out = tmp_path / "bench.json"
    assert bench.main(["--tiny", "--steps", "2", "--warmup", "0", "--seq", "32", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [run["name"] for run in report["runs"]] == ["bf16 LoRA", "4-bit NF4 QLoRA"]
    for run in report["runs"]:
        assert run["tokens_per_s"] > 0 and math.isfinite(run["final_loss"])
        # LoRA r=16 on q_proj and v_proj of 2 layers, hidden 64: 2 * 2 * (64*16 + 16*64).
        assert run["trainable_params"] == 2 * 2 * (64 * 16 + 16 * 64)
    table = capsys.readouterr().out
    assert "| 4-bit NF4 QLoRA |" in table and "| bf16 LoRA |" in table


@pytest.mark.parametrize(("upcast", "dtype"), [(True, "torch.float32"), (False, "torch.bfloat16")])
def test_upcast_option_decides_the_dtype_of_the_base_weights_left_unquantized(
    workspace: Path, upcast: bool, dtype: str
) -> None:
    import torch

    args = qlora.parse_args(["--config", str(TINY_CONFIG), "--model", str(workspace / "model"),
                             "--train-file", str(workspace / "train.jsonl")])
    model = qlora.load_model(replace(args, upcast_non_quantized=upcast), torch.bfloat16)
    assert str(model.get_input_embeddings().weight.dtype) == dtype
    trainable = {name for name, param in model.named_parameters() if param.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    # Either way the frozen embeddings feed gradients into the checkpointed LoRA blocks.
    ids = torch.tensor([[1, 5, 7, 9]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=ids, labels=ids).loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)
