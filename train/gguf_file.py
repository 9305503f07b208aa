"""Write a GGUF file (llama.cpp, Ollama) from an HF Llama directory, with numpy and the ``gguf`` library alone.

The HF directory stays the canonical checkpoint; like the CTranslate2 conversion
(``docucode_hook.backends.convert``), this reads its safetensors and ``tokenizer.json`` as they
are, so exporting the shipped model needs no torch (``pip install 'docucode[gguf]'``). Beside
the GGUF file goes an Ollama ``Modelfile`` that runs it the way the hook prompts it: the raw
prompt in, greedy, no repeat penalty, the server backend's stop strings for completions.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docucode_hook.backends.convert import end_token_ids, load_arrays, read_config, unconvertible_reason
from docucode_hook.backends.served import SHIPPED_GGUF_TYPES

# The weight types written are SHIPPED_GGUF_TYPES, whose names the server backend knows in the
# shipped model's file name (docucode-small-q8_0.gguf). 1-D tensors (the norms) stay float32 in
# every one, as llama.cpp expects.
DEFAULT_OUTTYPE = "q8_0"
MODELFILE = "Modelfile"


class GGUFExportError(ValueError):
    """The directory is not a model this exporter can write as GGUF."""


@dataclass(frozen=True)
class ByteLevelTokenizer:
    """What a GGUF file needs of a byte-level BPE ``tokenizer.json``: tokens by id, merges, specials."""

    tokens: tuple[str, ...]
    merges: tuple[str, ...]
    special_ids: frozenset[int]
    unk_id: int | None
    added_bos_id: int | None  # the token the post-processor puts before every text, as the model was trained


def bos_added_by(post_processor: dict[str, Any] | None) -> str | None:
    """The token a ``tokenizer.json`` post-processor puts before a single text, or None (also for ones it cannot read)."""
    processors = [post_processor] if post_processor else []
    if post_processor and post_processor.get("type") == "Sequence":
        processors = post_processor.get("processors") or []
    for processor in processors:
        if processor.get("type") == "TemplateProcessing":
            first = (processor.get("single") or [{}])[0]
            if "SpecialToken" in first:
                return first["SpecialToken"].get("id")
    return None


def tokenizer_unsupported_reason(tokenizer_json: dict[str, Any]) -> str | None:
    """Why this tokenizer cannot be written for llama.cpp's ``gpt2`` BPE with the ``gpt-2`` pre-tokenizer, or None.

    llama.cpp re-implements each pre-tokenizer it knows by name (``tokenizer.ggml.pre``); the
    one this exporter names splits text as GPT-2's regex does, which is what a ``ByteLevel``
    pre-tokenizer with ``use_regex`` does (the shipped model's). A tokenizer that splits
    otherwise would get other tokens from llama.cpp than from its own library: refused, not guessed.
    """
    model = tokenizer_json.get("model") or {}
    if model.get("type") != "BPE":
        return f"tokenizer model {model.get('type')!r} is not BPE"
    if model.get("byte_fallback") or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        return "the BPE tokenizer is not byte-level"
    if tokenizer_json.get("normalizer") is not None:
        return "the tokenizer has a normalizer"
    pre = tokenizer_json.get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel" or not pre.get("use_regex", True) or pre.get("add_prefix_space"):
        return "the pre-tokenizer is not GPT-2's byte-level split"
    return None


def read_tokenizer(path: Path, vocab_size: int) -> ByteLevelTokenizer:
    """The tokens (one per embedding row), merges and special token ids of a byte-level BPE ``tokenizer.json``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if reason := tokenizer_unsupported_reason(data):
        raise GGUFExportError(reason)
    by_id: dict[int, str] = {int(i): token for token, i in data["model"]["vocab"].items()}
    special_ids = set()
    for added in data.get("added_tokens") or []:
        by_id[int(added["id"])] = added["content"]
        if added.get("special"):
            special_ids.add(int(added["id"]))
    if max(by_id) >= vocab_size:
        raise GGUFExportError(f"the tokenizer has ids up to {max(by_id)}, the embeddings {vocab_size} rows")
    # Rows no token uses (an embedding padded to a round size) get a name llama.cpp never matches in text.
    tokens = tuple(by_id.get(i, f"[PAD{i}]") for i in range(vocab_size))
    special_ids |= {i for i in range(vocab_size) if i not in by_id}
    # tokenizers writes merges as "a b" strings (older files) or as [a, b] pairs; GGUF keeps the strings.
    merges = tuple(m if isinstance(m, str) else " ".join(m) for m in data["model"].get("merges") or [])
    ids = {token: i for i, token in enumerate(tokens)}
    unk = data["model"].get("unk_token")
    bos = bos_added_by(data.get("post_processor"))
    return ByteLevelTokenizer(tokens, merges, frozenset(special_ids), ids.get(unk), ids.get(bos) if bos else None)


def rope_rows_interleaved(weight: Any, heads: int) -> Any:
    """The q or k projection with each head's rows reordered from HF's rotary layout to llama.cpp's.

    HF's Llama rotates dimension i of a head with dimension i + d/2 (``rotate_half``); llama.cpp's
    Llama rotates neighbours (2i with 2i + 1). Moving row i to 2i and row i + d/2 to 2i + 1 makes
    the same attention under llama.cpp's rotation; the v projection is not rotated and stays.
    """
    rows, columns = weight.shape
    return weight.reshape(heads, 2, rows // heads // 2, columns).swapaxes(1, 2).reshape(rows, columns)


def _weight_type(outtype: str, array: Any) -> Any:
    import gguf

    if array.ndim < 2 or outtype == "f32":
        return gguf.GGMLQuantizationType.F32
    if outtype == "f16":
        return gguf.GGMLQuantizationType.F16
    # q8_0 packs rows in blocks of 32 numbers; a row of another length stays float16.
    return gguf.GGMLQuantizationType.Q8_0 if array.shape[-1] % 32 == 0 else gguf.GGMLQuantizationType.F16


def _tensors(config: dict[str, Any], arrays: dict[str, Any]) -> list[tuple[str, Any]]:
    """(GGUF tensor name, numpy array) for every weight, in llama.cpp's names and rotary layout."""
    import gguf

    names = gguf.TENSOR_NAMES
    kinds = gguf.MODEL_TENSOR
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    out = [(names[kinds.TOKEN_EMBD] + ".weight", arrays["model.embed_tokens.weight"]),
           (names[kinds.OUTPUT_NORM] + ".weight", arrays["model.norm.weight"])]
    # Tied embeddings: no output tensor, and llama.cpp projects with the token embeddings.
    if "lm_head.weight" in arrays and not config.get("tie_word_embeddings", False):
        out.append((names[kinds.OUTPUT] + ".weight", arrays["lm_head.weight"]))
    by_hf_name = {
        "input_layernorm": kinds.ATTN_NORM, "self_attn.q_proj": kinds.ATTN_Q, "self_attn.k_proj": kinds.ATTN_K,
        "self_attn.v_proj": kinds.ATTN_V, "self_attn.o_proj": kinds.ATTN_OUT, "post_attention_layernorm": kinds.FFN_NORM,
        "mlp.gate_proj": kinds.FFN_GATE, "mlp.up_proj": kinds.FFN_UP, "mlp.down_proj": kinds.FFN_DOWN,
    }
    for layer in range(config["num_hidden_layers"]):
        for hf_name, kind in by_hf_name.items():
            for part in ("weight", "bias"):
                key = f"model.layers.{layer}.{hf_name}.{part}"
                if key not in arrays:
                    if part == "weight":
                        raise KeyError(key)
                    continue
                array = arrays[key]
                if kind in (kinds.ATTN_Q, kinds.ATTN_K):
                    rotated_heads = heads if kind == kinds.ATTN_Q else kv_heads
                    array = rope_rows_interleaved(array.reshape(array.shape[0], -1), rotated_heads).reshape(array.shape)
                out.append((names[kind].format(bid=layer) + "." + part, array))
    return out


def gguf_unsupported_reason(model_dir: Path) -> str | None:
    """Why ``model_dir`` cannot be exported to GGUF (a short phrase), or None."""
    if reason := unconvertible_reason(model_dir):
        return reason
    try:
        data = json.loads((Path(model_dir) / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "tokenizer.json cannot be read"
    return tokenizer_unsupported_reason(data)


def write_gguf(source: Path, out: Path, outtype: str = DEFAULT_OUTTYPE, name: str | None = None) -> Path:
    """Write the GGUF file of the HF Llama directory ``source`` to ``out`` (replaced whole, or left as it was).

    Raises GGUFExportError for a model it cannot export; errors reading the files pass through.
    """
    import gguf
    import numpy as np

    source, out = Path(source), Path(out)
    if outtype not in SHIPPED_GGUF_TYPES:
        raise GGUFExportError(f"unknown outtype {outtype!r} (one of {', '.join(SHIPPED_GGUF_TYPES)})")
    if reason := gguf_unsupported_reason(source):
        raise GGUFExportError(f"{source}: cannot export to GGUF: {reason}")
    config = read_config(source)
    arrays = load_arrays(source)
    try:
        tensors = _tensors(config, arrays)
    except KeyError as exc:
        raise GGUFExportError(f"{source}: cannot export to GGUF: weight {exc} is missing") from None
    vocab_size = arrays["model.embed_tokens.weight"].shape[0]
    try:
        tokenizer = read_tokenizer(source / "tokenizer.json", vocab_size)
    except GGUFExportError as exc:
        raise GGUFExportError(f"{source}: cannot export to GGUF: {exc}") from None

    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    rope = config.get("rope_parameters") or {}
    file_types = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                  "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}

    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed over it: a reader sees the old file or the whole new one.
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        writer = gguf.GGUFWriter(partial, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
        writer.add_name(name or source.name)
        writer.add_file_type(file_types[outtype])
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        writer.add_context_length(int(config.get("max_position_embeddings") or 2048))
        writer.add_embedding_length(hidden)
        writer.add_block_count(config["num_hidden_layers"])
        writer.add_feed_forward_length(config["intermediate_size"])
        writer.add_head_count(heads)
        writer.add_head_count_kv(config.get("num_key_value_heads") or heads)
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_rope_dimension_count(head_dim)
        writer.add_rope_freq_base(float(rope.get("rope_theta", config.get("rope_theta", 10000.0))))
        writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
        writer.add_vocab_size(vocab_size)

        writer.add_tokenizer_model("gpt2")  # llama.cpp's name for byte-level BPE
        writer.add_tokenizer_pre("gpt-2")
        writer.add_token_list(list(tokenizer.tokens))
        writer.add_token_types([gguf.TokenType.CONTROL if i in tokenizer.special_ids else gguf.TokenType.NORMAL
                                for i in range(vocab_size)])
        writer.add_token_merges(list(tokenizer.merges))
        bos = tokenizer.added_bos_id if tokenizer.added_bos_id is not None else config.get("bos_token_id")
        if isinstance(bos, int):
            writer.add_bos_token_id(bos)
        if isinstance(config.get("pad_token_id"), int):
            writer.add_pad_token_id(config["pad_token_id"])
        if eos_ids := end_token_ids(config, source):
            writer.add_eos_token_id(eos_ids[0])
        if tokenizer.unk_id is not None:
            writer.add_unk_token_id(tokenizer.unk_id)
        # llama.cpp adds BOS by this flag alone; the hook's tokenizer by tokenizer.json's post-processor.
        writer.add_add_bos_token(tokenizer.added_bos_id is not None)
        writer.add_add_eos_token(False)

        for tensor_name, array in tensors:
            kind = _weight_type(outtype, array)
            data = np.ascontiguousarray(array, dtype=np.float32)
            if kind == gguf.GGMLQuantizationType.F32:
                writer.add_tensor(tensor_name, data)
            elif kind == gguf.GGMLQuantizationType.F16:
                writer.add_tensor(tensor_name, data.astype(np.float16))
            else:
                writer.add_tensor(tensor_name, gguf.quants.quantize(data, kind), raw_dtype=kind)  # bytes: the shape follows
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return out


def modelfile_text(gguf_name: str, stop_strings: tuple[str, ...], context_length: int, max_new_tokens: int) -> str:
    """An Ollama Modelfile that runs ``gguf_name`` (a file beside it) as the hook prompts it.

    Ollama's parser takes a value as written between ``"`` or ``\"\"\"`` (no escapes, newlines
    kept), so a stop string holding ``"`` is written between triple quotes.
    """

    def quoted(value: str) -> str:
        if '"' not in value:
            return f'"{value}"'
        # The parser ends a value at the first space or newline after which it reads as quoted.
        if re.search(r'"""\s', value):
            raise ValueError(f"{value!r} cannot be written in a Modelfile")
        return f'"""{value}"""'

    lines = [
        "# Written by python -m train.export --format gguf: DocuCode's own prompt goes in as it is,",
        "# decoded greedily with no repeat penalty, as the hook decodes it with CTranslate2.",
        f"FROM ./{gguf_name}",
        'TEMPLATE "{{ .Prompt }}"',
        "PARAMETER temperature 0",
        "PARAMETER top_k 1",
        "PARAMETER repeat_penalty 1",
        "PARAMETER repeat_last_n 0",
        # Ollama's default context (2048) is longer than the positions the model was trained on.
        f"PARAMETER num_ctx {context_length}",
        f"PARAMETER num_predict {max_new_tokens}",
    ]
    lines += [f"PARAMETER stop {quoted(stop)}" for stop in stop_strings]
    return "\n".join(lines) + "\n"


__all__ = [
    "DEFAULT_OUTTYPE",
    "MODELFILE",
    "ByteLevelTokenizer",
    "bos_added_by",
    "GGUFExportError",
    "gguf_unsupported_reason",
    "modelfile_text",
    "read_tokenizer",
    "rope_rows_interleaved",
    "tokenizer_unsupported_reason",
    "write_gguf",
]
