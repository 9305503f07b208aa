"""Finding and loading the model backend's model: a local directory or hub id, an adapter, on
transformers (NF4 on CUDA when asked) or CTranslate2 (converted once into the user cache)."""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docucode_hook.backends.convert import ConversionError, converted_model, discard, is_ct2_model, unconvertible_reason

if TYPE_CHECKING:
    from docucode_hook.backends.ct2 import CT2Model

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "docucode-small"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelLoadError(RuntimeError):
    """The model or adapter cannot be found or loaded; the pipeline falls back to the template."""


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


@functools.lru_cache(maxsize=4)  # one load per (model, compute type, threads) per process
def load_ct2_model(ref: str, compute_type: str, threads: tuple[int, int] | None = None) -> CT2Model:
    """The CTranslate2 model for a local directory: used as is, or converted once into the user cache.

    A converted copy that cannot be loaded is removed, so that the next run converts again.
    """
    from docucode_hook.backends.ct2 import load_ct2
    from docucode_hook.backends.cache import models_cache_dir

    directory = Path(ref)
    owned = not is_ct2_model(directory)
    if owned:
        try:
            directory = converted_model(directory, models_cache_dir(), quantization=compute_type)
        except ConversionError as exc:
            raise ModelLoadError(str(exc)) from exc
        except Exception as exc:  # unreadable shards, a bad tokenizer.json, a full disk
            raise ModelLoadError(f"{ref}: cannot convert to CTranslate2: {exc}".splitlines()[0]) from exc
    try:
        return load_ct2(directory, compute_type, threads)
    except Exception as exc:  # a truncated model.bin, a missing vocabulary: all mean "cannot load"
        again = ""
        if owned:
            discard(directory)
            again = " (removed from the cache: the next run converts it again)"
        raise ModelLoadError(f"{directory}: cannot load CTranslate2 model{again}: {exc}".splitlines()[0]) from exc


def ct2_unsuitable(model_ref: str, local: bool, adapter: Path | None, quantize_4bit: bool | None) -> str | None:
    """Why CTranslate2 cannot run this model (a short phrase), or None when it can."""
    if not local:
        return "a hub id is loaded by transformers"
    if adapter is not None:
        return "an adapter is applied by transformers"
    if quantize_4bit:
        return "4-bit NF4 loading is transformers'"
    return None if is_ct2_model(Path(model_ref)) else unconvertible_reason(Path(model_ref))


__all__ = [
    "DEFAULT_MODEL_DIR",
    "GENERATION_ATTENTION",
    "LoadedModel",
    "ModelLoadError",
    "ct2_unsuitable",
    "load_ct2_model",
    "load_model",
    "resolve_adapter",
    "resolve_model",
]
