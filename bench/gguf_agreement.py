"""How often llama.cpp, running the shipped model's GGUF export, chooses CTranslate2 float32's tokens (issue 21).

For each GGUF weight type, the model is exported with ``train.gguf_file.write_gguf`` (what
``train.export --format gguf`` runs) into a temporary directory, and both engines decode
each prompt greedily with no penalty, up to ``max_new_tokens`` or the end token:
CTranslate2 float32 through the hook's own loader and tokenizer, llama.cpp through
``bench/llama_greedy.py`` in the engine's venv (``.venv-llama``, ``make engine``). A row
agrees when llama.cpp tokenized the prompt into the same ids and then chose the same ids.
Prompts come from a ``train.mine`` JSONL split (its ``prompt`` field: the exact text the
hook sends); prompts longer than the model's positions less ``max_new_tokens`` are left out
and counted. Run (about 2 minutes per weight type for 150 prompts on the 2-core machine)::

    PYTHONPATH=src:. python bench/gguf_agreement.py data/eval-v3/test.jsonl --outtypes f32,f16,q8_0
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from bench.llama_engine import ENGINE_PYTHON

WORKER = Path(__file__).with_name("llama_greedy.py")


@dataclass(frozen=True)
class Greedy:
    """One engine's reading of one prompt: the prompt's token ids and the ids it chose after them."""

    prompt_ids: tuple[int, ...]
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Agreement:
    """llama.cpp against CTranslate2 float32 for one weight type."""

    outtype: str
    rows: int
    prompts_alike: int  # tokenized into the same ids
    tokens_alike: int  # the same prompt ids and the same chosen ids
    seconds: float
    first_differences: tuple[int, ...]  # per row that differs: the index of its first differing chosen token


def read_prompts(path: Path, limit: int | None = None) -> list[str]:
    """The ``prompt`` of each docstring record of a ``train.mine`` JSONL file, in file order."""
    prompts = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("task", "docstring") == "docstring":
            prompts.append(record["prompt"])
    return prompts[:limit]


def ct2_float32(model_dir: Path | None, prompts: Sequence[str], max_new_tokens: int) -> list[Greedy]:
    """CTranslate2 float32's greedy ids through the hook's own loader and tokenizer (no stop strings, no penalty)."""
    from docucode_hook.backends.model import ModelBackend
    from docucode_hook.config import Config

    engine = ModelBackend(Config(model=str(model_dir) if model_dir else None), ct2_compute_type="float32").engine()
    model = engine.model
    prompt_ids = engine.encode(list(prompts))
    results = model.generator.generate_batch(
        [[model.vocabulary[token] for token in ids] for ids in prompt_ids],
        max_length=max_new_tokens, include_prompt_in_result=False, end_token=list(model.end_ids) or None,
        repetition_penalty=1.0, sampling_topk=1,
    )
    return [Greedy(tuple(ids), tuple(result.sequences_ids[0])) for ids, result in zip(prompt_ids, results)]


def llama_cpp(gguf_path: Path, prompts: Sequence[str], max_new_tokens: int, n_ctx: int) -> list[Greedy]:
    """llama.cpp's greedy ids, from the engine's venv (``bench/llama_greedy.py``)."""
    request = {"model": str(gguf_path), "prompts": list(prompts), "max_new_tokens": max_new_tokens, "n_ctx": n_ctx}
    done = subprocess.run([str(ENGINE_PYTHON), str(WORKER)], input=json.dumps(request), capture_output=True,
                          text=True, check=True)
    return [Greedy(tuple(row["prompt_ids"]), tuple(row["ids"])) for row in json.loads(done.stdout)]


def compare(outtype: str, reference: Sequence[Greedy], other: Sequence[Greedy], seconds: float) -> Agreement:
    """How many of ``other``'s rows read and continue each prompt as ``reference`` does."""
    firsts = []
    for ours, theirs in zip(reference, other):
        if ours != theirs:
            firsts.append(next((i for i, (a, b) in enumerate(zip(ours.ids, theirs.ids)) if a != b),
                               min(len(ours.ids), len(theirs.ids))))
    return Agreement(
        outtype=outtype,
        rows=len(reference),
        prompts_alike=sum(a.prompt_ids == b.prompt_ids for a, b in zip(reference, other)),
        tokens_alike=sum(a == b for a, b in zip(reference, other)),
        seconds=seconds,
        first_differences=tuple(firsts),
    )


def measure(prompts: Sequence[str], outtypes: Sequence[str], model_dir: Path | None = None,
            max_new_tokens: int = 96) -> tuple[list[Agreement], int]:
    """(one Agreement per weight type, how many prompts were left out as too long for the model)."""
    from docucode_hook.backends.convert import read_config
    from docucode_hook.backends.loading import DEFAULT_MODEL_DIR
    from train.gguf_file import write_gguf

    source = model_dir or DEFAULT_MODEL_DIR
    n_ctx = int(read_config(source).get("max_position_embeddings") or 2048)
    reference = ct2_float32(model_dir, prompts, max_new_tokens)
    fitting = [i for i, row in enumerate(reference) if len(row.prompt_ids) + max_new_tokens <= n_ctx]
    reference = [reference[i] for i in fitting]
    kept = [prompts[i] for i in fitting]
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for outtype in outtypes:
            path = write_gguf(source, Path(directory) / f"model-{outtype}.gguf", outtype)
            start = time.perf_counter()
            theirs = llama_cpp(path, kept, max_new_tokens, n_ctx)
            results.append(compare(outtype, reference, theirs, time.perf_counter() - start))
    return results, len(prompts) - len(kept)


def report(results: Sequence[Agreement], left_out: int) -> str:
    """The Markdown table of ``docs/benchmarks.md``."""
    lines = ["| GGUF weights | prompts | prompt ids equal | generated ids equal | first difference at token (median) | llama.cpp s |",
             "|---|---|---|---|---|---|"]
    for result in results:
        firsts = sorted(result.first_differences)
        median = str(firsts[len(firsts) // 2]) if firsts else "-"
        lines.append(f"| {result.outtype} | {result.rows} | {result.prompts_alike} | {result.tokens_alike} "
                     f"({100 * result.tokens_alike / max(result.rows, 1):.0f} %) | {median} | {result.seconds:.0f} |")
    if left_out:
        lines.append(f"\n{left_out} prompt(s) left out: longer than the model's positions less the new tokens.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a train.mine JSONL file (its prompt field)")
    parser.add_argument("--limit", type=int, help="the first N docstring records")
    parser.add_argument("--model", type=Path, help="an HF Llama directory (default: the shipped model)")
    parser.add_argument("--outtypes", default="f32,f16,q8_0")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    args = parser.parse_args(argv)
    if not ENGINE_PYTHON.is_file():
        parser.error(f"{ENGINE_PYTHON} is missing: run `make engine` first")
    results, left_out = measure(read_prompts(args.data, args.limit), args.outtypes.split(","), args.model,
                                args.max_new_tokens)
    print(report(results, left_out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
