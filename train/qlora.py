"""QLoRA-fine-tune any Hugging Face causal LM on mined records (docstrings and inline comments) and save a PEFT adapter.

Single GPU (or CPU, for a smoke run)::

    python -m train.qlora --config train/configs/qlora.yaml
    python -m train.qlora --config train/configs/qlora.yaml --model path/to/CodeLlama-7b \\
        --packages requests urllib3 --output-dir runs/qlora-requests

Several GPUs of one host (each process holds its own 4-bit copy of the model; DDP)::

    accelerate launch --num_processes 4 -m train.qlora --config train/configs/qlora.yaml
    torchrun --nproc_per_node 4 -m train.qlora --config train/configs/qlora.yaml

Every field of ``QLoRAArgs`` is a YAML key and a ``--dashed-flag``; flags override the file.
The output directory holds ``adapter_model.safetensors`` + ``adapter_config.json`` (load with
``PeftModel.from_pretrained(base, output_dir)``, i.e. the hook's ``adapter = ...`` option),
the tokenizer, and ``train_log.json`` (loss curve, tokens/s, peak memory, wall time).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from docucode_hook.backends.prompt import record_input
from train.args import ArgsError
from train.args import parse_args as parse_typed_args

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
REQUIRED_KEYS = ("prompt", "code_snippet", "completion")


class UsageError(Exception):
    """Bad configuration or data; reported as one line and exit status 2."""


@dataclass(frozen=True)
class QLoRAArgs:
    model: str = ""  # local HF model directory or hub id
    train_file: str = "data/train.jsonl"
    validation_file: str | None = "data/validation.jsonl"  # None or missing file: no evaluation
    output_dir: str = "runs/qlora"
    packages: tuple[str, ...] = ()  # train only on records of these packages (one adapter per family)
    max_samples: int | None = None  # cap on training records, after the package filter
    local_files_only: bool = False
    # Quantization: 4-bit NF4 with double quantization is QLoRA; off gives plain LoRA.
    load_in_4bit: bool = True
    bnb_4bit_quant_type: str = "nf4"
    bnb_4bit_use_double_quant: bool = True
    precision: str = "auto"  # auto: bf16 where supported, else fp16 on CUDA
    # peft's prepare_model_for_kbit_training casts the 4-bit base's remaining bf16 weights
    # (embeddings, lm_head, norms) to fp32. Off keeps them bf16: 4.07 against 4.94 GiB peak on
    # a 7B Llama (docs/benchmarks.md).
    upcast_non_quantized: bool = True
    torch_compile: bool = False  # with upcast off: 5,329 tokens/s at 5.21 GiB on a 7B, against 1,770 eager
    # LoRA
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    # Optimisation
    optim: str = "paged_adamw_8bit"
    learning_rate: float = 2e-4
    lr_scheduler_type: str = "cosine"
    warmup_steps: float = 0.03  # below 1: a fraction of the total steps
    weight_decay: float = 0.0
    num_train_epochs: float = 1.0
    max_steps: int = -1  # overrides num_train_epochs when positive
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 4
    gradient_checkpointing: bool = True
    max_length: int = 1024
    packing: bool = False  # pack sequences (bfd); otherwise batches are grouped by length
    completion_only_loss: bool = True
    logging_steps: int = 10
    eval_steps: int = 200
    save_steps: int = 500
    seed: int = 42


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str


# --------------------------------------------------------------------------- arguments


def _validate(args: QLoRAArgs) -> QLoRAArgs:
    if not args.model:
        raise UsageError("no model: set `model` in the config or pass --model")
    if args.precision not in PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(PRECISIONS)} (got {args.precision!r})")
    if args.lora_r < 1 or args.per_device_train_batch_size < 1 or args.gradient_accumulation_steps < 1:
        raise UsageError("lora_r, per_device_train_batch_size and gradient_accumulation_steps must be at least 1")
    if args.max_samples is not None and args.max_samples < 1:
        raise UsageError(f"max_samples must be at least 1 (got {args.max_samples})")
    return args


def parse_args(argv: Sequence[str] | None = None) -> QLoRAArgs:
    """YAML config (``--config``) overlaid with the flags given on the command line."""
    return _validate(parse_typed_args(QLoRAArgs, argv, prog="python -m train.qlora",
                                      description=__doc__.splitlines()[0], config=True))


# --------------------------------------------------------------------------- data


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records of a mined JSONL file; a bad line is an error naming the file and line."""
    from train.data import DataError, read_jsonl

    try:
        return read_jsonl(path, REQUIRED_KEYS)
    except DataError as exc:
        raise UsageError(str(exc)) from None


