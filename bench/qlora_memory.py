"""Peak memory and training tokens/s of 4-bit QLoRA vs plain bf16 LoRA on a 7B-shaped Llama.

On one CUDA GPU (the numbers in docs/benchmarks.md; ``--compile`` for the throughput target,
since eager batch-1 steps are bound by kernel launches)::

    python bench/qlora_memory.py --out qlora_memory.json
    python bench/qlora_memory.py --compile --out qlora_memory_compile.json

CPU smoke run on a tiny config (what the tests run)::

    python bench/qlora_memory.py --tiny --out /tmp/qlora_memory.json

The model has random weights (memory and speed do not depend on their values) and is built
straight in bf16 on the device, never written to disk. The bf16 LoRA run goes first; then the
same model's decoder Linear layers are quantized in place to NF4 (double quantization, as
``BitsAndBytesConfig`` does) and the QLoRA run follows: frozen base, LoRA on q_proj/v_proj,
gradient checkpointing, paged 8-bit AdamW, bf16 autocast, both runs alike but for the base.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

LLAMA_7B = {
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "intermediate_size": 11008,
    "vocab_size": 32000,
}
TINY = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "intermediate_size": 128,
    "vocab_size": 512,
}
TARGET_PEAK_GB = 6.0
TARGET_TOKENS_PER_S = 3000.0
GIB = 1024**3


@dataclass(frozen=True)
class Measurement:
    name: str
    peak_memory_gib: float | None  # torch.cuda.max_memory_allocated; None on CPU
    tokens_per_s: float
    step_ms: float
    trainable_params: int
    final_loss: float


def build_model(shape: dict[str, int], device: str):
    """A random-init Llama in bf16, allocated directly on ``device``."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(**shape, max_position_embeddings=4096, tie_word_embeddings=False)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.config.use_cache = False  # the KV cache is for generation; training would only hold it
    return model


def _parent(model, name: str):
    parent_name, _, child = name.rpartition(".")
    return model.get_submodule(parent_name), child


def quantize_to_nf4(model, compute_dtype) -> None:
    """Swap every decoder ``nn.Linear`` for a bitsandbytes NF4 ``Linear4bit``, in place.

    ``lm_head`` stays in high precision, as transformers' bitsandbytes integration keeps it.
    """
    import bitsandbytes as bnb
    import torch

    linears = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name != "lm_head"
    ]
    for name, linear in linears:
        device = linear.weight.device
        quantized = bnb.nn.Linear4bit(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            compute_dtype=compute_dtype,
            compress_statistics=True,  # double quantization
            quant_type="nf4",
            device="meta",
        )
        # Params4bit quantizes when moved to a real device, freeing the bf16 copy.
        quantized.weight = bnb.nn.Params4bit(
            linear.weight.data, requires_grad=False, compress_statistics=True, quant_type="nf4"
        ).to(device)
        if linear.bias is not None:
            quantized.bias = torch.nn.Parameter(linear.bias.data, requires_grad=False)
        parent, child = _parent(model, name)
        setattr(parent, child, quantized)
    # What from_pretrained(quantization_config=...) sets; peft reads it to pick its 4-bit LoRA layer.
    model.is_loaded_in_4bit = True


def add_lora(model, rank: int, quantized: bool, upcast: bool = True):
    """Freeze the base, turn on gradient checkpointing and wrap it in LoRA r=``rank`` on q/v.

    ``upcast``: for a quantized base, peft's ``prepare_model_for_kbit_training``, which also
    casts every bf16 parameter left (embeddings, lm_head, norms: 0.5 GiB on a 7B) to fp32.
    Without it the 4-bit base is frozen exactly like the bf16 one.
    """
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if quantized and upcast:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=True, gradient_checkpointing_kwargs={"use_reentrant": False}
        )
    else:
        for param in model.parameters():
            param.requires_grad_(False)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        # The frozen embedding output needs grad for checkpointed blocks to backpropagate into LoRA.
        model.enable_input_require_grads()
    lora = LoraConfig(
        r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"], lora_dropout=0.05, task_type="CAUSAL_LM"
    )
    return get_peft_model(model, lora)


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def train_steps(model, device: str, seq: int, batch: int, steps: int, warmup: int) -> tuple[float, float]:
    """Seconds for ``steps`` optimizer steps after ``warmup`` untimed ones, and the last loss."""
    import bitsandbytes as bnb
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = bnb.optim.PagedAdamW8bit(trainable, lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    batches = [torch.randint(vocab, (batch, seq), generator=generator).to(device) for _ in range(4)]
    model.train()
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)  # CPU-GPU sync point: time only the measured steps
            start = time.perf_counter()
        ids = batches[step % len(batches)]
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    _sync(device)
    return time.perf_counter() - start, float(loss.detach())


