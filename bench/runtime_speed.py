"""ms per function of the hook's engine at its batch size: CTranslate2 against the NumPy runtime it replaced.

The NumPy runtime (``runtime.py``) is loaded from git, from the last commit that had it, into
a temporary module, and runs the same prompts in the same process: 16 functions of modules
every Python has (the hook's ``batch_size``), greedy, the hook's ``max_new_tokens`` and row
stopper. The engines take turns within each repeat, so a machine busy with other work slows
them alike and the ratio stays comparable::

    python bench/runtime_speed.py --repeat 5
    python bench/runtime_speed.py --repeat 3 --layouts   # CTranslate2: how to lay out the 16 rows
    # the shipped model on CTranslate2 against the previous default (v2, from git) on NumPy
    mkdir -p /tmp/v2 && for f in config.json generation_config.json model.safetensors.index.json \
        model-00001-of-00002.safetensors model-00002-of-00002.safetensors tokenizer.json tokenizer_config.json; do
      git show 1d8cdd4:src/docucode_hook/models/docucode-small/$f > /tmp/v2/$f; done
    python bench/runtime_speed.py --repeat 3 --numpy-model /tmp/v2

What int8 costs in text (identical rows against float32) is ``bench/int8_agreement.py``'s.

``--layouts`` compares ways to hand CTranslate2 a batch of prompts of different lengths
(its issues #1480 and #1349): rows of similar lengths batched, each batch a request on one
single-threaded worker per CPU (what the hook does), every row its own request, one row at
a time, one batch; the last column says which give each function the hook's tokens.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import bench_contexts  # noqa: E402  # the same standard-library functions

CHECKOUT = Path(__file__).resolve().parents[1]
RUNTIME_PATH = "src/docucode_hook/runtime.py"


def numpy_runtime_module() -> Any:
    """``runtime.py`` as of the commit before the one that deleted it, imported from a temp file."""
    deleted_in = subprocess.run(["git", "rev-list", "-1", "HEAD", "--", RUNTIME_PATH], cwd=CHECKOUT,
                                capture_output=True, text=True, check=True).stdout.strip()
    source = subprocess.run(["git", "show", f"{deleted_in}^:{RUNTIME_PATH}"], cwd=CHECKOUT,
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp(prefix="docucode-bench-")) / "numpy_runtime.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("numpy_runtime", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def prompt_ids(engine: Any, count: int, max_new_tokens: int) -> list[list[int]]:
    """Token ids of the hook's prompts for ``count`` functions, fitted to the model as the backend does."""
    from docucode_hook.code.records import Style
    from docucode_hook.backends.prompt import build_prompt, fit_prompt

    limit = engine.max_positions - max_new_tokens
    prompts = [fit_prompt(build_prompt(ctx, Style.GOOGLE), lambda text: len(engine.encode([text])[0]), limit)
               for ctx in bench_contexts(count)]
    return engine.encode([p.text for p in prompts])


def numpy_generate(runtime: Any, max_new_tokens: int) -> Callable[[list[list[int]]], list[list[int]]]:
    from docucode_hook.backends.model import REPETITION_PENALTY
    from docucode_hook.backends.stopping import RowStopper

    def generate(ids: list[list[int]]) -> list[list[int]]:
        stopper = RowStopper(runtime.tokenizer.decode, [False] * len(ids))
        return runtime.generate_ids(ids, max_new_tokens, REPETITION_PENALTY, stopper.done)

    return generate


def ct2_generate(engine: Any) -> Callable[[list[list[int]]], list[list[int]]]:
    return lambda ids: [row for row, _ in engine.generate(ids, [False] * len(ids))]


def time_rounds(engines: dict[str, Callable], ids: list[list[int]], repeat: int) -> tuple[dict[str, list[float]], dict]:
    """Seconds per run of each engine, the engines taking turns in every round; and each one's last tokens."""
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    tokens: dict[str, list[list[int]]] = {}
    for _ in range(repeat):
        for name, generate in engines.items():
            started = time.perf_counter()
            tokens[name] = generate(ids)
            seconds[name].append(time.perf_counter() - started)
    return seconds, tokens


