"""train.pretrain and train.data: the tiny config end to end on CPU, and the helpers it is built from."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.backends.prompt import TRUNCATED, build_comment_record, build_record, model_input, record_input
from train import pretrain
from train.args import ArgsError
from train.data import (
    IGNORE_INDEX,
    DataError,
    SftExample,
    collate_sft,
    encode_sft,
    length_buckets,
    pack_corpus,
    read_jsonl,
    sample_windows,
    train_tokenizer,
)

TINY_CONFIG = Path(pretrain.__file__).parent / "configs" / "pretrain-tiny.yaml"
VERBS = ["load", "save", "parse", "render", "count", "merge", "split", "check", "build", "find"]
NOUNS = ["config", "file", "record", "token", "user", "table", "path", "graph", "node", "item"]


def _function(rng: random.Random, body_lines: int = 3) -> tuple[dict[str, str], str]:
    verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
    name = f"{verb}_{noun}s"
    body = "".join(f"        total += {verb}(x, {i})\n" for i in range(body_lines))
    code = f"def {name}(items, limit=10):\n    total = 0\n    for x in items[:limit]:\n{body}    return total\n"
    ctx = FunctionContext(
        path="pkg/mod.py", qualname=name, name=name, kind="function", lineno=1, col=0, code=code, calls=(verb,)
    )
    completion = f"{verb.capitalize()} every {noun} in ``items``, at most ``limit`` of them."
    return build_record(ctx, Style.GOOGLE, completion), code


def _comment(code: str) -> dict[str, str]:
    """A comment-task record on the loop of a ``_function`` (lines 3 to the line before return)."""
    name = code.split("(", 1)[0].removeprefix("def ")
    last = len(code.splitlines()) - 1
    return build_comment_record(name, code, 3, last, f"{name.split('_')[0].capitalize()} every item up to the limit")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A miner-shaped data dir: code.jsonl, train.jsonl, validation.jsonl."""
    root = tmp_path_factory.mktemp("data")
    rng = random.Random(0)
    pairs = [_function(rng, rng.randint(1, 4)) for _ in range(90)]
    (root / "code.jsonl").write_text("".join(json.dumps({"package": "pkg", "code": c}) + "\n" for _, c in pairs))
    # Both tasks, as train.mine writes them: docstring records, then comment records on some of the same code.
    for name, part, commented in (("train", pairs[:70], pairs[:20]), ("validation", pairs[70:], pairs[70:75])):
        records = [r for r, _ in part] + [_comment(c) for _, c in commented]
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


@pytest.fixture(scope="module")
def tokenizer(corpus: Path):
    texts = [r["code"] for r in read_jsonl(corpus / "code.jsonl")]
    texts += [r["completion"] for r in read_jsonl(corpus / "train.jsonl")]
    return train_tokenizer(texts, vocab_size=400, min_frequency=1)


