"""A NumPy runtime for small Llama-architecture models: greedy batched generation with a KV cache.

Why not transformers: importing torch and transformers takes 3-8 s on the 2-core machines
the hook runs on, more than the whole latency budget of a commit. The shipped model is small
enough that NumPy (0.2 s to import) generates as fast as torch does on CPU. It reads the
same standard HF directory (config.json, tokenizer.json, safetensors), and tests check that
its greedy tokens equal transformers' ``generate`` on the same model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

# OpenBLAS threads spin on the small matrices of decoding: on the 2-core machine with one
# other busy process, a [10, 384] x [384, 1024] matmul took 13-28 ms with 2 threads and
# 0.5 ms with 1, so decoding runs single-threaded whatever the process set before. The
# prompt pass multiplies [tokens, 384] matrices, large enough for BLAS's own threads.
DECODE_BLAS_THREADS = 1


@dataclass(frozen=True)
class LlamaShape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    rope_theta: float
    rms_eps: float
    tied: bool
    eos_ids: tuple[int, ...]
    max_positions: int | None

    @classmethod
    def from_config(cls, config: dict) -> "LlamaShape":
        if config.get("model_type") != "llama":
            raise ValueError(f"the NumPy runtime runs Llama models, not {config.get('model_type')!r}")
        if config.get("rope_scaling"):
            raise ValueError("the NumPy runtime does not implement rope scaling")
        heads = config["num_attention_heads"]
        eos = config.get("eos_token_id")
        rope = config.get("rope_parameters") or {}
        return cls(
            hidden=config["hidden_size"],
            layers=config["num_hidden_layers"],
            heads=heads,
            kv_heads=config.get("num_key_value_heads") or heads,
            head_dim=config.get("head_dim") or config["hidden_size"] // heads,
            rope_theta=float(rope.get("rope_theta", config.get("rope_theta", 10000.0))),
            rms_eps=float(config.get("rms_norm_eps", 1e-6)),
            tied=bool(config.get("tie_word_embeddings", False)),
            eos_ids=tuple(eos) if isinstance(eos, list) else (() if eos is None else (eos,)),
            max_positions=config.get("max_position_embeddings"),
        )


def _load_weights(model_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    index = model_dir / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else ["model.safetensors"]
    weights: dict[str, np.ndarray] = {}
    for name in files:
        for key, value in load_file(model_dir / name).items():
            value = value.astype(np.float32)
            # Linear layers are stored [out, in]; keep them [in, out] and contiguous so that
            # every projection is one plain 2-D BLAS matmul.
            if key.endswith("proj.weight"):
                value = np.ascontiguousarray(value.T)
            weights[key.removeprefix("model.")] = value
    return weights


def _linear(x: np.ndarray, weight_in_out: np.ndarray) -> np.ndarray:
    """``x @ W`` for x of any leading shape, through a 2-D matmul (NumPy's stacked matmul is slower)."""
    return (x.reshape(-1, x.shape[-1]) @ weight_in_out).reshape(*x.shape[:-1], weight_in_out.shape[-1])


def _rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


class NumpyLlama:
    """Greedy decoding of a Llama checkpoint; one instance is loaded once per process."""

    def __init__(self, model_dir: str | Path) -> None:
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        self.shape = LlamaShape.from_config(json.loads((model_dir / "config.json").read_text()))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.w = _load_weights(model_dir)
        head = self.w["embed_tokens.weight"] if self.shape.tied else self.w.pop("lm_head.weight")
        self.lm_head_t = np.ascontiguousarray(head.T)
        half = self.shape.head_dim // 2
        self.inv_freq = (1.0 / self.shape.rope_theta ** (np.arange(half) * 2 / self.shape.head_dim)).astype(np.float32)

    def _rope(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        # x: [B, H, T, D]; positions: [B, T]. HF's rotate_half convention (not interleaved).
        # float32 positions: int64 * float32 would promote everything downstream to float64,
        # and every later matmul would convert its weights (5-10x slower generation).
        angles = positions[:, None, :, None].astype(np.float32) * self.inv_freq  # [B, 1, T, D/2]
        cos, sin = np.cos(angles), np.sin(angles)
        first, second = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
        return np.concatenate([first * cos - second * sin, second * cos + first * sin], axis=-1)

    def _forward(
        self, ids: np.ndarray, positions: np.ndarray, allowed: np.ndarray, cache: list, start: int
    ) -> np.ndarray:
        """Logits of the last position; keys/values go to ``cache`` at ``start``.

        ``allowed``: [B, T_new, start + T_new] attention mask. The cache is preallocated
        [B, kv_heads, capacity, head_dim] per layer: concatenating a growing cache at every
        step copied ~80 MB a token and was most of the decoding time.
        """
        s, w = self.shape, self.w
        batch, steps = ids.shape
        end = start + steps
        x = w["embed_tokens.weight"][ids]
        groups = s.heads // s.kv_heads
        # One additive mask for all layers; the 1/sqrt(d) scale goes on q, which is smaller
        # than the [T, T] scores in prefill.
        bias = np.where(allowed, np.float32(0), np.float32(-1e9))[:, None]
        scale = np.float32(1 / np.sqrt(s.head_dim))
        for i in range(s.layers):
            p = f"layers.{i}."
            h = _rms_norm(x, w[p + "input_layernorm.weight"], s.rms_eps)
            q = _linear(h, w[p + "self_attn.q_proj.weight"]).reshape(batch, steps, s.heads, s.head_dim).transpose(0, 2, 1, 3)
            k = _linear(h, w[p + "self_attn.k_proj.weight"]).reshape(batch, steps, s.kv_heads, s.head_dim).transpose(0, 2, 1, 3)
            v = _linear(h, w[p + "self_attn.v_proj.weight"]).reshape(batch, steps, s.kv_heads, s.head_dim).transpose(0, 2, 1, 3)
            q, k = self._rope(q, positions), self._rope(k, positions)
            cache[i][0][:, :, start:end], cache[i][1][:, :, start:end] = k, v
            k, v = cache[i][0][:, :, :end], cache[i][1][:, :, :end]
            if groups > 1:  # grouped-query attention: each key/value head serves `groups` query heads
                k, v = np.repeat(k, groups, axis=1), np.repeat(v, groups, axis=1)
            scores = (q * scale) @ k.transpose(0, 1, 3, 2)
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            attn = scores @ v
            attn = attn.transpose(0, 2, 1, 3).reshape(batch, steps, s.heads * s.head_dim)
            x = x + _linear(attn, w[p + "self_attn.o_proj.weight"])
            h = _rms_norm(x, w[p + "post_attention_layernorm.weight"], s.rms_eps)
            gate = _silu(_linear(h, w[p + "mlp.gate_proj.weight"])) * _linear(h, w[p + "mlp.up_proj.weight"])
            x = x + _linear(gate, w[p + "mlp.down_proj.weight"])
        last = _rms_norm(x[:, -1], w["norm.weight"], s.rms_eps)
        return last @ self.lm_head_t

    def generate_ids(
        self,
        prompts: Sequence[Sequence[int]],
        max_new_tokens: int,
        repetition_penalty: float = 1.0,
        stop: Callable[[int, list[int]], bool] | None = None,
    ) -> list[list[int]]:
        """Greedy continuation of each prompt (left-padded into one batch).

        A row stops at EOS, or when ``stop(row, generated)`` says its text is complete.
        """
        logits, cache, real, next_pos = self._prefill(prompts, max_new_tokens)
        with threadpool_limits(limits=DECODE_BLAS_THREADS, user_api="blas"):
            return self._decode(prompts, logits, cache, real, next_pos, max_new_tokens, repetition_penalty, stop)

    def _prefill(self, prompts: Sequence[Sequence[int]], max_new_tokens: int) -> tuple:
        """The prompt pass: logits of each prompt's last token, a KV cache with room to decode."""
        batch, width = len(prompts), max(len(p) for p in prompts)
        ids = np.zeros((batch, width), dtype=np.int64)
        real = np.zeros((batch, width), dtype=bool)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt) :] = prompt
            real[row, width - len(prompt) :] = True
        positions = np.maximum(np.cumsum(real, axis=1) - 1, 0)
        causal = np.tril(np.ones((width, width), dtype=bool))
        shape = (batch, self.shape.kv_heads, width + max_new_tokens, self.shape.head_dim)
        cache = [(np.zeros(shape, np.float32), np.zeros(shape, np.float32)) for _ in range(self.shape.layers)]
        logits = self._forward(ids, positions, causal[None] & real[:, None, :], cache, 0)
        return logits, cache, real, positions[:, -1] + 1

    def _decode(
        self,
        prompts: Sequence[Sequence[int]],
        logits: np.ndarray,
        cache: list,
        real: np.ndarray,
        next_pos: np.ndarray,
        max_new_tokens: int,
        repetition_penalty: float,
        stop: Callable[[int, list[int]], bool] | None,
    ) -> list[list[int]]:
        seen = [set(p) for p in prompts]
        out: list[list[int]] = [[] for _ in prompts]
        active = np.arange(len(prompts))  # original rows still generating, in cache order
        for _ in range(max_new_tokens):
            if repetition_penalty != 1.0:
                for slot, row in enumerate(active):
                    tokens = list(seen[row])
                    picked = logits[slot, tokens]
                    logits[slot, tokens] = np.where(picked < 0, picked * repetition_penalty, picked / repetition_penalty)
            token = logits.argmax(axis=-1)
            for slot, row in enumerate(active):
                out[row].append(int(token[slot]))
                seen[row].add(int(token[slot]))
            going = ~np.isin(token, self.shape.eos_ids)
            if stop is not None:
                going &= [not stop(int(row), out[row]) for row in active]
            if not going.any():
                break
            if not going.all():  # drop finished rows: decoding cost follows the rows still going
                active, token, next_pos, real = active[going], token[going], next_pos[going], real[going]
                cache = [(k[going], v[going]) for k, v in cache]
            filled = real.shape[1]
            real = np.concatenate([real, np.ones((len(active), 1), dtype=bool)], axis=1)
            logits = self._forward(token[:, None], next_pos[:, None], real[:, None, :], cache, filled)
            next_pos = next_pos + 1
        return [[t for t in row if t not in self.shape.eos_ids] for row in out]

    def generate(self, texts: Sequence[str], max_new_tokens: int, repetition_penalty: float = 1.0) -> list[str]:
        prompts = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        rows = self.generate_ids(prompts, max_new_tokens, repetition_penalty)
        return self.tokenizer.decode_batch(rows, skip_special_tokens=True)
