"""Train DocuCode-small from scratch: BPE tokenizer, code LM (stage A), prompt -> completion SFT (stage B).

The data directory holds the miner's output: ``code.jsonl`` ({"package", "code"}) for
stage A, ``train.jsonl`` and ``validation.jsonl`` ({"prompt", "code_snippet",
"completion", "task", ...}) for stage B, which trains on every record of both tasks
(docstrings and inline comments) mixed in one shuffled stream. The result is a standard
HF model directory (fp16 safetensors in small shards, tokenizer, ``training_log.json``).

Commands::

    # CPU smoke run, seconds
    python -m train.pretrain --config train/configs/pretrain-tiny.yaml --data tests/samples --out runs/tiny

    # The shipped default, on one H100 (about 8 minutes of training)
    PYTHONUNBUFFERED=1 python -m train.pretrain --config train/configs/pretrain.yaml \\
        --data data/ --out runs/docucode-small

    # Other time budgets per stage
    python -m train.pretrain --config train/configs/pretrain.yaml --minutes-a 10 --minutes-b 5
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docucode_hook.prompt import DOCSTRING_TASK
from train.data import (
    DataError,
    collate_sft,
    corpus_texts,
    encode_sft,
    length_buckets,
    pack_corpus,
    read_jsonl,
    sample_windows,
    train_tokenizer,
)

if TYPE_CHECKING:
    import torch
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "pretrain.yaml"
SFT_FIELDS = ("prompt", "code_snippet", "completion")


class ConfigError(ValueError):
    """The YAML config is unreadable or names unknown options."""


@dataclass(frozen=True)
class ModelArgs:
    hidden_size: int = 384
    num_layers: int = 8
    num_heads: int = 6
    num_kv_heads: int = 6
    intermediate_size: int = 1024
    max_len: int = 512  # positions; also the SFT length cap


@dataclass(frozen=True)
class StageArgs:
    """One training stage; it stops at ``minutes`` or ``max_steps``, whichever comes first."""

    minutes: float | None = None
    max_steps: int | None = None
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    batch_tokens: int = 65536  # per optimizer step, padding included
    seq_len: int = 512  # stage A window; stage B length cap
    log_every: int = 50
    eval_batches: int = 20
    # Validate every N steps and end the stage with the best weights seen (0: no early stopping).
    # A 19M model memorises ~30M tokens within a few epochs: the first GPU run's SFT validation
    # loss rose from 5.1 to 6.2 while its training loss fell to 0.01.
    eval_every: int = 0


@dataclass(frozen=True)
class PretrainArgs:
    data: str = "data"
    out: str = "runs/docucode-small"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    cpu_threads: int | None = None  # torch's default otherwise; 1 avoids OpenMP spinning on busy CPUs
    vocab_size: int = 12288
    tokenizer_min_frequency: int = 2
    tokenizer_max_texts: int = 200_000  # BPE merges settle long before the whole corpus
    compile: bool = False
    max_shard_size: str = "15MB"
    val_fraction: float = 0.01  # tail of the code token stream held out for stage A's loss
    # Learning curve: stage B again from the same stage-A weights on each fraction of the SFT
    # records (seeded sample), for a time budget scaled the same way, saved to out/curve-<f>/.
    curve_fractions: tuple[float, ...] = ()
    model: ModelArgs = field(default_factory=ModelArgs)
    stage_a: StageArgs = field(default_factory=StageArgs)
    stage_b: StageArgs = field(default_factory=StageArgs)


def _dataclass_from(cls: type, mapping: Any, where: str) -> Any:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}")
    return cls(**mapping)


def load_args(path: Path) -> PretrainArgs:
    """Read a YAML config into ``PretrainArgs``; missing options keep their defaults."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    nested = {"model": ModelArgs, "stage_a": StageArgs, "stage_b": StageArgs}
    parts = {key: _dataclass_from(cls, raw.get(key, {}), f"{path}: {key}") for key, cls in nested.items()}
    top = {key: value for key, value in raw.items() if key not in nested}
    args = replace(_dataclass_from(PretrainArgs, top, str(path)), **parts)
    args = replace(args, curve_fractions=tuple(float(f) for f in args.curve_fractions))
    if any(not 0 < f < 1 for f in args.curve_fractions):
        raise ConfigError(f"{path}: curve_fractions must lie between 0 and 1 (the full set is the main run)")
    for name in ("stage_a", "stage_b"):
        stage = getattr(args, name)
        if stage.minutes is None and stage.max_steps is None:
            raise ConfigError(f"{path}: {name} needs minutes or max_steps")
    return args


