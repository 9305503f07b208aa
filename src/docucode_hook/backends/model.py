"""The model backend: a local HF causal LM (+ PEFT adapter), 4-bit NF4 on CUDA, batched greedy decoding."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from docucode_hook.config import Config
from docucode_hook.context import FunctionContext, Style
from docucode_hook.prompt import COMMENT_TASK, PROMPT_VERSION, Prompt, build_prompt, fit_prompt
from docucode_hook.stopping import UNPRINTABLE, RowStopper, loops

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "docucode-small"
# The completion ends where a docstring closes or the next prompt section would start.
STOP_STRINGS = ('"""', "\n### ")
# Plain greedy: HF-style repetition penalty also counts prompt tokens, so it discourages copying
# names from the code, which is what summaries do (BLEU-4 13.3 at 1.0 vs 12.4 at 1.1 on 120
# test functions).
REPETITION_PENALTY = 1.0
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
# Files up to this size are hashed whole; larger ones by head and tail (a retrain changes both).
FULL_HASH_LIMIT = 64 << 20
SAMPLE_BYTES = 1 << 20
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelLoadError(RuntimeError):
    """The model or adapter cannot be found or loaded; the pipeline falls back to the template."""


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


def resolve_model(ref: str | None) -> tuple[str, bool]:
    """(path or hub id, is a local directory); a missing local directory is a ModelLoadError."""
    if ref is None:
        if not (DEFAULT_MODEL_DIR / "config.json").is_file():
            raise ModelLoadError(f"{DEFAULT_MODEL_DIR}: default model not installed (set `model` in [tool.docucode])")
        return str(DEFAULT_MODEL_DIR), True
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{path}: not a model directory (no config.json)")
        return str(path.resolve()), True
    if path.exists() or not _HUB_ID.match(ref):
        raise ModelLoadError(f"{ref}: model directory not found")
    return ref, False


def resolve_adapter(ref: str | None) -> Path | None:
    """The adapter directory; only safetensors adapters are loaded (a .bin adapter is pickle)."""
    if ref is None:
        return None
    path = Path(ref).expanduser()
    if not path.is_dir():
        raise ModelLoadError(f"{ref}: adapter directory not found")
    if not (path / "adapter_model.safetensors").is_file():
        raise ModelLoadError(f"{ref}: adapter has no adapter_model.safetensors (pickle .bin adapters are refused)")
    return path.resolve()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size <= FULL_HASH_LIMIT:
            digest.update(handle.read())
        else:
            digest.update(handle.read(SAMPLE_BYTES))
            handle.seek(size - SAMPLE_BYTES)
            digest.update(handle.read())
    return f"{path.name}:{size}:{digest.hexdigest()}"


def directory_digest(directory: Path) -> str:
    """sha256 over config files and weight files (sampled when large): cheap, changes on retrain."""
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.suffix == ".json" or path.name.endswith(WEIGHT_SUFFIXES):
            digest.update(_file_digest(path).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class LoadedModel:
    tokenizer: Any
    model: Any
    import_seconds: float
    load_seconds: float


def _quantization_config(cuda: bool) -> Any:
    import torch
    from transformers import BitsAndBytesConfig

    bf16 = not cuda or torch.cuda.is_bf16_supported()
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float16,
    )


def _placement(quantize: bool) -> dict[str, Any]:
    """from_pretrained arguments for dtype and device: NF4 when asked, else fp32 on CPU / half on GPU."""
    import torch

    cuda = torch.cuda.is_available()
    if quantize:
        return {"quantization_config": _quantization_config(cuda), "device_map": {"": 0 if cuda else "cpu"}}
    if cuda:
        half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return {"dtype": half, "device_map": {"": 0}}
    return {"dtype": torch.float32}


# Attention for generation. SDPA with a left-padding mask took 7.5 ms a call at batch 256 on
# an H100, over 80% of the time of generating with DocuCode-small (cProfile, bench/throughput.py
# --profile); prompts here are a few hundred tokens, where eager attention's matmuls are cheap.
GENERATION_ATTENTION = "eager"