def to_examples(
    records: Sequence[dict[str, Any]], eos_token: str, packages: Sequence[str] = (), max_samples: int | None = None
) -> list[Example]:
    """TRL prompt-completion pairs in the exact text the hook's model sees at inference (both tasks)."""
    wanted = set(packages)
    chosen = [rec for rec in records if not wanted or rec.get("package") in wanted]
    return [
        Example(prompt=record_input(rec), completion=rec["completion"] + eos_token)
        for rec in chosen[:max_samples]
    ]


def _dataset(examples: Sequence[Example]):
    from datasets import Dataset

    return Dataset.from_list([asdict(example) for example in examples])


# --------------------------------------------------------------------------- model


def _compute_dtype(precision: str):
    import torch

    if precision == "auto":
        if torch.cuda.is_available():
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            # bitsandbytes' CPU 4-bit kernels and torch CPU autocast both take bf16.
            precision = "bf16"
    return precision, {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]


def load_model(args: QLoRAArgs, dtype):
    """The base model, 4-bit NF4 when asked, prepared for k-bit training and wrapped in LoRA."""
    import torch
    from accelerate import PartialState
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": args.local_files_only}
    if torch.cuda.is_available():
        # One full copy per process: under torchrun/accelerate each rank pins the model to its own GPU.
        kwargs["device_map"] = {"": PartialState().local_process_index}
    if args.load_in_4bit:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=args.bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=args.bnb_4bit_use_double_quant,
            bnb_4bit_compute_dtype=dtype,
        )
    model = AutoModelForCausalLM.from_pretrained(args.model, **kwargs)
    if args.load_in_4bit and args.upcast_non_quantized:
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=args.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif args.gradient_checkpointing:
        # What prepare_model_for_kbit_training does besides the cast: the frozen embeddings'
        # output must require grad for checkpointed blocks to backpropagate into LoRA.
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        target_modules=list(args.target_modules),
        lora_dropout=args.lora_dropout,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def load_tokenizer(args: QLoRAArgs):
    """The base model's tokenizer, with a pad token so batches can be padded."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model, local_files_only=args.local_files_only)
    if tokenizer.pad_token is None:
        # Llama-family tokenizers ship without one; padding is masked out of the loss anyway.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def sft_config(args: QLoRAArgs, precision: str, has_eval: bool):
    """TRL's SFTConfig for these arguments: precision, optimizer, batching, logging, evaluation."""
    import torch
    from trl import SFTConfig

    return SFTConfig(
        output_dir=args.output_dir,
        # Without CUDA, transformers refuses bf16 unless told the CPU is meant (smoke runs, CI).
        use_cpu=not torch.cuda.is_available(),
        optim=args.optim,
        learning_rate=args.learning_rate,
        lr_scheduler_type=args.lr_scheduler_type,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        num_train_epochs=args.num_train_epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.per_device_train_batch_size,
        per_device_eval_batch_size=args.per_device_eval_batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        gradient_checkpointing=args.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        torch_compile=args.torch_compile,
        # LoRA leaves most parameters frozen; DDP must not search for unused ones on every step.
        ddp_find_unused_parameters=False,
        max_length=args.max_length,
        packing=args.packing,
        train_sampling_strategy="random" if args.packing else "group_by_length",
        completion_only_loss=args.completion_only_loss,
        logging_steps=args.logging_steps,
        logging_first_step=True,
        include_num_input_tokens_seen="non_padding",
        eval_strategy="steps" if has_eval else "no",
        eval_steps=args.eval_steps,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_total_limit=2,
        report_to=[],
        seed=args.seed,
    )


# --------------------------------------------------------------------------- run


