"""Build a CTranslate2 model from a standard HF Llama directory, from its safetensors arrays alone.

The HF directory (config, tokenizer, safetensors) stays the one canonical checkpoint: it is
what training, PEFT adapters and a user's own model use. The CTranslate2 model the hook runs
is derived from it with CTranslate2's model-spec API and ``safetensors.numpy`` (no torch,
no transformers), once per source model, into the user cache; ``train.export`` writes the
same model for a merged fine-tune. Whatever wrote it, a converted directory holds
``model.bin`` and CTranslate2's ``config.json``, plus the source's ``tokenizer.json`` and
``docucode.json`` (the facts about the source the engine needs: positions, end tokens).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from docucode_hook.backends.digest import directory_digest

# The hook's compute type: 3.8x the NumPy runtime's speed on the 2-core CPU, where float32
# is 1.7x (docs/benchmarks.md). Weights are stored the same way, so loading converts nothing.
QUANTIZATION = "int8"
SIDECAR = "docucode.json"
# Bump when the converter writes a different model from the same source.
CONVERTER_VERSION = 1


class ConversionError(ValueError):
    """The directory is not a model the converter can turn into a CTranslate2 model."""


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file as a dict ({} when it is missing, not JSON or not an object)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_config(model_dir: Path) -> dict[str, Any]:
    """The directory's ``config.json`` (HF's or CTranslate2's) as a dict."""
    return read_json(Path(model_dir) / "config.json")


def is_ct2_model(model_dir: Path) -> bool:
    """A CTranslate2 model directory: ``model.bin`` and CTranslate2's config (no HF ``model_type``)."""
    model_dir = Path(model_dir)
    return (model_dir / "model.bin").is_file() and (model_dir / "config.json").is_file() and (
        "model_type" not in read_config(model_dir)
    )


def unconvertible_reason(model_dir: Path) -> str | None:
    """Why ``model_dir`` cannot be converted (a short phrase), or None for a local Llama it can convert."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    if config.get("model_type") != "llama":
        return f"model type {config.get('model_type')!r} is not Llama"
    rope = config.get("rope_scaling") or config.get("rope_parameters") or {}
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        return "rope scaling is not converted"
    if config.get("hidden_act", "silu") != "silu" or config.get("mlp_bias"):
        return "the feed-forward layers are not Llama's"
    if (config.get("dtype") or config.get("torch_dtype")) == "bfloat16":
        return "bfloat16 weights cannot be read without torch"
    if not _weight_files(model_dir):
        return "no safetensors weights"
    if not (model_dir / "tokenizer.json").is_file():
        return "no tokenizer.json"
    return None


def _weight_files(model_dir: Path) -> list[Path]:
    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        try:
            names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (OSError, ValueError, KeyError, AttributeError):
            return []
        return [model_dir / name for name in names]
    single = model_dir / "model.safetensors"
    return [single] if single.is_file() else []


def load_arrays(model_dir: Path) -> dict[str, Any]:
    """Every tensor of an HF model directory's safetensors files (one file or shards), as numpy arrays."""
    from safetensors.numpy import load_file

    arrays: dict[str, Any] = {}
    for path in _weight_files(model_dir):
        arrays.update(load_file(path))
    return arrays


def end_token_ids(config: dict[str, Any], model_dir: Path) -> list[int]:
    """The ids that end generation: ``generation_config.json``'s ``eos_token_id``, else the config's."""
    eos: Any = read_json(model_dir / "generation_config.json").get("eos_token_id", config.get("eos_token_id"))
    return [int(e) for e in eos] if isinstance(eos, list) else ([] if eos is None else [int(eos)])


def _import_specs() -> Any:
    """``ctranslate2.specs``, imported without torch.

    It imports torch whenever torch is installed, only to accept torch tensors as well as
    numpy arrays; that import took 4.4 s of a 5.3 s conversion on the 2-core machine. The
    arrays here are numpy, so torch is hidden while the module loads (unless already loaded).
    """
    if "torch" in sys.modules:
        import ctranslate2.specs

        return ctranslate2.specs
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes "import torch" raise ImportError
    try:
        import ctranslate2.specs
    finally:
        del sys.modules["torch"]
    return ctranslate2.specs


