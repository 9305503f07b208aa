"""Timed generation for the evaluation scripts: a backend fed prompts (or contexts) in batches.

Both return the backend's own ``Generation`` (text and, from a model, the token
log-probabilities the confidence gates read), so an evaluation grounds exactly what the hook
would.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from docucode_hook.backends import Generation
from docucode_hook.code.records import FunctionContext, Style


def _batches(indices: Sequence[int], size: int) -> list[list[int]]:
    return [list(indices[start : start + size]) for start in range(0, len(indices), size)]


def generate_from_prompts(backend: Any, prompts: Sequence[Any], batch_size: int) -> list[tuple[Generation | None, float]]:
    """The model backend's own fitting, decoding and cutting, fed the given prompts.

    ``ModelBackend.generate`` builds prompts from contexts; a record's prompt also holds
    context its snippet lacks (imports, class), so the record's own prompt is fed here.
    Errors propagate (strict): a silent template fallback would credit the model with its text.
    """
    results: list[tuple[Generation | None, float]] = []
    for batch in _batches(range(len(prompts)), batch_size):
        started = time.perf_counter()
        generations = backend.complete([prompts[index] for index in batch], strict=True)
        share = (time.perf_counter() - started) / len(batch)
        results += [(generation, share) for generation in generations]
    return results


def generate_from_contexts(
    backend: Any, contexts: Sequence[FunctionContext], style: Style, batch_size: int
) -> list[tuple[Generation | None, float]]:
    """Any backend through its public ``generate``, timed per batch."""
    results: list[tuple[Generation | None, float]] = []
    for batch in _batches(range(len(contexts)), batch_size):
        started = time.perf_counter()
        generations = backend.generate([contexts[index] for index in batch], style)
        share = (time.perf_counter() - started) / len(batch)
        results += [(generation, share) for generation in generations]
    return results


__all__ = ["generate_from_contexts", "generate_from_prompts"]
