"""Functions/s of the model backend for a backfill: batched vs one at a time, per runtime.

The functions come from a fixed list of standard-library modules (present on every machine),
documented or not, so the numbers are comparable between this CPU and the GPU machine::

    # CPU (the 2-core machine): CTranslate2 int8, batch 16 vs 1
    python bench/throughput.py --functions 64 --runtime ctranslate2 --batch-sizes 1,16

    # A 16-core CPU (the GPU machine's CPUs, no GPU): CTranslate2's workers x threads per worker
    python bench/throughput.py --functions 512 --runtime ctranslate2 --batch-sizes 16,64,256 \
        --threads 16x1,8x2,4x4,2x8,1x16

    # GPU machine: transformers on CUDA with large batches, bf16 and 4-bit NF4, with an adapter
    python bench/throughput.py --functions 1000 --runtime transformers --batch-sizes 1,64,256 \
        --nf4 off,on --adapter runs/qlora-numpy-family

Prints a Markdown table and writes JSON with --out.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import sysconfig
import time
from pathlib import Path
from typing import Sequence

MODULES = ("json/encoder.py", "argparse.py", "textwrap.py", "shlex.py", "csv.py", "calendar.py", "fractions.py",
           "statistics.py", "difflib.py", "pathlib.py", "configparser.py", "inspect.py")


def bench_contexts(count: int) -> list:
    from docucode_hook.code.contexts import iter_contexts

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found: list = []
    for name in MODULES:
        path = stdlib / name
        if path.is_file():
            found += [c for c in iter_contexts(path.read_text(encoding="utf-8"), name) if c.kind == "function"]
        if len(found) >= count:
            break
    return found[:count]


def measure(
    runtime: str, batch_size: int, contexts: Sequence, max_new_tokens: int, model: str | None,
    nf4: bool = False, adapter: str | None = None, profile: bool = False, threads: tuple[int, int] | None = None,
) -> dict:
    from docucode_hook.backends.ct2 import default_threads
    from docucode_hook.backends.model import ModelBackend
    from docucode_hook.config import Config
    from docucode_hook.code.records import Style

    config = Config(runtime=runtime, model=model, adapter=adapter, batch_size=batch_size,
                    max_new_tokens=max_new_tokens, cache=False)
    backend = ModelBackend(config, quantize_4bit=nf4, ct2_threads=threads)
    backend.generate(contexts[:1], Style.GOOGLE)  # load and warm up outside the timed part
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    texts = backend.generate(contexts, Style.GOOGLE)
    seconds = time.perf_counter() - started
    if profiler:  # where the host's time goes: a GPU waits on it when steps are launch-bound
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    linear = "-"
    if backend.runtime == "transformers":  # what really ran: bitsandbytes Linear4bit layers or plain ones
        linear = ",".join(sorted({type(m).__name__ for m in backend.loaded().model.modules() if "Linear" in type(m).__name__}))
    return {
        "runtime": backend.runtime,
        "threads": "x".join(map(str, threads or default_threads())) if backend.runtime == "ctranslate2" else "-",
        "nf4": nf4,
        "adapter": bool(adapter),
        "linear_layers": linear,
        "batch_size": batch_size,
        "functions": len(contexts),
        "seconds": round(seconds, 3),
        "functions_per_s": round(len(contexts) / seconds, 2),
        "ms_per_function": round(1000 * seconds / len(contexts), 1),
        "empty": sum(not t for t in texts),
    }


def device_name(gpu: bool = True) -> str:
    """The GPU transformers would use, else the CPU (CTranslate2 runs on the CPU here)."""
    if not gpu:
        return f"{platform.processor() or platform.machine()} CPU"
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return f"{platform.processor() or platform.machine()} CPU"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=60)
    parser.add_argument("--runtime", default="ctranslate2", help="comma list of ctranslate2, transformers")
    parser.add_argument("--threads", help="ctranslate2: comma list of WORKERSxTHREADS (inter_threads x intra_threads; "
                        "default: the hook's, one single-threaded worker per CPU)")
    parser.add_argument("--batch-sizes", default="1,10")
    parser.add_argument("--max-new-tokens", type=int, help="default: the hook's own (Config.max_new_tokens)")
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--nf4", default="off", help="comma list of off, on: load the base in 4-bit NF4")
    parser.add_argument("--adapter", help="also measure with this PEFT adapter (transformers runtime)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of each timed run")
    parser.add_argument("--attention", default=None,
                        help="comma list of transformers attention implementations to compare (default: the hook's)")
    args = parser.parse_args(argv)

    contexts = bench_contexts(args.functions)
    if args.max_new_tokens is None:
        from docucode_hook.config import Config

        args.max_new_tokens = Config().max_new_tokens
    from docucode_hook.backends import loading

    thread_layouts = [tuple(int(n) for n in layout.split("x")) for layout in args.threads.split(",")] if args.threads \
        else [None]
    rows = []
    for attention in (args.attention or loading.GENERATION_ATTENTION).split(","):
        loading.GENERATION_ATTENTION = attention
        loading.load_model.cache_clear()  # the next load uses this attention
        rows += [
            {**measure(runtime, int(size), contexts, args.max_new_tokens, args.model, nf4 == "on", adapter,
                       args.profile, threads), "attention": attention if runtime == "transformers" else "-"}
            for runtime in args.runtime.split(",")
            for nf4 in (args.nf4.split(",") if runtime == "transformers" else ["off"])
            for adapter in ([None, args.adapter] if args.adapter and runtime == "transformers" else [None])
            for threads in (thread_layouts if runtime == "ctranslate2" else [None])
            for size in args.batch_sizes.split(",")
        ]
    device = device_name(gpu="transformers" in {r["runtime"] for r in rows})
    print(f"{len(contexts)} stdlib functions on {device} ({os.cpu_count()} CPUs), "
          f"max_new_tokens {args.max_new_tokens}\n")
    print("| runtime | threads | attention | nf4 | adapter | linear layers | batch | functions/s | ms/function | empty |")
    print("|---|---|---|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['runtime']} | {r['threads']} | {r['attention']} | {r['nf4']} | {r['adapter']} | {r['linear_layers']} "
              f"| {r['batch_size']} | {r['functions_per_s']} | {r['ms_per_function']} | {r['empty']} |")
    if args.out:
        args.out.write_text(json.dumps({"device": device, "cpus": os.cpu_count(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