def measure(name: str, model, device: str, args: argparse.Namespace) -> Measurement:
    """Train ``model`` for the configured steps and read its throughput and peak memory."""
    import torch

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # At batch 1 the step is bound by kernel launches, not FLOPs; compiling fuses them (warm-up compiles).
    trained = torch.compile(model) if args.compile else model
    seconds, loss = train_steps(trained, device, args.seq, args.batch, args.steps, args.warmup)
    peak = torch.cuda.max_memory_allocated() / GIB if device == "cuda" else None
    return Measurement(
        name=name,
        peak_memory_gib=peak,
        tokens_per_s=args.steps * args.batch * args.seq / seconds,
        step_ms=1000 * seconds / args.steps,
        trainable_params=trainable,
        final_loss=loss,
    )


def _release(device: str) -> None:
    import torch

    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        # Peak from here on: the weights now resident plus what training adds.
        torch.cuda.reset_peak_memory_stats()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both measurements on one model, bf16 LoRA first, as a JSON-ready report."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    shape = TINY if args.tiny else LLAMA_7B
    model = build_model(shape, device)
    results = []
    if not args.skip_bf16:
        _release(device)
        lora_model = add_lora(model, args.rank, quantized=False)
        results.append(measure("bf16 LoRA", lora_model, device, args))
        model = lora_model.unload()  # the base without LoRA layers, for the 4-bit run
        del lora_model
    quantize_to_nf4(model, torch.bfloat16)
    _release(device)
    name = "4-bit NF4 QLoRA" + ("" if args.upcast else ", bf16 non-quantized params")
    results.append(measure(name, add_lora(model, args.rank, quantized=True, upcast=args.upcast), device, args))
    return {
        "device": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "cpu",
        "shape": "tiny" if args.tiny else "llama-7b",
        "model_config": shape,
        "seq": args.seq,
        "batch": args.batch,
        "lora_rank": args.rank,
        "steps": args.steps,
        "warmup": args.warmup,
        "compiled": args.compile,
        "upcast_to_fp32": args.upcast,
        "versions": _versions(),
        "targets": {"peak_memory_gib": TARGET_PEAK_GB, "tokens_per_s": TARGET_TOKENS_PER_S},
        "runs": [asdict(result) for result in results],
    }


def _versions() -> dict[str, str]:
    import bitsandbytes
    import peft
    import torch
    import transformers

    return {module.__name__: module.__version__ for module in (torch, transformers, peft, bitsandbytes)}


def markdown_table(report: dict[str, Any]) -> str:
    """The report as a one-line setup description and a Markdown table."""
    lines = [
        f"{report['shape']} on {report['device']}: seq {report['seq']}, batch {report['batch']}, "
        f"LoRA r={report['lora_rank']} on q_proj/v_proj, gradient checkpointing, {report['steps']} timed steps"
        + (", torch.compile" if report["compiled"] else ""),
        "",
        "| run | peak memory (GiB) | tokens/s | ms/step | trainable params |",
        "|---|---:|---:|---:|---:|",
    ]
    for run_ in report["runs"]:
        peak = f"{run_['peak_memory_gib']:.2f}" if run_["peak_memory_gib"] is not None else "n/a (CPU)"
        lines.append(
            f"| {run_['name']} | {peak} | {run_['tokens_per_s']:,.0f} | {run_['step_ms']:.1f} | "
            f"{run_['trainable_params']:,} |"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Command-line options; shape-dependent defaults are filled in by ``main``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny Llama config (CPU smoke run)")
    parser.add_argument("--seq", type=int, default=None, help="sequence length (default 512; tiny: 64)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 20; tiny: 3)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3; tiny: 1)")
    parser.add_argument("--skip-bf16", action="store_true", help="measure only the 4-bit run")
    parser.add_argument("--compile", action="store_true", help="torch.compile the LoRA model before timing")
    parser.add_argument("--no-upcast", dest="upcast", action="store_false",
                        help="keep the 4-bit base's non-quantized params in bf16 (skip peft's fp32 cast)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; 0 on success, 2 on bad flags."""
    parser = build_parser()
    args = parser.parse_args(argv)
    defaults = {"seq": 64, "steps": 3, "warmup": 1} if args.tiny else {"seq": 512, "steps": 20, "warmup": 3}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.seq, args.batch, args.rank, args.steps) < 1 or args.warmup < 0:
        parser.error("--seq, --batch, --rank and --steps must be at least 1, --warmup at least 0")
    report = run(args)
    print(markdown_table(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