@pytest.fixture(scope="module")
def trained(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("model")
    assert pretrain.main(["--config", str(TINY_CONFIG), "--data", str(corpus), "--out", str(out), "--curve-fractions", "0.5"]) == 0
    return out, json.loads((out / "training_log.json").read_text())


def test_end_to_end_losses_fall(trained: tuple[Path, dict]) -> None:
    _, log = trained
    stage_a, stage_b = log["stages"]
    for stage in (stage_a, stage_b):
        assert stage["curve"][-1]["loss"] < stage["curve"][0]["loss"] - 0.3
        assert stage["tokens_per_s"] > 0 and stage["steps"] > 1
    assert stage_b["val_loss"] < stage_b["val_loss_before"]
    for stage in (stage_a, stage_b):  # early stopping: the stage ends on its best validated weights
        best = min(stage["val_curve"], key=lambda point: point["val_loss"])
        assert stage["best_step"] == best["step"] and len(stage["val_curve"]) >= 2
    # The restored weights are the best ones: the final validation equals the best seen.
    assert stage_b["val_loss"] == pytest.approx(min(p["val_loss"] for p in stage_b["val_curve"]), abs=1e-3)
    assert log["sft"]["train"] == 90 and log["sft"]["validation"] == 25
    assert log["sft"]["train_records_by_task"] == {"docstring": 70, "comment": 20}


def test_learning_curve_trains_a_fraction_from_the_same_stage_a_weights(trained: tuple[Path, dict]) -> None:
    from transformers import AutoModelForCausalLM

    out, log = trained
    [point] = log["learning_curve"]
    assert point["fraction"] == 0.5 and point["records"] == 45 and point["steps"] > 1
    assert point["val_loss"] < point["val_loss_before"]
    # Stage A's weights were restored before the main stage B: both started from the same loss.
    assert point["val_loss_before"] == pytest.approx(log["stages"][1]["val_loss_before"], abs=1e-6)
    assert AutoModelForCausalLM.from_pretrained(out / "curve-0.5").config.hidden_size == 64


def test_saved_model_loads_and_generates(trained: tuple[Path, dict], corpus: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, _ = trained
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float16
    assert model.config.tie_word_embeddings and model.config._attn_implementation == "sdpa"
    record = read_jsonl(corpus / "validation.jsonl")[0]
    encoded = tokenizer(model_input(record["prompt"], record["code_snippet"]), return_tensors="pt")
    assert encoded["input_ids"][0, 0].item() == tokenizer.bos_token_id
    generated = model.float().generate(**encoded, max_new_tokens=8, do_sample=False, min_new_tokens=8)
    assert generated.shape[1] == encoded["input_ids"].shape[1] + 8


def test_shards_respect_size_and_log_is_complete(trained: tuple[Path, dict]) -> None:
    out, log = trained
    shards = sorted(out.glob("*.safetensors"))
    assert len(shards) > 1 and all(path.stat().st_size <= 100_000 for path in shards)
    assert log["weight_bytes"] == sum(path.stat().st_size for path in shards)
    # fp16: two bytes a parameter, plus the small safetensors headers.
    assert log["parameters"] * 2 <= log["weight_bytes"] < log["parameters"] * 2 + 20_000
    assert log["config"]["model"]["hidden_size"] == 64 and log["calls"][-1]["seconds"] > 0 and log["finished"]
    assert (out / "tokenizer.json").is_file() and (out / "config.json").is_file()


def test_tokenizer_round_trips_code_with_special_tokens(tokenizer) -> None:
    text = "def f(x):\n\treturn x  # ünïcode ✓\n"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert {tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token, tokenizer.unk_token} == {
        "<|bos|>", "<|eos|>", "<|pad|>", "<|unk|>"
    }


def test_pack_corpus_joins_documents_with_eos(tokenizer) -> None:
    flat = pack_corpus(tokenizer, ["a = 1\n", "b = 2\n"])
    assert flat.dtype.name == "uint16"
    assert flat.tolist().count(tokenizer.eos_token_id) == 2 and flat[-1] == tokenizer.eos_token_id
    first_doc = tokenizer("a = 1\n")["input_ids"] + [tokenizer.eos_token_id]
    assert flat[: len(first_doc)].tolist() == first_doc


def test_sample_windows_targets_are_next_tokens() -> None:
    import torch

    tokens = torch.arange(1000, dtype=torch.int32)
    inputs, targets = sample_windows(tokens, 4, 16, torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (4, 16) and inputs.dtype == torch.long
    assert torch.equal(targets, inputs + 1)


def test_collate_labels_only_the_completion() -> None:
    batch = [SftExample((5, 6, 7, 8, 9), prompt_len=3), SftExample((5, 6, 7), prompt_len=2)]
    input_ids, labels = collate_sft(batch, pad_id=2, pad_multiple=8)
    assert input_ids.shape == labels.shape == (2, 8)
    assert input_ids[0].tolist() == [5, 6, 7, 8, 9, 2, 2, 2]
    # Row 0: positions 2 and 3 predict the completion tokens 8 and 9; everything else is ignored.
    assert labels[0].tolist() == [IGNORE_INDEX] * 2 + [8, 9] + [IGNORE_INDEX] * 4
    assert labels[1].tolist() == [IGNORE_INDEX, 7] + [IGNORE_INDEX] * 6


def test_encode_sft_cuts_code_never_completion(tokenizer) -> None:
    record, _ = _function(random.Random(1), body_lines=40)
    full = len(tokenizer(model_input(record["prompt"], record["code_snippet"]))["input_ids"])
    completion = tokenizer(record["completion"], add_special_tokens=False)["input_ids"]
    max_len = full // 2
    (example,), dropped = encode_sft(tokenizer, [record], max_len)
    assert dropped == 0 and len(example.input_ids) <= max_len
    assert list(example.input_ids[example.prompt_len :]) == completion + [tokenizer.eos_token_id]
    prompt_text = tokenizer.decode(example.input_ids[: example.prompt_len], skip_special_tokens=True)
    assert TRUNCATED in prompt_text and prompt_text.startswith(record["prompt"])
    assert prompt_text.endswith("### Docstring\n")


def test_encode_sft_keeps_the_marked_block_of_a_comment_record(tokenizer) -> None:
    _, code = _function(random.Random(3), body_lines=40)
    record = _comment(code)
    full = len(tokenizer(record_input(record))["input_ids"])
    (example,), dropped = encode_sft(tokenizer, [record], full // 2)
    prompt_text = tokenizer.decode(example.input_ids[: example.prompt_len], skip_special_tokens=True)
    assert dropped == 0 and len(example.input_ids) <= full // 2
    assert "# >>> block" in prompt_text and "# <<< block" in prompt_text and TRUNCATED.strip() in prompt_text
    assert prompt_text.endswith("### Comment\n")


def test_encode_sft_drops_what_cannot_fit(tokenizer) -> None:
    record, _ = _function(random.Random(2))
    completion = len(tokenizer(record["completion"], add_special_tokens=False)["input_ids"])
    examples, dropped = encode_sft(tokenizer, [record], max_len=completion + 3)
    assert examples == [] and dropped == 1


def test_length_buckets_respect_token_budget() -> None:
    rng = random.Random(0)
    examples = [SftExample(tuple(range(rng.randint(5, 200))), 3) for _ in range(200)]
    batches = length_buckets(examples, tokens_per_batch=1024, rng=rng, pad_multiple=64)
    assert sorted(id(e) for b in batches for e in b) == sorted(id(e) for e in examples)
    for batch in batches:
        width = -(-max(len(e.input_ids) for e in batch) // 64) * 64
        assert width * len(batch) <= 1024 or len(batch) == 1


@pytest.mark.parametrize(
    "content, reason",
    [("", "no records"), ('{"code": 1}\n', "1: missing string field(s) code"), ("{oops\n", "1: invalid JSON")],
)
def test_read_jsonl_names_file_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "code.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=rf"^{path}:? ?.*{reason[:12]}"):
        read_jsonl(path, required=("code",))


def test_missing_data_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pretrain.main(["--config", str(TINY_CONFIG), "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'code.jsonl'}: file not found"
    assert not (tmp_path / "o").exists()


def test_config_rejects_unknown_keys_and_needs_a_budget(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  hidden: 64\nstage_a: {max_steps: 1}\nstage_b: {max_steps: 1}\n")
    with pytest.raises(ArgsError, match="model: unknown option"):
        pretrain.load_args(bad)
    bad.write_text("stage_a: {lr: 0.1}\nstage_b: {max_steps: 1}\n")
    with pytest.raises(ArgsError, match="stage_a needs minutes or max_steps"):
        pretrain.load_args(bad)


def test_cli_overrides_the_config() -> None:
    args, _ = pretrain.parse_args(["--config", str(TINY_CONFIG), "--minutes-a", "2.5", "--out", "x"])
    assert args.stage_a.minutes == 2.5 and args.out == "x" and args.stage_a.max_steps == 30


@pytest.mark.parametrize("config", [pretrain.DEFAULT_CONFIG, pretrain.DEFAULT_CONFIG.with_name("pretrain-v3.yaml")])
def test_shipped_config_fits_the_size_bound(config: Path) -> None:
    import torch

    shipped = pretrain.load_args(config)
    assert shipped.stage_a.minutes + shipped.stage_b.minutes <= 8.5
    with torch.device("meta"):
        model = pretrain.build_model(shipped.model, shipped.vocab_size, 0, 1, 2)
    # 40 MB on disk as fp16 is 20M parameters; tied embeddings count once.
    assert sum(p.numel() for p in model.parameters()) * 2 <= 40_000_000