def _llama_spec(config: dict[str, Any], arrays: dict[str, Any]) -> Any:
    """The decoder spec of CTranslate2's own Llama loader, filled from numpy arrays."""
    import numpy as np

    specs = _import_specs()
    common_spec, transformer_spec = specs.common_spec, specs.transformer_spec

    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim")
    rope = config.get("rope_parameters") or {}
    spec = transformer_spec.TransformerDecoderModelSpec.from_config(
        config["num_hidden_layers"],
        heads,
        activation=common_spec.Activation.SWISH,
        pre_norm=True,
        ffn_glu=True,
        rms_norm=True,
        rotary_dim=0,  # all of each head
        rotary_interleave=False,  # HF's rotate_half: the two halves, not even/odd pairs
        rotary_base=float(rope.get("rope_theta", config.get("rope_theta", 10000.0))),
        num_heads_kv=kv_heads if kv_heads != heads else None,
        head_dim=head_dim if head_dim and head_dim != config["hidden_size"] // heads else None,
    )
    decoder = spec.decoder
    decoder.scale_embeddings = False
    decoder.embeddings.weight = arrays["model.embed_tokens.weight"]
    decoder.layer_norm.gamma = arrays["model.norm.weight"]
    for index, layer in enumerate(decoder.layer):
        prefix = f"model.layers.{index}."
        attention = prefix + "self_attn."
        layer.self_attention.layer_norm.gamma = arrays[prefix + "input_layernorm.weight"]
        layer.ffn.layer_norm.gamma = arrays[prefix + "post_attention_layernorm.weight"]
        fused = layer.self_attention.linear[0]  # CTranslate2 runs q, k and v as one matmul
        fused.weight = np.concatenate([arrays[f"{attention}{p}_proj.weight"] for p in "qkv"])
        if f"{attention}q_proj.bias" in arrays:  # attention_bias = true
            fused.bias = np.concatenate([arrays[f"{attention}{p}_proj.bias"] for p in "qkv"])
        layer.self_attention.linear[1].weight = arrays[attention + "o_proj.weight"]
        if attention + "o_proj.bias" in arrays:
            layer.self_attention.linear[1].bias = arrays[attention + "o_proj.bias"]
        layer.ffn.linear_0.weight = arrays[prefix + "mlp.gate_proj.weight"]
        layer.ffn.linear_0_noact.weight = arrays[prefix + "mlp.up_proj.weight"]
        layer.ffn.linear_1.weight = arrays[prefix + "mlp.down_proj.weight"]
    decoder.projection.weight = arrays.get("lm_head.weight", arrays["model.embed_tokens.weight"])
    return spec


def convert_to_ct2(source: Path, out_dir: Path, quantization: str = QUANTIZATION) -> Path:
    """Write the CTranslate2 model of the HF Llama directory ``source`` to ``out_dir`` (replaced).

    Raises ConversionError for a model it cannot convert; errors reading the files pass through.
    """
    from tokenizers import Tokenizer

    source, out_dir = Path(source), Path(out_dir)
    if reason := unconvertible_reason(source):
        raise ConversionError(f"{source}: cannot convert to CTranslate2: {reason}")
    config = read_config(source)
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    try:
        spec = _llama_spec(config, load_arrays(source))
    except KeyError as exc:
        raise ConversionError(f"{source}: cannot convert to CTranslate2: weight {exc} is missing") from None
    vocab_size = spec.get_vocabulary_size()
    # The engine maps ids to token strings through this list: one entry per embedding row.
    tokens = [tokenizer.id_to_token(i) or f"<extra_id_{i}>" for i in range(vocab_size)]
    spec.register_vocabulary(tokens)
    end_ids = end_token_ids(config, source)

    def token(key: str, fallback: str) -> str:
        token_id = config.get(key)
        return tokens[token_id] if isinstance(token_id, int) and 0 <= token_id < vocab_size else fallback

    spec.config.bos_token = token("bos_token_id", "<s>")
    spec.config.eos_token = tokens[end_ids[0]] if end_ids else "</s>"
    spec.config.unk_token = getattr(tokenizer.model, "unk_token", None) or "<unk>"
    spec.config.layer_norm_epsilon = float(config.get("rms_norm_eps", 1e-6))
    spec.register_file(str(source / "tokenizer.json"))
    spec.validate()
    spec.optimize(quantization=quantization)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    spec.save(str(out_dir))
    sidecar = {
        "converter": CONVERTER_VERSION,
        "quantization": quantization,
        "max_position_embeddings": config.get("max_position_embeddings"),
        "eos_token_id": end_ids,
    }
    (out_dir / SIDECAR).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return out_dir


def converted_model(source: Path, cache_root: Path, quantization: str = QUANTIZATION) -> Path:
    """The CTranslate2 model of ``source`` under ``cache_root``, converted on first use.

    Keyed by the source's digest, so a retrained model converts again. Built in a temporary
    directory and renamed into place: hook processes running at the same time each see
    either no model or a whole one (the one that loses the race keeps the winner's).
    """
    source = Path(source)
    key = hashlib.sha256(f"{directory_digest(source)}:converter:{CONVERTER_VERSION}".encode()).hexdigest()
    target = Path(cache_root) / f"{source.name}-{key[:24]}-{quantization}"
    if (target / SIDECAR).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        convert_to_ct2(source, building / "model", quantization)
        try:
            os.rename(building / "model", target)
        except OSError:  # another process renamed its own first: both are the same model
            if not (target / SIDECAR).is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def discard(converted: Path) -> None:
    """Remove a converted model that cannot be loaded, so the next run converts it again."""
    graveyard = Path(tempfile.mkdtemp(dir=converted.parent, prefix=".broken-"))
    try:
        os.rename(converted, graveyard / "model")
    except OSError:
        pass
    shutil.rmtree(graveyard, ignore_errors=True)


__all__ = [
    "QUANTIZATION",
    "SIDECAR",
    "ConversionError",
    "convert_to_ct2",
    "converted_model",
    "discard",
    "end_token_ids",
    "is_ct2_model",
    "load_arrays",
    "read_config",
    "read_json",
    "unconvertible_reason",
]