@functools.lru_cache(maxsize=4)  # one load per (model, adapter, quantization) per process
def load_model(ref: str, local_only: bool, adapter: Path | None, quantize: bool) -> LoadedModel:
    """Tokenizer and eval-mode model (with the adapter applied), loaded from safetensors only."""
    started = time.perf_counter()
    import torch  # noqa: F401  # imported first so its cost counts as import, not load
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    imported = time.perf_counter()
    hf_logging.disable_progress_bar()  # a commit hook's output is for findings, not loading bars
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref, local_files_only=local_only, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            ref, local_files_only=local_only, trust_remote_code=False, use_safetensors=True,
            attn_implementation=GENERATION_ATTENTION, **_placement(quantize)
        )
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter), is_trainable=False)
    except Exception as exc:  # corrupt weights raise library-specific errors; all mean "cannot load"
        raise ModelLoadError(f"{ref}: cannot load model: {exc}".splitlines()[0]) from exc
    model.eval()
    tokenizer.padding_side = "left"  # decoder-only: new tokens must follow every prompt directly
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedModel(tokenizer, model, imported - started, time.perf_counter() - imported)


# A local Llama checkpoint at most this large runs on the NumPy runtime (no torch import).
NUMPY_MAX_WEIGHT_BYTES = 512 << 20


def numpy_runnable(directory: Path) -> bool:
    """A local Llama directory small enough for ``runtime.NumpyLlama`` (the shipped model is)."""
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    weights = sum(p.stat().st_size for p in directory.glob("*.safetensors"))
    return config.get("model_type") == "llama" and not config.get("rope_scaling") and 0 < weights <= NUMPY_MAX_WEIGHT_BYTES


@functools.lru_cache(maxsize=4)  # one load per model directory per process
def load_numpy(directory: str) -> Any:
    from docucode_hook.runtime import NumpyLlama

    try:
        return NumpyLlama(directory)
    except Exception as exc:  # unreadable shards, a bad tokenizer.json: all mean "cannot load"
        raise ModelLoadError(f"{directory}: cannot load model: {exc}".splitlines()[0]) from exc