def resolve_device(name: str) -> torch.device:
    """``auto`` means CUDA when there is one, else the CPU."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def build_tokenizer(args: PretrainArgs, code: list[str], train: list[dict[str, Any]]) -> PreTrainedTokenizerFast:
    """BPE on the code corpus and the training docstrings, sampled down to ``tokenizer_max_texts``."""
    texts = code + [record["completion"] for record in train]
    if len(texts) > args.tokenizer_max_texts:
        texts = random.Random(args.seed).sample(texts, args.tokenizer_max_texts)
    tokenizer = train_tokenizer(texts, args.vocab_size, args.tokenizer_min_frequency)
    tokenizer.model_max_length = args.model.max_len
    return tokenizer


def build_model(args: ModelArgs, vocab_size: int, bos_id: int, eos_id: int, pad_id: int) -> LlamaForCausalLM:
    """A Llama with tied embeddings, so PEFT, bitsandbytes and from_pretrained treat it as any base."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        # Embedding rows in a multiple of 64 keep the output projection on fast matmul shapes.
        vocab_size=-(-vocab_size // 64) * 64,
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.num_layers,
        num_attention_heads=args.num_heads,
        num_key_value_heads=args.num_kv_heads,
        max_position_embeddings=args.max_len,
        tie_word_embeddings=True,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        attn_implementation="sdpa",
    )
    return LlamaForCausalLM(config)


@dataclass
class StageLog:
    name: str
    steps: int = 0
    tokens: int = 0
    first_step_s: float = 0.0  # includes torch.compile, excluded from the budget
    wall_s: float = 0.0
    tokens_per_s: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)
    val_loss_before: float | None = None
    val_loss: float | None = None
    val_curve: list[dict[str, float]] = field(default_factory=list)
    best_step: int | None = None


def _lr_at(stage: StageArgs, step: int, progress: float) -> float:
    """Linear warmup by steps, then cosine decay to ``min_lr_ratio`` by budget progress."""
    if step < stage.warmup_steps:
        return stage.lr * (step + 1) / stage.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return stage.lr * (stage.min_lr_ratio + (1 - stage.min_lr_ratio) * cosine)


def _progress(stage: StageArgs, step: int, elapsed: float) -> float:
    by_steps = step / stage.max_steps if stage.max_steps else 0.0
    by_time = elapsed / (stage.minutes * 60) if stage.minutes else 0.0
    return max(by_steps, by_time)


def make_optimizer(model: torch.nn.Module, stage: StageArgs, device: torch.device) -> torch.optim.Optimizer:
    """AdamW, fused on CUDA, with weight decay on matrices only."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    # Norm gains stay undecayed; matrices (embeddings included) get weight decay.
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": stage.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=stage.lr, betas=(0.9, 0.95), fused=device.type == "cuda")


def causal_lm_loss(model: torch.nn.Module, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of already shifted ``labels`` (-100 ignored), computed in fp32."""
    import torch.nn.functional as F

    logits = model(input_ids=input_ids, use_cache=False).logits
    return F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)


