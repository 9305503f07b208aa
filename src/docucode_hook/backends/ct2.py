"""Greedy generation on CTranslate2: rows run as separate requests, each stopped by the row stopper.

Why one request per row: CTranslate2 forwards a batch's prompts at once only up to the
shortest one and feeds the rest through the decoding loop a token at a time (its issues
#1480 and #1349), and its int8 results then depend on which other prompts share the batch.
Separate requests on ``inter_threads`` workers give every function the same text whatever
else is in the commit, and were the fastest way on the 2-core machine (docs/benchmarks.md).
"""

from __future__ import annotations

import atexit
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from docucode_hook.backends.convert import SIDECAR, read_config, read_json
from docucode_hook.stopping import RowStopper

# The process's Generators, released before the interpreter shuts down: a Generator with
# inter_threads > 1 that has run a Python callback aborts the process ("terminate called
# without an active exception", exit 134) if it is still alive at interpreter exit.
# Everything else refers to a Generator only through its key here.
_GENERATORS: dict[tuple[str, str], Any] = {}
atexit.register(_GENERATORS.clear)


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not the host's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_threads() -> tuple[int, int]:
    """(inter_threads, intra_threads): one single-threaded worker per CPU, each running a row.

    One row's decoding step is a few small matrix products, too small to share between
    threads; separate rows on separate cores are not.
    """
    return usable_cpus(), 1


@dataclass(frozen=True)
class CT2Model:
    """A loaded CTranslate2 model directory: its Generator (by key), tokenizer and vocabulary."""

    key: tuple[str, str]
    tokenizer: Any
    vocabulary: tuple[str, ...]
    end_ids: tuple[int, ...]
    max_positions: int | None

    @property
    def generator(self) -> Any:
        return _GENERATORS[self.key]


def load_ct2(model_dir: Path, compute_type: str, threads: tuple[int, int] | None = None) -> CT2Model:
    """Load a CTranslate2 model directory (as ``convert_to_ct2`` writes it) on the CPU.

    Errors of the underlying libraries pass through; the backend turns them into one line.
    """
    import ctranslate2
    from tokenizers import Tokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "tokenizer.json").is_file():
        raise FileNotFoundError(f"{model_dir / 'tokenizer.json'} is missing")
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    vocabulary = json.loads((model_dir / "vocabulary.json").read_text(encoding="utf-8"))
    sidecar = read_json(model_dir / SIDECAR)
    end_ids = sidecar.get("eos_token_id") or []
    if not end_ids:  # a model another converter wrote: its one end token
        eos = read_config(model_dir).get("eos_token")
        end_ids = [vocabulary.index(eos)] if eos in vocabulary else []
    inter, intra = threads or default_threads()
    key = (str(model_dir.resolve()), compute_type)
    if key not in _GENERATORS:
        _GENERATORS[key] = ctranslate2.Generator(
            str(model_dir), device="cpu", compute_type=compute_type, inter_threads=inter, intra_threads=intra
        )
    return CT2Model(key, tokenizer, tuple(vocabulary), tuple(end_ids), sidecar.get("max_position_embeddings"))


class CT2Engine:
    """The model backend's engine interface over a loaded CTranslate2 model."""

    def __init__(self, model: CT2Model, max_new_tokens: int, repetition_penalty: float) -> None:
        self.model, self.max_new_tokens, self.repetition_penalty = model, max_new_tokens, repetition_penalty
        self.max_positions = model.max_positions

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.model.tokenizer.encode_batch(list(texts))]

    def decode(self, rows: Sequence[Sequence[int]]) -> list[str]:
        return self.model.tokenizer.decode_batch([list(row) for row in rows], skip_special_tokens=True)

    def generate(self, input_ids: list[list[int]], comment_rows: Sequence[bool]) -> list[tuple[list[int], list[float]]]:
        """Per row: the new token ids (without the end token) and each one's log-probability."""
        tokenizer, vocabulary = self.model.tokenizer, self.model.vocabulary
        stopper = RowStopper(tokenizer.decode, comment_rows)
        tokens: list[list[int]] = [[] for _ in input_ids]
        logprobs: list[list[float]] = [[] for _ in input_ids]

        def on_token(row: int) -> Any:
            def step(result: Any) -> bool:  # True ends this row
                tokens[row].append(result.token_id)
                logprobs[row].append(result.log_prob)
                return stopper.done(row, tokens[row])

            return step

        pending = [
            self.model.generator.generate_batch(
                [[vocabulary[token] for token in ids]],
                asynchronous=True,
                max_length=self.max_new_tokens,
                include_prompt_in_result=False,  # the prompt in one forward pass, not token by token
                end_token=list(self.model.end_ids) or None,
                # Penalises the generated tokens only (transformers' also counts the prompt's):
                # the same as the transformers engine only at 1.0, which is what the hook uses.
                repetition_penalty=self.repetition_penalty,
                return_scores=True,  # fills each step's log_prob
                callback=on_token(row),
            )[0]
            for row, ids in enumerate(input_ids)
        ]
        rows = []
        for row, result in enumerate(pending):
            ids = result.result().sequences_ids[0]
            rows.append((ids, logprobs[row][: len(ids)]))  # the callback also saw the end token
        return rows

    @staticmethod
    def recover() -> None:
        pass


__all__ = ["CT2Engine", "CT2Model", "default_threads", "load_ct2", "usable_cpus"]