def layouts(model_dir: Path, ids: list[list[int]], max_new_tokens: int) -> dict[str, Callable]:
    """CTranslate2 int8 with the rows laid out in different ways; each stops rows with the hook's stopper."""
    from docucode_hook.backends.ct2 import SIMILAR_LENGTH_TOKENS, length_groups, load_ct2
    from docucode_hook.backends.stopping import RowStopper

    def run(threads: tuple[int, int], groups: Callable[[list[list[int]]], list[list[int]]], asynchronous: bool):
        model = load_ct2(model_dir, "int8", threads)

        def generate(rows: list[list[int]]) -> list[list[int]]:
            stopper = RowStopper(model.tokenizer.decode, [False] * len(rows))
            seen: dict[int, list[int]] = {i: [] for i in range(len(rows))}
            pending = []
            for group in groups(rows):
                def step(result: Any, group: list[int] = group) -> bool:
                    row = group[result.batch_id]
                    seen[row].append(result.token_id)
                    return stopper.done(row, seen[row])

                answer = model.generator.generate_batch(
                    [[model.vocabulary[t] for t in rows[i]] for i in group], max_length=max_new_tokens,
                    include_prompt_in_result=False, end_token=list(model.end_ids), callback=step,
                    asynchronous=asynchronous)
                pending.append((group, answer))
            out: list[list[int]] = [[] for _ in rows]
            for group, answer in pending:
                for row, result in zip(group, answer):
                    out[row] = (result.result() if asynchronous else result).sequences_ids[0]
            return out

        return generate

    def similar_lengths(spread: int) -> Callable[[list[list[int]]], list[list[int]]]:
        return lambda rows: length_groups([len(row) for row in rows], spread)

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    similar = SIMILAR_LENGTH_TOKENS
    alone = lambda rows: [[i] for i in range(len(rows))]  # noqa: E731
    return {
        f"lengths within {similar} tokens batched ({cpus} workers x 1 thread; the hook)": run((cpus, 1), similar_lengths(similar), True),
        f"rows as requests ({cpus} workers x 1 thread)": run((cpus, 1), alone, True),
        f"one row at a time (1 worker x {cpus} threads)": run((1, cpus), alone, False),
        f"one batch (1 worker x {cpus} threads)": run((1, cpus), lambda rows: [list(range(len(rows)))], False),
        f"equal lengths batched ({cpus} workers x 1 thread)": run((cpus, 1), similar_lengths(0), True),
        f"lengths within 48 tokens batched ({cpus} workers x 1 thread)": run((cpus, 1), similar_lengths(48), True),
        f"lengths within {similar} tokens batched (1 worker x {cpus} threads)": run((1, cpus), similar_lengths(similar), False),
    }


def _load_average() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=16, help="default: the hook's batch_size")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, help="default: the hook's own")
    parser.add_argument("--layouts", action="store_true", help="compare CTranslate2 batch layouts instead")
    parser.add_argument("--numpy-model", type=Path, help="the NumPy runtime's model (default: the shipped one); "
                        "the v2 directory from git measures what the old default cost per function")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from docucode_hook.backends.loading import DEFAULT_MODEL_DIR
    from docucode_hook.backends.model import REPETITION_PENALTY, ModelBackend
    from docucode_hook.backends.ct2 import CT2Engine
    from docucode_hook.config import Config

    max_new = args.max_new_tokens or Config().max_new_tokens
    int8 = ModelBackend(Config(max_new_tokens=max_new)).engine()
    ids = prompt_ids(int8, args.functions, max_new)
    if args.layouts:
        converted = Path(int8.model.key[0])
        engines = layouts(converted, ids, max_new)
    else:
        float32 = CT2Engine(ModelBackend(Config(), ct2_compute_type="float32").engine().model, max_new, REPETITION_PENALTY)
        engines = {
            "NumPy runtime (last commit)": numpy_generate(numpy_runtime_module().NumpyLlama(args.numpy_model or DEFAULT_MODEL_DIR), max_new),
            "CTranslate2 int8 (the hook)": ct2_generate(int8),
            "CTranslate2 float32": ct2_generate(float32),
        }
    load_before = _load_average()
    seconds, tokens = time_rounds(engines, ids, args.repeat)
    first = next(iter(engines))
    print(f"{len(ids)} functions, max_new_tokens {max_new}, {args.repeat} rounds, {os.cpu_count()} CPUs, "
          f"load average before {load_before}, after {_load_average()}\n")
    print(f"| engine | ms/function per round | median | median vs {first.split(' (')[0]} | rows with its tokens |")
    print("|---|---|---:|---:|---:|")
    results = {}
    for name, runs in seconds.items():
        per_function = [1000 * s / len(ids) for s in runs]
        ratio = statistics.median(a / b for a, b in zip(seconds[first], runs))
        same = sum(a == b for a, b in zip(tokens[name], tokens[first]))
        results[name] = {"ms_per_function": per_function, "ratio_to_first": ratio, "same_rows_as_first": same}
        print(f"| {name} | {', '.join(f'{v:.0f}' for v in per_function)} | {statistics.median(per_function):.0f} "
              f"| {ratio:.2f}x | {same}/{len(ids)} |")
    if args.out:
        args.out.write_text(json.dumps({"functions": len(ids), "rounds": args.repeat, "engines": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
