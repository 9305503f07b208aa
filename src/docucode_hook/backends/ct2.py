"""Greedy generation on CTranslate2: rows of similar length share a request, each row stopped by the row stopper.

Why not one batch: CTranslate2 forwards a batch's prompts at once only up to the shortest
one and feeds the rest through the decoding loop a token at a time (its issues #1480 and
#1349). Why not one row per request: decoding a few rows together costs little more than
one. So rows whose prompts are within ``SIMILAR_LENGTH_TOKENS`` of each other go in one
request, and the requests run on one single-threaded worker per CPU. On the 2-core machine
that was the fastest layout of those measured, and gave every function the same tokens as
running it alone (docs/benchmarks.md, ``bench/runtime_speed.py --layouts``).
"""

from __future__ import annotations

import atexit
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from docucode_hook.backends.convert import SIDECAR, read_config, read_json
from docucode_hook.cpus import usable_cpus
from docucode_hook.backends.meanwhile import run_queued
from docucode_hook.backends.stopping import RowStopper

# The process's Generators, released before the interpreter shuts down: a Generator with
# inter_threads > 1 that has run a Python callback aborts the process ("terminate called
# without an active exception", exit 134) if it is still alive at interpreter exit.
# Everything else refers to a Generator only through its key here.
_GENERATORS: dict[tuple[str, str, int, int], Any] = {}
atexit.register(_GENERATORS.clear)


# The most a row's prompt may be longer than the shortest in its request: those extra prompt
# tokens go through the decoding loop one at a time.
SIMILAR_LENGTH_TOKENS = 16


def length_groups(lengths: Sequence[int], spread: int = SIMILAR_LENGTH_TOKENS) -> list[list[int]]:
    """Row indexes grouped by length: each group's longest is at most ``spread`` longer than its shortest."""
    groups: list[list[int]] = []
    for row in sorted(range(len(lengths)), key=lengths.__getitem__):
        if groups and lengths[row] - lengths[groups[-1][0]] <= spread:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def default_threads() -> tuple[int, int]:
    """(inter_threads, intra_threads): one single-threaded worker per CPU, each running a request.

    A decoding step of a few rows is a few small matrix products, too small to share between
    threads; separate requests on separate cores are not.
    """
    return usable_cpus(), 1


@dataclass(frozen=True)
class CT2Model:
    """A loaded CTranslate2 model directory: its Generator (by key), tokenizer and vocabulary."""

    key: tuple[str, str, int, int]
    tokenizer: Any
    vocabulary: tuple[str, ...]
    end_ids: tuple[int, ...]
    max_positions: int | None

    @property
    def generator(self) -> Any:
        """The loaded ``ctranslate2.Generator``, shared by every model built from the same converted directory."""
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
    key = (str(model_dir.resolve()), compute_type, inter, intra)
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
        """Token ids of each text, with the model's own tokenizer."""
        return [e.ids for e in self.model.tokenizer.encode_batch(list(texts))]

    def decode(self, rows: Sequence[Sequence[int]]) -> list[str]:
        """Decode rows of token ids into strings, leaving out special tokens."""
        return self.model.tokenizer.decode_batch([list(row) for row in rows], skip_special_tokens=True)

    def generate(self, input_ids: list[list[int]], comment_rows: Sequence[bool]) -> list[tuple[list[int], list[float]]]:
        """Per row: the new token ids (without the end token) and each one's log-probability."""
        tokenizer, vocabulary = self.model.tokenizer, self.model.vocabulary
        stopper = RowStopper(tokenizer.decode, comment_rows)
        tokens: list[list[int]] = [[] for _ in input_ids]
        logprobs: list[list[float]] = [[] for _ in input_ids]

        def on_token(group: list[int]) -> Any:
            def step(result: Any) -> bool:  # True ends this row
                row = group[result.batch_id]
                tokens[row].append(result.token_id)
                logprobs[row].append(result.log_prob)
                return stopper.done(row, tokens[row])

            return step

        pending = [
            (group, self.model.generator.generate_batch(
                [[vocabulary[token] for token in input_ids[row]] for row in group],
                asynchronous=True,
                max_length=self.max_new_tokens,
                include_prompt_in_result=False,  # the prompts in one forward pass, up to the shortest
                end_token=list(self.model.end_ids) or None,
                # Penalises the generated tokens only (transformers' also counts the prompt's):
                # the same as the transformers engine only at 1.0, which is what the hook uses.
                repetition_penalty=self.repetition_penalty,
                return_scores=True,  # fills each step's log_prob
                callback=on_token(group),
            ))
            for group in length_groups([len(ids) for ids in input_ids])
        ]
        run_queued()  # the requests run in CTranslate2's threads: this thread is free until their results
        rows: list[tuple[list[int], list[float]]] = [([], []) for _ in input_ids]
        for group, results in pending:
            for row, result in zip(group, results):
                ids = result.result().sequences_ids[0]
                rows[row] = (ids, logprobs[row][: len(ids)])  # the callback also saw the end token
        return rows

    @staticmethod
    def recover() -> None:
        """Nothing to release: CTranslate2 on the CPU has no device memory to free after a failure."""
        pass


__all__ = [
    "SIMILAR_LENGTH_TOKENS",
    "CT2Engine",
    "CT2Model",
    "default_threads",
    "length_groups",
    "load_ct2",
]
