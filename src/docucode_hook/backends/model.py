"""The model backend: a local model on CTranslate2 int8, or any HF causal LM (+ PEFT adapter) through
transformers, 4-bit NF4 on CUDA; batched greedy decoding."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Sequence

from docucode_hook.backends import Generation
from docucode_hook.backends.convert import QUANTIZATION as CT2_COMPUTE_TYPE
from docucode_hook.backends.convert import is_ct2_model
from docucode_hook.backends.loading import LoadedModel, ModelLoadError, ct2_unsuitable, load_ct2_model, load_model, resolve_adapter, resolve_model
from docucode_hook.backends.digest import directory_digest
from docucode_hook.backends.logprobs import place_logprobs
from docucode_hook.config import Config
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.backends.prompt import COMMENT_TASK, PROMPT_VERSION, Prompt, build_prompt, fit_prompt
from docucode_hook.backends.stopping import UNPRINTABLE, RowStopper, loops

# The completion ends where a docstring closes or the next prompt section would start.
STOP_STRINGS = ('"""', "\n### ")
# Plain greedy: HF-style repetition penalty also counts prompt tokens, so it discourages copying
# names from the code, which is what summaries do (BLEU-4 13.3 at 1.0 vs 12.4 at 1.1 on 120
# test functions).
REPETITION_PENALTY = 1.0


def cut_completion(text: str) -> str | None:
    """The docstring part of a raw completion: up to a closing quote, a ``### `` header, or a loop."""
    end = len(text)
    for stop in ('"""', "'''"):
        if stop in text:
            end = min(end, text.index(stop))
    text = text[:end]
    lines = text.splitlines()
    seen: set[str] = set()
    for index, line in enumerate(lines):
        # A header starts the next prompt section; a repeated line, or one that repeats itself,
        # means greedy decoding of a small model has fallen into a loop, and the rest is that loop.
        if line.startswith("### ") or (line.strip() and line in seen) or loops(line):
            lines = lines[:index]
            break
        seen.add(line)
    cleaned = UNPRINTABLE.sub("", "\n".join(lines)).strip()
    return cleaned or None


def cut_comment(text: str) -> str | None:
    """The first line of a comment completion: a comment is one line, the rest is not its text."""
    lines = UNPRINTABLE.sub("", text).strip().splitlines()
    return lines[0].strip() if lines else None


def cut(prompt: Prompt, text: str) -> str | None:
    """The usable part of a raw completion, by the prompt's task."""
    return cut_comment(text) if prompt.task == COMMENT_TASK else cut_completion(text)