class _TorchEngine:
    def __init__(self, loaded: LoadedModel, max_new_tokens: int) -> None:
        self.loaded, self.max_new_tokens = loaded, max_new_tokens
        self.max_positions = getattr(loaded.model.config, "max_position_embeddings", None)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        # verbose=False: fitting measures whole prompts first, longer than the model on purpose.
        return self.loaded.tokenizer(list(texts), verbose=False)["input_ids"]

    def generate(self, input_ids: list[list[int]], comment_rows: Sequence[bool]) -> list[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        batch = tokenizer.pad({"input_ids": input_ids}, return_tensors="pt").to(model.device)
        start = batch["input_ids"].shape[1]
        stopper = RowStopper(tokenizer.decode, comment_rows)

        class _RowsDone(StoppingCriteria):
            # Per row, so a finished row stops counting towards the batch's length.
            def __call__(self, ids: Any, scores: Any, **kwargs: Any) -> Any:
                rows = ids[:, start:].tolist()
                return torch.tensor([stopper.done(i, row) for i, row in enumerate(rows)], device=ids.device)

        with torch.inference_mode():
            output = model.generate(
                **batch,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                repetition_penalty=REPETITION_PENALTY,
                stopping_criteria=StoppingCriteriaList([_RowsDone()]),
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        return tokenizer.batch_decode(output[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)

    @staticmethod
    def recover() -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


class _NumpyEngine:
    def __init__(self, runtime: Any, max_new_tokens: int, max_positions: int | None) -> None:
        self.runtime, self.max_new_tokens, self.max_positions = runtime, max_new_tokens, max_positions

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.runtime.tokenizer.encode_batch(list(texts))]

    def generate(self, input_ids: list[list[int]], comment_rows: Sequence[bool]) -> list[str]:
        stopper = RowStopper(self.runtime.tokenizer.decode, comment_rows)
        rows = self.runtime.generate_ids(input_ids, self.max_new_tokens, REPETITION_PENALTY, stopper.done)
        return self.runtime.tokenizer.decode_batch(rows, skip_special_tokens=True)

    @staticmethod
    def recover() -> None:
        pass


class ModelBackend:
    """Raw docstring text from a local causal LM, loaded once on the first ``generate``.

    ``config.runtime`` "auto" runs a small local Llama without adapter (the shipped model)
    on the NumPy runtime and everything else through transformers (NF4 on CUDA).
    """

    name = "model"

    def __init__(self, config: Config, quantize_4bit: bool | None = None) -> None:
        self.config = config
        self.model_ref, self.local = resolve_model(config.model)
        self.adapter = resolve_adapter(config.adapter)
        self.requested_4bit = quantize_4bit
        small = self.local and numpy_runnable(Path(self.model_ref))
        if config.runtime == "numpy" and (not small or self.adapter or quantize_4bit):
            raise ModelLoadError(f"{self.model_ref}: the numpy runtime runs small local Llama models without adapter")
        auto = config.runtime == "auto" and small and not self.adapter and not quantize_4bit
        self.runtime = "numpy" if config.runtime == "numpy" or auto else "transformers"
        self.import_seconds = 0.0
        self.load_seconds = 0.0
        self.generate_seconds = 0.0
        self.generated = 0
        self._engine: _TorchEngine | _NumpyEngine | None = None

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

    def engine(self) -> _TorchEngine | _NumpyEngine:
        """The generation engine, built on the first call and kept: the pipeline asks per batch."""
        if self._engine is None:
            if self.runtime == "transformers":
                self._engine = _TorchEngine(self.loaded(), self.config.max_new_tokens)
            else:
                started = time.perf_counter()
                runtime = load_numpy(self.model_ref)
                self.load_seconds = time.perf_counter() - started
                self._engine = _NumpyEngine(runtime, self.config.max_new_tokens, runtime.shape.max_positions)
        return self._engine

    def cache_key(self) -> str:
        """Model and adapter digests plus every setting that changes the generated text."""
        model = directory_digest(Path(self.model_ref)) if self.local else self.model_ref
        adapter = directory_digest(self.adapter) if self.adapter else "-"
        # "auto" rather than probing CUDA: a cache hit must not pay for importing torch.
        nf4 = "auto" if self.requested_4bit is None else self.requested_4bit
        settings = f"nf4={nf4}:max_new={self.config.max_new_tokens}:rp={REPETITION_PENALTY}"
        return f"model:{self.model_ref}:{model}:adapter:{adapter}:{settings}:prompt:{PROMPT_VERSION}"

    def generate(self, contexts: Sequence[FunctionContext], style: Style) -> list[str | None]:
        """One text per context; a batch that fails (OOM, ...) gives None for its contexts."""
        return self.generate_prompts([build_prompt(ctx, style) for ctx in contexts], strict=False)

    def generate_prompts(self, prompts: Sequence[Prompt], strict: bool = False) -> list[str | None]:
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
        results: list[str | None] = [None] * len(prompts)
        size = self.config.batch_size
        for start in range(0, len(order), size):
            texts = self._generate_batch(engine, order[start : start + size], encoded, prompts, strict)
            for index, text in texts.items():
                results[index] = cut(prompts[index], text)
        self.generate_seconds += time.perf_counter() - started
        self.generated += len(prompts)
        return results

    def _generate_batch(
        self, engine: Any, batch: list[int], encoded: list[list[int]], prompts: Sequence[Prompt], strict: bool
    ) -> dict[int, str]:
        """Raw texts by prompt index, for the prompts that ``batch`` names.

        Out of memory halves the batch and tries again (a GPU shared with other processes);
        any other failure, or one row out of memory, gives up on those prompts.
        """
        try:
            texts = engine.generate([encoded[i] for i in batch], [prompts[i].task == COMMENT_TASK for i in batch])
            return dict(zip(batch, texts))
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
    "DEFAULT_MODEL_DIR",
    "STOP_STRINGS",
    "LoadedModel",
    "ModelBackend",
    "ModelLoadError",
    "cut",
    "cut_comment",
    "cut_completion",
    "directory_digest",
    "load_model",
    "resolve_adapter",
    "resolve_model",
]