def _peak_memory_bytes() -> tuple[str, int]:
    import torch

    if torch.cuda.is_available():
        return "cuda_max_memory_allocated", torch.cuda.max_memory_allocated()
    # ru_maxrss is in KiB on Linux: the process's peak resident set, the CPU analogue.
    return "cpu_max_rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _optimizer_facts(optimizer) -> dict[str, Any]:
    """What optimizer was really built, not just the name asked for (bitsandbytes: bits, paging)."""
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps it
    bnb_args = getattr(inner, "args", None)
    return {
        "optimizer": f"{type(inner).__module__}.{type(inner).__name__}",
        "optimizer_bits": getattr(bnb_args, "optim_bits", 32),
        "optimizer_paged": bool(getattr(inner, "is_paged", False)),
    }


def train_log(state, wall_s: float, args: QLoRAArgs, extra: dict[str, Any]) -> dict[str, Any]:
    """Summary written next to the adapter: loss curves, throughput, memory, wall time."""
    losses = [{"step": h["step"], "loss": h["loss"]} for h in state.log_history if "loss" in h]
    evals = [{"step": h["step"], "eval_loss": h["eval_loss"]} for h in state.log_history if "eval_loss" in h]
    tokens = state.num_input_tokens_seen  # non-padding tokens, summed over processes
    memory_kind, peak = _peak_memory_bytes()
    return {
        "args": asdict(args),
        "loss": losses,
        "eval": evals,
        "train_tokens": int(tokens),
        "tokens_per_s": tokens / wall_s if wall_s > 0 else 0.0,
        "peak_memory_bytes": peak,
        "peak_memory_kind": memory_kind,
        "wall_s": wall_s,
        **extra,
    }


def run(args: QLoRAArgs) -> dict[str, Any]:
    """Train one adapter; returns the train log (also written to ``output_dir/train_log.json``)."""
    import torch
    from trl import SFTTrainer

    # Data first: a bad line fails in a second, before any model is loaded.
    train_records = read_records(Path(args.train_file))
    eval_path = Path(args.validation_file) if args.validation_file else None
    eval_records = read_records(eval_path) if eval_path and eval_path.is_file() else []
    tokenizer = load_tokenizer(args)
    train_examples = to_examples(train_records, tokenizer.eos_token, args.packages, args.max_samples)
    if not train_examples:
        selection = f" for packages {', '.join(args.packages)}" if args.packages else ""
        raise UsageError(f"{args.train_file}: no training records{selection}")
    eval_examples = to_examples(eval_records, tokenizer.eos_token, args.packages)
    precision, dtype = _compute_dtype(args.precision)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer = SFTTrainer(
        model=load_model(args, dtype),
        args=sft_config(args, precision, has_eval=bool(eval_examples)),
        train_dataset=_dataset(train_examples),
        eval_dataset=_dataset(eval_examples) if eval_examples else None,
        processing_class=tokenizer,
    )
    start = time.perf_counter()
    trainer.train()
    wall_s = time.perf_counter() - start
    evaluated_steps = {h["step"] for h in trainer.state.log_history if "eval_loss" in h}
    if eval_examples and trainer.state.global_step not in evaluated_steps:
        trainer.evaluate()
    trainer.save_model(args.output_dir)
    log = train_log(
        trainer.state,
        wall_s,
        args,
        {
            "precision": precision,
            "base_quantized_4bit": bool(getattr(trainer.model, "is_loaded_in_4bit", False)),
            **_optimizer_facts(trainer.optimizer),
            "train_examples": len(train_examples),
            "eval_examples": len(eval_examples),
        },
    )
    if trainer.is_world_process_zero():
        Path(args.output_dir, "train_log.json").write_text(json.dumps(log, indent=2) + "\n", encoding="utf-8")
    return log


def main(argv: Sequence[str] | None = None) -> int:
    """Train and save one adapter; 0 on success, 2 on bad configuration or data."""
    try:
        args = parse_args(argv)
        log = run(args)
    except (UsageError, ArgsError) as exc:
        print(f"train.qlora: error: {exc}", file=sys.stderr)
        return 2
    last = log["loss"][-1]["loss"] if log["loss"] else float("nan")
    print(f"adapter saved to {args.output_dir} (final loss {last:.4f}, {log['tokens_per_s']:.0f} tokens/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
