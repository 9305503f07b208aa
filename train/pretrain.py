"""Train DocuCode-small from scratch: BPE tokenizer, code LM (stage A), prompt -> completion SFT (stage B).

Two inputs. ``--shards DIR``: the ``part-K/`` folders of ``train.shards`` (every token already
encoded with the tokenizer that part-0 carries; v3). ``--data DIR``: the miner's JSONL,
``code.jsonl`` ({"package", "code"}) for stage A, ``train.jsonl`` and ``validation.jsonl``
({"prompt", "code_snippet", "completion", "task", ...}) for stage B, with a BPE tokenizer
trained here. Stage B trains on every record of both tasks (docstrings and inline comments)
mixed in one shuffled stream. The result is a standard HF model directory (fp16 safetensors
in small shards, tokenizer, ``training_log.json``).

A run checkpoints to ``out/checkpoint/`` every ``checkpoint_minutes`` and at each stage's end;
``--stop-after M`` saves and exits after M minutes of wall time, and ``--resume`` goes on from
the checkpoint, so a run longer than one GPU command spans several. Stage budgets are
summed over the calls (the first step of each call, which compiles, is not counted).

Commands::

    # CPU smoke run, seconds
    python -m train.pretrain --config train/configs/pretrain-tiny.yaml --data tests/samples --out runs/tiny

    # v3 on one H200: two calls of at most 10 minutes (train/device_v3.sh has the whole sequence)
    python -m train.pretrain --config train/configs/pretrain-v3.yaml --shards /root/v3 --out /root/v3-run \
        --stop-after 8.5
    python -m train.pretrain --config train/configs/pretrain-v3.yaml --shards /root/v3 --out /root/v3-run \
        --resume --stop-after 8.5

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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docucode_hook.backends.prompt import DOCSTRING_TASK
from train.args import ArgsError, arg, load_config
from train.args import parse_args as parse_typed_args
from train.data import (
    DataError,
    SftExample,
    collate_sft,
    corpus_texts,
    encode_sft,
    length_buckets,
    pack_corpus,
    read_jsonl,
    sample_windows,
    train_tokenizer,
)
from train.shards import find_manifest, load_shards

if TYPE_CHECKING:
    import torch
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "pretrain.yaml"
SFT_FIELDS = ("prompt", "code_snippet", "completion")


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
    shards: str | None = None  # train.shards parts instead of data's JSONL (tokenizer included)
    out: str = "runs/docucode-small"
    checkpoint_minutes: float = 2.0  # out/checkpoint/state.pt this often, and at each stage's end
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    cpu_threads: int | None = None  # torch's default otherwise; 1 avoids OpenMP spinning on busy CPUs
    vocab_size: int = 12288
    tokenizer_min_frequency: int = 2
    tokenizer_max_texts: int = 200_000  # BPE merges settle long before the whole corpus
    compile: bool = False
    max_shard_size: str = "15MB"
    val_fraction: float = 0.01  # tail of the code token stream held out for stage A's loss (--data)
    # Stage B validates on at most this many examples (the shards' order is already seeded random):
    # v3's 17k validation records would cost a tenth of stage B at every evaluation.
    sft_eval_examples: int | None = None
    # Learning curve: stage B again from the same stage-A weights on each fraction of the SFT
    # examples (seeded sample), for a time budget scaled the same way, saved to out/curve-<f>/,
    # after the main stage B.
    curve_fractions: tuple[float, ...] = ()
    model: ModelArgs = field(default_factory=ModelArgs)
    stage_a: StageArgs = field(default_factory=StageArgs)
    stage_b: StageArgs = field(default_factory=StageArgs)


def _fractions(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of numbers like 0.125,0.25 (got {text!r})") from None


@dataclass(frozen=True)
class RunFlags:
    """The command line: the config file, the options it may override, and the run control."""

    config: Path = arg(DEFAULT_CONFIG, help="YAML config")
    data: str | None = arg(None, help="directory with code.jsonl, train.jsonl, validation.jsonl")
    shards: str | None = arg(None, help="directory with the part-K/ folders of train.shards (instead of --data)")
    out: str | None = arg(None, help="output model directory (its checkpoint/ holds the resumable state)")
    resume: bool = arg(False, help="go on from out/checkpoint/state.pt")
    stop_after: float | None = arg(None, metavar="MINUTES",
                                   help="checkpoint and exit after this much wall time (resume with --resume)")
    minutes_a: float | None = arg(None, help="time budget of stage A (code LM)")
    minutes_b: float | None = arg(None, help="time budget of stage B (SFT)")
    device: str | None = arg(None, help="auto | cpu | cuda")
    curve_fractions: tuple[float, ...] | None = arg(None, parse=_fractions,
                                                    help="comma list, e.g. 0.125,0.25,0.5: learning-curve runs of stage B")


def load_args(path: Path) -> PretrainArgs:
    """Read a YAML config into ``PretrainArgs``; missing options keep their defaults.

    Raises:
        ArgsError: the file is unreadable, names an unknown option or leaves a stage without a budget.
    """
    args = load_config(PretrainArgs, path)
    if any(not 0 < f < 1 for f in args.curve_fractions):
        raise ArgsError(f"{path}: curve_fractions must lie between 0 and 1 (the full set is the main run)")
    for name in ("stage_a", "stage_b"):
        stage = getattr(args, name)
        if stage.minutes is None and stage.max_steps is None:
            raise ArgsError(f"{path}: {name} needs minutes or max_steps")
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


@dataclass
class StageState:
    """Where a stage stands: enough to continue it in another process (a checkpoint holds it)."""

    log: StageLog
    elapsed_s: float = 0.0  # budget seconds spent by earlier calls
    best_loss: float | None = None
    best_step: int | None = None
    best_weights: dict[str, Any] | None = None  # on the device while training; on the CPU in a checkpoint


def train_stage(
    model: torch.nn.Module,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor, int]],
    stage: StageArgs,
    device: torch.device,
    optimizer: torch.optim.Optimizer,
    state: StageState,
    validate: Callable[[], float] | None = None,
    should_stop: Callable[[int], bool] | None = None,
    checkpoint: Callable[[], None] | None = None,
    checkpoint_every_s: float = 120.0,
) -> bool:
    """Run one stage's optimizer loop on ``(input_ids, labels, real_tokens)`` batches.

    The stage ends when ``stage.minutes`` (summed over calls, the first step of each call
    excluded: it carries ``torch.compile``) or ``stage.max_steps`` run out, and then the
    weights with the lowest validation loss are restored (early stopping by checkpoint,
    kept on the device). It returns False, after a last ``checkpoint()``, as soon as
    ``should_stop(steps)`` says so (the call's wall-time limit); ``checkpoint()`` is also
    called every ``checkpoint_every_s`` seconds.
    """
    import torch

    log = state.log
    plain = getattr(model, "_orig_mod", model)  # state dicts without torch.compile's key prefix
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    model.train()
    loss_sum = torch.zeros((), device=device)
    first_step = log.steps + 1
    clock: float | None = None  # budget clock of this call: starts after its first step
    window_tokens, window_start = 0, time.perf_counter()
    last_checkpoint = time.perf_counter()

    def elapsed() -> float:
        return state.elapsed_s + (time.perf_counter() - clock if clock is not None else 0.0)

    def save() -> None:
        nonlocal clock, last_checkpoint
        state.elapsed_s = elapsed()
        if checkpoint is not None:
            checkpoint()
        # Saving is not training: the budget clock skips it.
        last_checkpoint = time.perf_counter()
        clock = last_checkpoint if clock is not None else None

    while True:
        progress = _progress(stage, log.steps, elapsed())
        if progress >= 1.0:
            break
        if should_stop is not None and should_stop(log.steps):
            save()
            return False
        if checkpoint is not None and time.perf_counter() - last_checkpoint >= checkpoint_every_s:
            save()
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
        if log.steps == first_step:
            # CPU-GPU sync: the first step of a call carries compilation; the budget clock starts after it.
            loss.item()
            log.first_step_s = round(time.perf_counter() - window_start, 2)
            clock = window_start = time.perf_counter()
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
                "elapsed_s": round(elapsed(), 2),
            }
            log.curve.append(point)
            print(f"[{log.name}] step {log.steps} loss {mean_loss:.4f} lr {lr:.2e} "
                  f"tok/s {point['tokens_per_s']:,} elapsed {point['elapsed_s']}s", flush=True)
            loss_sum.zero_()
            window_tokens, window_start = 0, now
        if validate is not None and stage.eval_every and log.steps % stage.eval_every == 0:
            val = validate()
            log.val_curve.append({"step": log.steps, "val_loss": val})
            print(f"[{log.name}] step {log.steps} validation loss {val:.4f}", flush=True)
            if state.best_loss is None or val < state.best_loss:
                state.best_loss, state.best_step = val, log.steps
                state.best_weights = {k: v.detach().clone() for k, v in plain.state_dict().items()}
    if state.best_weights is not None:
        plain.load_state_dict(state.best_weights)
        log.best_step = state.best_step
        print(f"[{log.name}] restored the best weights, step {state.best_step} "
              f"(validation loss {state.best_loss:.4f})", flush=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    state.elapsed_s = elapsed()
    log.wall_s = round(state.elapsed_s, 2)
    log.tokens_per_s = round(log.tokens / max(log.wall_s, 1e-9))
    return True


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
    examples: list[SftExample], stage: StageArgs, pad_id: int, device: torch.device, seed: int
) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    """Length-bucketed, padded batches of the examples within ``stage.seq_len``, moved to the device once."""
    fitting = [example for example in examples if len(example.input_ids) <= stage.seq_len]
    if not fitting:
        raise DataError(f"no SFT example fits in seq_len {stage.seq_len}")
    prepared = []
    for batch in length_buckets(fitting, stage.batch_tokens, random.Random(seed)):
        input_ids, labels = collate_sft(batch, pad_id)
        real = sum(len(example.input_ids) for example in batch)
        prepared.append((input_ids.to(device), labels.to(device), real))
    return prepared


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


# --------------------------------------------------------------------------- data


@dataclass
class Prepared:
    """The tokenizer and every token a run trains and validates on."""

    tokenizer: PreTrainedTokenizerFast
    code_train: torch.Tensor
    code_held: torch.Tensor
    sft_train: list[SftExample]
    sft_validation: list[SftExample]
    info: dict[str, Any]


def prepare_jsonl(args: PretrainArgs, device: torch.device, tokenizer_dir: Path) -> Prepared:
    """Mined JSONL: BPE trained here (or read back from ``tokenizer_dir`` when resuming), all encoded here."""
    from transformers import PreTrainedTokenizerFast

    data = Path(args.data)
    code, train_records = corpus_texts(data)
    val_records = read_jsonl(data / "validation.jsonl", required=SFT_FIELDS)
    started = time.perf_counter()
    if (tokenizer_dir / "tokenizer.json").is_file():
        tokenizer = PreTrainedTokenizerFast.from_pretrained(str(tokenizer_dir))
    else:
        tokenizer = build_tokenizer(args, code, train_records)
    print(f"tokenizer: {len(tokenizer)} tokens in {time.perf_counter() - started:.1f}s", flush=True)
    flat = pack_corpus(tokenizer, code)
    code_train, code_held = split_tokens(flat, args, device)
    sft_train, dropped = encode_sft(tokenizer, train_records, args.stage_b.seq_len)
    sft_validation, val_dropped = encode_sft(tokenizer, val_records, args.stage_b.seq_len)
    info = {
        "code_texts": len(code),
        "code_tokens": int(len(flat)),
        "sft": {
            "train": len(sft_train),
            "train_dropped": dropped,
            "train_records_by_task": dict(Counter(r.get("task", DOCSTRING_TASK) for r in train_records)),
            "validation": len(sft_validation),
            "validation_dropped": val_dropped,
        },
    }
    return Prepared(tokenizer, code_train, code_held, sft_train, sft_validation, info)


def prepare_shards(args: PretrainArgs, device: torch.device) -> Prepared:
    """``train.shards`` parts: every token already encoded, the tokenizer taken from part-0."""
    import numpy as np
    import torch
    from transformers import PreTrainedTokenizerFast

    started = time.perf_counter()
    shards = load_shards(Path(args.shards))
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(shards.tokenizer_dir))
    tokenizer.model_max_length = args.model.max_len
    code_train = torch.from_numpy(shards.a_train.astype(np.int32)).to(device)
    code_held = torch.from_numpy(shards.a_validation.astype(np.int32)).to(device)
    if len(code_held) < args.stage_a.seq_len + 2:
        raise DataError(f"{args.shards}: {len(code_held)} stage-A validation tokens is too few for seq_len "
                        f"{args.stage_a.seq_len}")
    manifest = json.loads(find_manifest(Path(args.shards)).read_text(encoding="utf-8"))
    info = {
        "shards": {key: manifest[key] for key in ("totals", "counts", "bytes_per_token")},
        "code_tokens": int(len(code_train)),
        "sft": {"train": len(shards.b_train), "validation": len(shards.b_validation)},
    }
    print(f"shards: {len(code_train):,} stage-A tokens, {len(shards.b_train):,} SFT examples, "
          f"read in {time.perf_counter() - started:.1f}s", flush=True)
    return Prepared(tokenizer, code_train, code_held, shards.b_train, shards.b_validation, info)


# --------------------------------------------------------------------------- checkpoints


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a call killed while saving keeps the previous checkpoint."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(payload, partial)
    partial.replace(path)


def _cpu(weights: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if weights is None else {k: v.detach().cpu() for k, v in weights.items()}


def _state_payload(state: StageState) -> dict[str, Any]:
    return {"log": asdict(state.log), "elapsed_s": state.elapsed_s, "best_loss": state.best_loss,
            "best_step": state.best_step, "best_weights": _cpu(state.best_weights)}


def _state_from(payload: dict[str, Any], device: torch.device) -> StageState:
    weights = payload["best_weights"]
    return StageState(
        StageLog(**payload["log"]), payload["elapsed_s"], payload["best_loss"], payload["best_step"],
        None if weights is None else {k: v.to(device) for k, v in weights.items()},
    )


# --------------------------------------------------------------------------- the run


def run(
    args: PretrainArgs,
    resume: bool = False,
    stop_after_minutes: float | None = None,
    stop_when: Callable[[str, int], bool] | None = None,
) -> dict[str, Any]:
    """Stage A, stage B, save, then the learning curve; returns the training log.

    Checkpoints (``out/checkpoint/state.pt``: phase, model, optimizer, stage progress, best
    weights, logs) are written every ``args.checkpoint_minutes`` and at each stage's end; with
    ``resume`` the run goes on from the last one. With ``stop_after_minutes`` the call saves
    and returns (``log["finished"]`` False) once that much wall time has passed, or once
    ``stop_when(stage, steps)`` is true.
    """
    import torch
    import transformers

    started = time.perf_counter()
    deadline = started + stop_after_minutes * 60 if stop_after_minutes else None
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    if device.type == "cpu" and args.cpu_threads:
        torch.set_num_threads(args.cpu_threads)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    out = Path(args.out)
    checkpoint_dir = out / "checkpoint"
    state_path = checkpoint_dir / "state.pt"
    saved: dict[str, Any] = {}
    if resume:
        if not state_path.is_file():
            raise DataError(f"{state_path}: no checkpoint to resume from")
        saved = torch.load(state_path, map_location="cpu", weights_only=False)
        print(f"resuming at phase {saved['phase']}", flush=True)

    prepared = prepare_shards(args, device) if args.shards else prepare_jsonl(args, device, checkpoint_dir / "tokenizer")
    tokenizer = prepared.tokenizer
    tokenizer.save_pretrained(str(checkpoint_dir / "tokenizer"))
    special = (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id)
    model = build_model(args.model, len(tokenizer), *special).to(device)
    if saved:
        model.load_state_dict(saved["model"])
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters on {device}", flush=True)
    compiled = torch.compile(model) if args.compile else model

    held_batches = list(_take(code_batches(prepared.code_held, args.stage_a, args.seed + 1), args.stage_a.eval_batches))
    sft_val = prepare_sft(prepared.sft_validation[: args.sft_eval_examples], args.stage_b, tokenizer.pad_token_id,
                          device, args.seed)
    phase = saved.get("phase", "A")
    logs: dict[str, Any] = saved.get("logs", {"calls": [], "curve": []})
    call = {"from_phase": phase, "seconds": 0.0}
    logs["calls"].append(call)

    def save(next_phase: str, state: StageState | None = None, optimizer: Any = None) -> None:
        call["seconds"] = round(time.perf_counter() - started, 1)
        _save_checkpoint(state_path, {
            "phase": next_phase, "model": _cpu(model.state_dict()), "logs": logs,
            "state": None if state is None else _state_payload(state),
            "optimizer": None if optimizer is None else optimizer.state_dict(),
        })  # fmt: skip
        print(f"checkpoint: phase {next_phase}" + (f", step {state.log.steps}" if state else ""), flush=True)

    def stage_run(name: str, stage: StageArgs, batches: Iterator[Any], validate: Callable[[], float]) -> StageState | None:
        optimizer = make_optimizer(model, stage, device)
        state = StageState(StageLog(name))
        if saved.get("phase") == name and saved.get("state"):
            state = _state_from(saved["state"], device)
            optimizer.load_state_dict(saved["optimizer"])
        def should_stop(steps: int) -> bool:
            late = deadline is not None and time.perf_counter() >= deadline
            return late or (stop_when is not None and stop_when(name, steps))

        finished = train_stage(compiled, batches, stage, device, optimizer, state, validate, should_stop,
                               lambda: save(name, state, optimizer), args.checkpoint_minutes * 60)
        return state if finished else None

    def stopped() -> dict[str, Any]:
        print(f"stopped after {time.perf_counter() - started:.0f}s at phase {phase}: "
              "run again with --resume", flush=True)
        return {**logs, "finished": False}

    if phase == "A":
        steps_done = saved["state"]["log"]["steps"] if saved.get("state") else 0
        state = stage_run("A", args.stage_a, code_batches(prepared.code_train, args.stage_a, args.seed + steps_done),
                          lambda: evaluate(model, held_batches, device))
        if state is None:
            return stopped()
        state.log.val_loss = evaluate(model, held_batches, device)
        print(f"[A] held-out code loss {state.log.val_loss}", flush=True)
        logs["A"] = asdict(state.log)
        torch.save(_cpu(model.state_dict()), checkpoint_dir / "stage_a.pt")  # the learning curve starts here
        phase, saved = "B", {}
        save(phase)

    sft_train = prepare_sft(prepared.sft_train, args.stage_b, tokenizer.pad_token_id, device, args.seed)
    print(f"sft: {len(prepared.sft_train)} train examples in {len(sft_train)} batches, "
          f"{len(prepared.sft_validation)} validation", flush=True)
    if phase == "B":
        if "B_before" not in logs:
            logs["B_before"] = evaluate(model, sft_val, device)
        steps_done = saved["state"]["log"]["steps"] if saved.get("state") else 0
        state = stage_run("B", args.stage_b, sft_batches(sft_train, args.seed + steps_done),
                          lambda: evaluate(model, sft_val, device))
        if state is None:
            return stopped()
        state.log.val_loss_before = logs["B_before"]
        state.log.val_loss = evaluate(model, sft_val, device)
        print(f"[B] validation loss {state.log.val_loss_before} -> {state.log.val_loss}", flush=True)
        logs["B"] = asdict(state.log)
        logs["weight_bytes"] = save_model(model, tokenizer, out, args.max_shard_size)
        phase, saved = "curve-0", {}
        save(phase)

    done = int(phase.removeprefix("curve-")) if phase.startswith("curve-") else len(args.curve_fractions)
    for index in range(done, len(args.curve_fractions)):
        fraction = args.curve_fractions[index]
        minutes = args.stage_b.minutes * fraction if args.stage_b.minutes else None
        if deadline is not None and minutes and time.perf_counter() + minutes * 60 + 60 > deadline:
            phase = f"curve-{index}"
            save(phase)
            return stopped()
        model.load_state_dict(torch.load(checkpoint_dir / "stage_a.pt", map_location=device))
        logs["curve"].append(learning_curve_point(args, model, compiled, tokenizer, prepared, sft_val, device, fraction))
        save(f"curve-{index + 1}")
    log = {
        "config": asdict(args),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "parameters": n_params,
        "weight_bytes": logs["weight_bytes"],
        "vocab": len(tokenizer),
        **prepared.info,
        "calls": logs["calls"],
        "stages": [logs["A"], logs["B"]],
        "learning_curve": logs["curve"],
        "finished": True,
    }
    call["seconds"] = round(time.perf_counter() - started, 1)
    save("done")
    (out / "training_log.json").write_text(json.dumps(log, indent=2) + "\n", encoding="utf-8")
    print(f"saved {out} ({log['weight_bytes'] / 1e6:.1f} MB of weights) in {call['seconds']}s this call", flush=True)
    return log


def learning_curve_point(
    args: PretrainArgs,
    model: LlamaForCausalLM,
    compiled: torch.nn.Module,
    tokenizer: PreTrainedTokenizerFast,
    prepared: Prepared,
    sft_val: list[tuple[torch.Tensor, torch.Tensor, int]],
    device: torch.device,
    fraction: float,
) -> dict[str, Any]:
    """Stage B on a seeded ``fraction`` of the SFT examples, for that fraction of its time; saved to out/curve-<f>."""
    examples = random.Random(args.seed).sample(prepared.sft_train, max(1, round(fraction * len(prepared.sft_train))))
    stage = replace(args.stage_b, minutes=args.stage_b.minutes * fraction if args.stage_b.minutes else None)
    batches = prepare_sft(examples, stage, tokenizer.pad_token_id, device, args.seed)
    before = evaluate(model, sft_val, device)
    state = StageState(StageLog(f"B{fraction:g}"))
    train_stage(compiled, sft_batches(batches, args.seed), stage, device, make_optimizer(model, stage, device), state,
                validate=lambda: evaluate(model, sft_val, device))
    save_model(model, tokenizer, Path(args.out) / f"curve-{fraction:g}", args.max_shard_size)
    point = {"fraction": fraction, "records": len(examples), "examples": len(examples), "minutes": stage.minutes,
             "steps": state.log.steps, "tokens": state.log.tokens, "val_loss_before": before,
             "val_loss": evaluate(model, sft_val, device)}
    print(f"[curve] {fraction:g} of the SFT examples: validation loss {point['val_loss']}", flush=True)
    return point


def _take(iterator: Iterator[Any], count: int) -> Iterator[Any]:
    for _ in range(count):
        yield next(iterator)


def parse_args(argv: Sequence[str] | None) -> tuple[PretrainArgs, RunFlags]:
    """The YAML config, with the command line's options on top; also the run-control flags.

    Raises:
        ArgsError: the config file is unreadable or does not fit ``PretrainArgs``.
    """
    flags = parse_typed_args(RunFlags, argv, prog="python -m train.pretrain", description=__doc__.splitlines()[0])
    args = load_args(flags.config)
    overrides: dict[str, Any] = {key: getattr(flags, key) for key in ("data", "shards", "out", "device", "curve_fractions")
                                 if getattr(flags, key) is not None}
    if flags.minutes_a is not None:
        overrides["stage_a"] = replace(args.stage_a, minutes=flags.minutes_a)
    if flags.minutes_b is not None:
        overrides["stage_b"] = replace(args.stage_b, minutes=flags.minutes_b)
    return replace(args, **overrides), flags


def main(argv: Sequence[str] | None = None) -> int:
    """Train and save; 2 on a config or data error (one line naming the file)."""
    try:
        args, flags = parse_args(argv)
        run(args, resume=flags.resume, stop_after_minutes=flags.stop_after)
    except (ArgsError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