def train_stage(
    name: str,
    model: torch.nn.Module,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor, int]],
    stage: StageArgs,
    device: torch.device,
    validate: Callable[[], float] | None = None,
) -> StageLog:
    """Run one stage's optimizer loop on ``(input_ids, labels, real_tokens)`` batches.

    With ``validate`` and ``stage.eval_every``, the weights with the lowest validation loss
    are restored at the end (early stopping by checkpoint, kept on the device).
    """
    import torch

    log = StageLog(name)
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    optimizer = make_optimizer(model, stage, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    model.train()
    loss_sum = torch.zeros((), device=device)
    window_tokens, start, window_start = 0, time.perf_counter(), time.perf_counter()
    while True:
        progress = _progress(stage, log.steps, time.perf_counter() - start)
        if progress >= 1.0:
            break
        lr = _lr_at(stage, log.steps, progress)
        for group in optimizer.param_groups:
            group["lr"] = lr
        input_ids, labels, real_tokens = next(batches)
        with autocast:
            loss = causal_lm_loss(model, input_ids, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), stage.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_sum += loss.detach()
        log.steps += 1
        log.tokens += real_tokens
        window_tokens += real_tokens
        if log.steps == 1:
            # CPU-GPU sync: the first step carries compilation; the budget clock starts after it.
            loss.item()
            log.first_step_s = time.perf_counter() - start
            start = window_start = time.perf_counter()
            loss_sum.zero_()
            window_tokens = 0
            continue
        if log.steps % stage.log_every == 0:
            mean_loss = loss_sum.item() / stage.log_every  # CPU-GPU sync, once per window
            now = time.perf_counter()
            point = {
                "step": log.steps,
                "loss": round(mean_loss, 4),
                "lr": lr,
                "tokens_per_s": round(window_tokens / (now - window_start)),
                "elapsed_s": round(now - start, 2),
            }
            log.curve.append(point)
            print(f"[{name}] step {log.steps} loss {mean_loss:.4f} lr {lr:.2e} "
                  f"tok/s {point['tokens_per_s']:,} elapsed {point['elapsed_s']}s", flush=True)
            loss_sum.zero_()
            window_tokens, window_start = 0, now
        if validate is not None and stage.eval_every and log.steps % stage.eval_every == 0:
            val = validate()
            log.val_curve.append({"step": log.steps, "val_loss": val})
            print(f"[{name}] step {log.steps} validation loss {val:.4f}", flush=True)
            if best is None or val < best[0]:
                best = (val, log.steps, {k: v.detach().clone() for k, v in model.state_dict().items()})
    if best is not None:
        model.load_state_dict(best[2])
        log.best_step = best[1]
        print(f"[{name}] restored the best weights, step {best[1]} (validation loss {best[0]:.4f})", flush=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    log.wall_s = round(time.perf_counter() - start, 2)
    log.tokens_per_s = round(log.tokens / max(log.wall_s, 1e-9))
    return log


def code_batches(
    tokens: torch.Tensor, stage: StageArgs, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """Endless random windows of ``stage.seq_len`` tokens, ``stage.batch_tokens`` a batch."""
    import torch

    generator = torch.Generator(device=tokens.device).manual_seed(seed)
    batch_size = max(1, stage.batch_tokens // stage.seq_len)
    while True:
        inputs, targets = sample_windows(tokens, batch_size, stage.seq_len, generator)
        yield inputs, targets, inputs.numel()


def sft_batches(
    prepared: list[tuple[torch.Tensor, torch.Tensor, int]], seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """Endless epochs over the prepared batches, each epoch in a new random order."""
    rng = random.Random(seed)
    while True:
        order = list(range(len(prepared)))
        rng.shuffle(order)
        for index in order:
            yield prepared[index]


def prepare_sft(
    tokenizer: PreTrainedTokenizerFast, records: list[dict[str, Any]], stage: StageArgs, device: torch.device, seed: int
) -> tuple[list[tuple[torch.Tensor, torch.Tensor, int]], int, int]:
    """Length-bucketed, padded batches, moved to the device once; returns (batches, kept, dropped)."""
    examples, dropped = encode_sft(tokenizer, records, stage.seq_len)
    if not examples:
        raise DataError(f"no SFT example fits in seq_len {stage.seq_len}")
    prepared = []
    for batch in length_buckets(examples, stage.batch_tokens, random.Random(seed)):
        input_ids, labels = collate_sft(batch, tokenizer.pad_token_id)
        real = sum(len(example.input_ids) for example in batch)
        prepared.append((input_ids.to(device), labels.to(device), real))
    return prepared, len(examples), dropped


def evaluate(
    model: torch.nn.Module, batches: Sequence[tuple[torch.Tensor, torch.Tensor, int]], device: torch.device
) -> float:
    """Token-weighted mean loss over ``batches`` (only labelled tokens count)."""
    import torch
    import torch.nn.functional as F

    model.eval()
    total = torch.zeros((), device=device, dtype=torch.float64)
    count = torch.zeros((), device=device, dtype=torch.float64)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    with torch.no_grad(), autocast:
        for input_ids, labels, _ in batches:
            logits = model(input_ids=input_ids, use_cache=False).logits
            losses = F.cross_entropy(
                logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100, reduction="sum"
            )
            total += losses
            count += (labels != -100).sum()
    model.train()
    return round((total / count.clamp(min=1)).item(), 4)


def split_tokens(flat: Any, args: PretrainArgs, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Training and held-out token streams on the device (int32: indexable everywhere)."""
    import numpy as np
    import torch

    seq_len = args.stage_a.seq_len
    held = max(int(len(flat) * args.val_fraction), seq_len + 2)
    if len(flat) - held < 2 * seq_len:
        raise DataError(f"{args.data}/code.jsonl: {len(flat)} tokens is too few for seq_len {seq_len}")
    as_tensor = torch.from_numpy(flat.astype(np.int32))
    return as_tensor[:-held].to(device), as_tensor[-held:].to(device)


def save_model(
    model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, out: Path, max_shard_size: str
) -> int:
    """fp16 safetensors shards + tokenizer; returns the bytes written for the weights.

    An fp16 copy is saved: the learning curve goes on training the model it was given.
    """
    import copy

    import torch

    out.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(model).to(torch.float16)
    model.config.dtype = torch.float16
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, max_shard_size=max_shard_size)
    tokenizer.save_pretrained(out)
    return sum(path.stat().st_size for path in out.glob("*.safetensors"))


def run(args: PretrainArgs) -> dict[str, Any]:
    """Tokenizer, stage A, stage B, save; returns the training log (also written as JSON)."""
    import torch
    import transformers

    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    if device.type == "cpu" and args.cpu_threads:
        torch.set_num_threads(args.cpu_threads)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    data, out = Path(args.data), Path(args.out)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    code, train_records = corpus_texts(data)
    val_records = read_jsonl(data / "validation.jsonl", required=SFT_FIELDS)
    tokenizer = build_tokenizer(args, code, train_records)
    timings["tokenizer_s"] = round(time.perf_counter() - started, 2)
    print(f"tokenizer: {len(tokenizer)} tokens in {timings['tokenizer_s']}s", flush=True)

    mark = time.perf_counter()
    flat = pack_corpus(tokenizer, code)
    train_tokens, held_tokens = split_tokens(flat, args, device)
    timings["pack_code_s"] = round(time.perf_counter() - mark, 2)
    print(f"code corpus: {len(code)} texts, {len(flat):,} tokens in {timings['pack_code_s']}s", flush=True)

    special = (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id)
    model = build_model(args.model, len(tokenizer), *special).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters on {device}", flush=True)
    compiled = torch.compile(model) if args.compile else model

    held_batches = list(_take(code_batches(held_tokens, args.stage_a, args.seed + 1), args.stage_a.eval_batches))
    stage_a = train_stage(
        "A", compiled, code_batches(train_tokens, args.stage_a, args.seed), args.stage_a, device,
        validate=lambda: evaluate(model, held_batches, device),
    )
    stage_a.val_loss = evaluate(model, held_batches, device)
    print(f"[A] held-out code loss {stage_a.val_loss}", flush=True)

    mark = time.perf_counter()
    sft_train, kept, dropped = prepare_sft(tokenizer, train_records, args.stage_b, device, args.seed)
    sft_val, val_kept, val_dropped = prepare_sft(tokenizer, val_records, args.stage_b, device, args.seed)
    timings["prepare_sft_s"] = round(time.perf_counter() - mark, 2)
    curve = learning_curve(args, model, compiled, tokenizer, train_records, sft_val, device, out)
    tasks = dict(Counter(record.get("task", DOCSTRING_TASK) for record in train_records))
    print(
        f"sft: {kept} train examples ({dropped} dropped; records by task {tasks}), "
        f"{val_kept} validation ({val_dropped} dropped)",
        flush=True,
    )
    val_before = evaluate(model, sft_val, device)
    stage_b = train_stage(
        "B", compiled, sft_batches(sft_train, args.seed), args.stage_b, device,
        validate=lambda: evaluate(model, sft_val, device),
    )
    stage_b.val_loss_before = val_before
    stage_b.val_loss = evaluate(model, sft_val, device)
    print(f"[B] validation loss {val_before} -> {stage_b.val_loss}", flush=True)

    weight_bytes = save_model(model, tokenizer, out, args.max_shard_size)
    timings["total_s"] = round(time.perf_counter() - started, 2)
    log = {
        "config": asdict(args),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "parameters": n_params,
        "weight_bytes": weight_bytes,
        "vocab": len(tokenizer),
        "code_texts": len(code),
        "code_tokens": int(len(flat)),
        "sft": {
            "train": kept,
            "train_dropped": dropped,
            "train_records_by_task": tasks,
            "validation": val_kept,
            "validation_dropped": val_dropped,
        },
        "timings": timings,
        "stages": [asdict(stage_a), asdict(stage_b)],
        "learning_curve": curve,
    }
    (out / "training_log.json").write_text(json.dumps(log, indent=2) + "\n", encoding="utf-8")
    print(f"saved {out} ({weight_bytes / 1e6:.1f} MB of weights) in {timings['total_s']}s", flush=True)
    return log


def learning_curve(
    args: PretrainArgs,
    model: LlamaForCausalLM,
    compiled: torch.nn.Module,
    tokenizer: PreTrainedTokenizerFast,
    train_records: list[dict[str, Any]],
    sft_val: list[tuple[torch.Tensor, torch.Tensor, int]],
    device: torch.device,
    out: Path,
) -> list[dict[str, Any]]:
    """Stage B on each of ``args.curve_fractions`` of the records; the model is left as it came."""
    if not args.curve_fractions:
        return []
    stage_a_weights = {key: value.detach().clone() for key, value in model.state_dict().items()}
    points = []
    for fraction in args.curve_fractions:
        records = random.Random(args.seed).sample(train_records, max(1, round(fraction * len(train_records))))
        stage = replace(args.stage_b, minutes=args.stage_b.minutes * fraction if args.stage_b.minutes else None)
        batches, kept, _ = prepare_sft(tokenizer, records, stage, device, args.seed)
        before = evaluate(model, sft_val, device)
        log = train_stage(f"B{fraction:g}", compiled, sft_batches(batches, args.seed), stage, device,
                          validate=lambda: evaluate(model, sft_val, device))
        save_model(model, tokenizer, out / f"curve-{fraction:g}", args.max_shard_size)
        points.append({"fraction": fraction, "records": len(records), "examples": kept, "minutes": stage.minutes,
                       "steps": log.steps, "tokens": log.tokens, "val_loss_before": before,
                       "val_loss": evaluate(model, sft_val, device)})
        print(f"[curve] {fraction:g} of the SFT records: validation loss {points[-1]['val_loss']}", flush=True)
        model.load_state_dict(stage_a_weights)
    return points


def _take(iterator: Iterator[Any], count: int) -> Iterator[Any]:
    for _ in range(count):
        yield next(iterator)


def parse_args(argv: Sequence[str] | None) -> PretrainArgs:
    """The YAML config, with the command line's options on top."""
    parser = argparse.ArgumentParser(prog="python -m train.pretrain", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="YAML config (default: %(default)s)")
    parser.add_argument("--data", help="directory with code.jsonl, train.jsonl, validation.jsonl")
    parser.add_argument("--out", help="output model directory")
    parser.add_argument("--minutes-a", type=float, help="time budget of stage A (code LM)")
    parser.add_argument("--minutes-b", type=float, help="time budget of stage B (SFT)")
    parser.add_argument("--device", help="auto | cpu | cuda")
    parser.add_argument("--curve-fractions", help="comma list, e.g. 0.125,0.25,0.5: learning-curve runs of stage B")
    cli = parser.parse_args(argv)
    try:
        args = load_args(cli.config)
    except ConfigError as exc:
        parser.error(str(exc))
    overrides = {key: getattr(cli, key) for key in ("data", "out", "device") if getattr(cli, key) is not None}
    if cli.minutes_a is not None:
        overrides["stage_a"] = replace(args.stage_a, minutes=cli.minutes_a)
    if cli.minutes_b is not None:
        overrides["stage_b"] = replace(args.stage_b, minutes=cli.minutes_b)
    if cli.curve_fractions:
        overrides["curve_fractions"] = tuple(float(f) for f in cli.curve_fractions.split(","))
    return replace(args, **overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Train and save; 2 on a config or data error (one line naming the file)."""
    args = parse_args(argv)
    try:
        run(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