class _TorchEngine:
    def __init__(self, loaded: LoadedModel, max_new_tokens: int) -> None:
        self.loaded, self.max_new_tokens = loaded, max_new_tokens
        self.max_positions = getattr(loaded.model.config, "max_position_embeddings", None)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, with the model's own tokenizer."""
        # verbose=False: fitting measures whole prompts first, longer than the model on purpose.
        return self.loaded.tokenizer(list(texts), verbose=False)["input_ids"]

    def decode(self, rows: Sequence[Sequence[int]]) -> list[str]:
        """Decode rows of token ids into strings, leaving out special tokens."""
        return self.loaded.tokenizer.batch_decode([list(row) for row in rows], skip_special_tokens=True)

    def generate(self, input_ids: list[list[int]], comment_rows: Sequence[bool]) -> list[tuple[list[int], list[float]]]:
        """Per row: the new token ids (without the end token) and each one's log-probability."""
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        batch = tokenizer.pad({"input_ids": input_ids}, return_tensors="pt").to(model.device)
        start = batch["input_ids"].shape[1]
        stopper = RowStopper(tokenizer.decode, comment_rows)
        done_at: dict[int, int] = {}  # row -> its length when the stopper ended it
        steps: list[Any] = []

        class _RowsDone(StoppingCriteria):
            # Per row, so a finished row stops counting towards the batch's length.
            def __call__(self, ids: Any, scores: Any, **kwargs: Any) -> Any:
                rows = ids[:, start:].tolist()
                done = [stopper.done(i, row) for i, row in enumerate(rows)]
                for i, row_done in enumerate(done):
                    if row_done:
                        done_at.setdefault(i, len(rows[i]))
                return torch.tensor(done, device=ids.device)

        class _ChosenLogprob(LogitsProcessor):
            # Runs after transformers' own processors. Greedy picks the highest score, whose
            # log-probability is the largest log-softmax: one number per row and step, where
            # compute_transition_scores would keep every step's whole [batch, vocab] scores.
            def __call__(self, ids: Any, scores: Any) -> Any:
                steps.append(torch.log_softmax(scores.float(), dim=-1).amax(dim=-1))
                return scores

        with torch.inference_mode():
            output = model.generate(
                **batch,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                repetition_penalty=REPETITION_PENALTY,
                logits_processor=LogitsProcessorList([_ChosenLogprob()]),
                stopping_criteria=StoppingCriteriaList([_RowsDone()]),
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        logprobs = torch.stack(steps, dim=1).tolist() if steps else [[] for _ in input_ids]
        rows = []
        for i, ids in enumerate(output[:, start:].tolist()):
            end = done_at.get(i, len(ids))
            if tokenizer.eos_token_id in ids[:end]:
                end = ids.index(tokenizer.eos_token_id)
            rows.append((ids[:end], logprobs[i][:end]))
        return rows

    @staticmethod
    def recover() -> None:
        """Free cached CUDA memory after an out-of-memory failure, so a smaller batch can run."""
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


RUNTIME_TRANSFORMERS, RUNTIME_CT2 = "transformers", "ctranslate2"


def char_origins(raw: str, text: str) -> list[int]:
    """For each character of ``text`` (a cut of ``raw``), the index in ``raw`` it came from.

    Cutting keeps a prefix, drops unprintable characters and surrounding blanks, and turns
    each line break into a newline: walking both strings in step finds each kept character.
    """
    origins: list[int] = []
    i = 0
    for char in text:
        while i < len(raw) and raw[i] != char and not (char == "\n" and raw[i] in _LINE_BREAKS):
            i += 1
        if i == len(raw):
            break
        origins.append(i)
        i += 2 if raw.startswith("\r\n", i) and char == "\n" else 1
    return origins


_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def to_generation(prompt: Prompt, raw: str, starts: Sequence[int], logprobs: Sequence[float]) -> Generation | None:
    """The cut text of a raw completion, with the log-probability of each token that survives in it.

    ``starts[k]`` is where token k's text starts in ``raw`` (see ``logprobs.place_logprobs``).
    """
    text = cut(prompt, raw)
    if text is None:
        return None
    if not logprobs:
        return Generation(text)
    return Generation(text, place_logprobs(char_origins(raw, text), len(raw), starts, logprobs))


def token_starts(prefixes: Sequence[str]) -> list[int]:
    """Token k's start in the decoded text, from the decoded text of tokens before k.

    A prefix that ends inside a multi-byte character decodes with a trailing U+FFFD that
    the whole text does not have there.
    """
    starts, last = [], 0
    for prefix in prefixes:
        last = max(last, len(prefix.rstrip("\ufffd")))
        starts.append(last)
    return starts


class ModelBackend:
    """Raw docstring text from a local causal LM, loaded once on the first ``generate``.

    ``config.runtime`` "auto" runs a local Llama directory without adapter (the shipped
    model), or a CTranslate2 model directory, on CTranslate2 int8; everything else goes
    through transformers (NF4 on CUDA). "ctranslate2" asks for CTranslate2 and falls back
    to transformers, with one warning, for a model it cannot run.
    """

    name = "model"

    def __init__(
        self,
        config: Config,
        quantize_4bit: bool | None = None,
        ct2_compute_type: str = CT2_COMPUTE_TYPE,
        ct2_threads: tuple[int, int] | None = None,
    ) -> None:
        """``ct2_threads``: CTranslate2's (inter_threads, intra_threads); default one worker per CPU."""
        self.config = config
        self.ct2_threads = ct2_threads
        self.model_ref, self.local = resolve_model(config.model)
        self.adapter = resolve_adapter(config.adapter)
        self.requested_4bit = quantize_4bit
        self.ct2_compute_type = ct2_compute_type
        unsuitable = ct2_unsuitable(self.model_ref, self.local, self.adapter, quantize_4bit)
        if self.local and is_ct2_model(Path(self.model_ref)):
            if unsuitable or config.runtime == RUNTIME_TRANSFORMERS:
                raise ModelLoadError(f"{self.model_ref}: a CTranslate2 model runs on runtime 'ctranslate2' only, "
                                     "without adapter")
            self.runtime = RUNTIME_CT2
        elif config.runtime == RUNTIME_TRANSFORMERS or unsuitable:
            if config.runtime == RUNTIME_CT2 and unsuitable:
                warnings.warn(f"{self.model_ref}: runtime 'ctranslate2' cannot run this model ({unsuitable}); "
                              "using transformers", stacklevel=2)
            self.runtime = RUNTIME_TRANSFORMERS
        else:
            self.runtime = RUNTIME_CT2
        self.import_seconds = 0.0
        self.load_seconds = 0.0
        self.generate_seconds = 0.0
        self.generated = 0
        self._engine: Any = None

    @property
    def quantize(self) -> bool:
        """4-bit NF4 when asked, else whenever CUDA is present."""
        if self.requested_4bit is not None:
            return self.requested_4bit
        import torch

        return torch.cuda.is_available()

    def loaded(self) -> LoadedModel:
        """The process-wide transformers model for this config; timings are those of its one load."""
        loaded = load_model(self.model_ref, self.config.offline or self.local, self.adapter, self.quantize)
        self.import_seconds, self.load_seconds = loaded.import_seconds, loaded.load_seconds
        return loaded

    def engine(self) -> Any:
        """The generation engine, built on the first call and kept: the pipeline asks per batch."""
        if self._engine is None:
            if self.runtime == RUNTIME_TRANSFORMERS:
                self._engine = _TorchEngine(self.loaded(), self.config.max_new_tokens)
            else:
                from docucode_hook.backends.ct2 import CT2Engine

                started = time.perf_counter()
                model = load_ct2_model(self.model_ref, self.ct2_compute_type, self.ct2_threads)
                self.load_seconds = time.perf_counter() - started
                self._engine = CT2Engine(model, self.config.max_new_tokens, REPETITION_PENALTY)
        return self._engine

    def cache_key(self) -> str:
        """Model and adapter digests plus every setting that changes the generated text."""
        model = directory_digest(Path(self.model_ref)) if self.local else self.model_ref
        adapter = directory_digest(self.adapter) if self.adapter else "-"
        # "auto" rather than probing CUDA: a cache hit must not pay for importing torch.
        nf4 = "auto" if self.requested_4bit is None else self.requested_4bit
        engine = f"ct2-{self.ct2_compute_type}" if self.runtime == RUNTIME_CT2 else f"transformers:nf4={nf4}"
        settings = f"{engine}:max_new={self.config.max_new_tokens}:rp={REPETITION_PENALTY}"
        return f"model:{self.model_ref}:{model}:adapter:{adapter}:{settings}:prompt:{PROMPT_VERSION}"

    def generate(self, contexts: Sequence[FunctionContext], style: Style) -> list[Generation | None]:
        """One generation per context; a batch that fails (OOM, ...) gives None for its contexts."""
        return self.complete([build_prompt(ctx, style) for ctx in contexts], strict=False)

    def generate_prompts(self, prompts: Sequence[Prompt], strict: bool = False) -> list[str | None]:
        """Cut completions for built prompts, as text (see ``complete``)."""
        return [g.text if g else None for g in self.complete(prompts, strict)]

    def complete(self, prompts: Sequence[Prompt], strict: bool = False) -> list[Generation | None]:
        """Cut completions for built prompts, each shortened to fit the model's positions.

        A prompt that cannot fit (its signature alone is too long) gets None, as training
        drops such records: past its positions the model writes noise, and one long row
        makes the whole batch's attention grow with the square of its length.
        ``strict`` re-raises a failing batch (evaluation must not hide failures); otherwise
        its prompts get None and a warning, and the pipeline falls back to the template.
        """
        if not prompts:
            return []
        engine = self.engine()
        started = time.perf_counter()
        limit = engine.max_positions - self.config.max_new_tokens if engine.max_positions else None
        if limit:
            prompts = [fit_prompt(p, lambda text: len(engine.encode([text])[0]), limit) for p in prompts]
        encoded = engine.encode([p.text for p in prompts])
        fitting = [i for i in range(len(prompts)) if limit is None or len(encoded[i]) <= limit]
        if len(fitting) < len(prompts):
            warnings.warn(f"{len(prompts) - len(fitting)} function(s) too long for the model's "
                          f"{engine.max_positions} positions", stacklevel=2)
        # Similar lengths in a batch waste the least compute on padding.
        order = sorted(fitting, key=lambda i: len(encoded[i]))
        results: list[Generation | None] = [None] * len(prompts)
        size = self.config.batch_size
        for start in range(0, len(order), size):
            rows = self._generate_batch(engine, order[start : start + size], encoded, prompts, strict)
            for index, generation in self._generations(engine, rows, prompts).items():
                results[index] = generation
        self.generate_seconds += time.perf_counter() - started
        self.generated += len(prompts)
        return results

    @staticmethod
    def _generations(
        engine: Any, rows: dict[int, tuple[list[int], list[float]]], prompts: Sequence[Prompt]
    ) -> dict[int, Generation | None]:
        """Decode each row, cut it, and place each surviving token's log-probability in the cut text."""
        indexes = list(rows)
        raws = engine.decode([rows[i][0] for i in indexes])
        # The text of every prefix of every row, in one call: where each token's text starts.
        prefixes = iter(engine.decode([rows[i][0][:k] for i in indexes for k in range(len(rows[i][0]))]))
        generations = {}
        for index, raw in zip(indexes, raws):
            ids, logprobs = rows[index]
            starts = token_starts([next(prefixes) for _ in ids])
            generations[index] = to_generation(prompts[index], raw, starts, logprobs)
        return generations

    def _generate_batch(
        self, engine: Any, batch: list[int], encoded: list[list[int]], prompts: Sequence[Prompt], strict: bool
    ) -> dict[int, tuple[list[int], list[float]]]:
        """Generated token ids and log-probabilities by prompt index, for the prompts that ``batch`` names.

        Out of memory halves the batch and tries again (a GPU shared with other processes);
        any other failure, or one row out of memory, gives up on those prompts.
        """
        try:
            rows = engine.generate([encoded[i] for i in batch], [prompts[i].task == COMMENT_TASK for i in batch])
            return dict(zip(batch, rows))
        except Exception as exc:  # OOM, a bad prompt, a CUDA error: fall back for this batch only
            engine.recover()
            if _out_of_memory(exc) and len(batch) > 1:
                half = len(batch) // 2
                return {**self._generate_batch(engine, batch[:half], encoded, prompts, strict),
                        **self._generate_batch(engine, batch[half:], encoded, prompts, strict)}
            if strict:
                raise
            warnings.warn(f"model generation failed for {len(batch)} function(s): {exc}".splitlines()[0], stacklevel=3)
            return {}


def _out_of_memory(exc: BaseException) -> bool:
    """torch's OutOfMemoryError, or a CUDA runtime error saying the same."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc)


__all__ = [
    "CT2_COMPUTE_TYPE",
    "RUNTIME_CT2",
    "RUNTIME_TRANSFORMERS",
    "STOP_STRINGS",
    "ModelBackend",
    "char_origins",
    "cut",
    "cut_comment",
    "cut_completion",
    "to_generation",
    "token_starts",
]
