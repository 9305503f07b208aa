"""How often CTranslate2 int8 writes the text float32 writes: the shipped model and exact rewrites of it (issue 12).

Issue 12 asks int8 greedy text to agree with float32 (which gives transformers' tokens
exactly) on at least 95 % of rows. This bench asks whether rewriting the weights before the
conversion gets there. Each variant is built from the source model (default: the shipped
one) into a temporary directory, converted with the hook's own converter at int8 and at
float32, and run through the hook's backend on a seeded sample of a ``train.mine`` test
split. Its int8 text is compared with its own float32 text:

- ``original``: the model as it is;
- ``fold``: the RMSNorm gains multiplied into the weights that read the normalised vector;
- ``fold+rotate``: the same, and the residual stream turned by a seeded random orthogonal
  matrix, which spreads the few large channels of each activation over all of them, so a
  token's one int8 scale fits all its values better;
- ``snap``: every weight matrix rounded onto CTranslate2's own per-row int8 grid, so that
  converting to int8 rounds no weight and only the activations are quantized;
- ``fold+rotate+snap``: ``fold+rotate``, then snapped.

``fold`` and ``fold+rotate`` compute the same function as the original (exact in real
arithmetic); the column "float32 = original float32" checks that at float32. Snapping
changes the model: its float32 text is the reference for its int8 text, and that column
shows what the weight rounding alone changes. Run (about 15 minutes of CPU for 200 records on 2 cores)::

    PYTHONPATH=src:. python bench/int8_agreement.py data/eval-v3/test.jsonl --limit 200
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import numpy as np

VARIANTS = ("original", "fold", "fold+rotate", "snap", "fold+rotate+snap")
# Files of an HF model directory that the variant rewrites; the rest (tokenizer, generation
# config) is copied as it is.
_REWRITTEN = ("config.json", "model.safetensors.index.json")


def fold_norm_gains(arrays: dict[str, np.ndarray], config: dict[str, Any]) -> dict[str, np.ndarray]:
    """The model with every RMSNorm gain set to 1 and multiplied into the weights that read its output.

    Exact: RMSNorm(x) = g * x / rms(x), and W @ (g * n) = (W * g) @ n, where ``W * g`` scales
    the input columns of W. Each layer's attention norm is read by q, k and v; its
    feed-forward norm by gate and up; the final norm by the output projection, which gets
    its own copy when it is tied to the embeddings (the embeddings are not read through a norm).
    """
    import numpy as np

    out = dict(arrays)
    readers = {"input_layernorm": ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
               "post_attention_layernorm": ("mlp.gate_proj", "mlp.up_proj")}
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        for norm, linears in readers.items():
            gain = out[f"{prefix}{norm}.weight"]
            for linear in linears:
                out[f"{prefix}{linear}.weight"] = out[f"{prefix}{linear}.weight"] * gain[None, :]
            out[f"{prefix}{norm}.weight"] = np.ones_like(gain)
    gain = out["model.norm.weight"]
    out["lm_head.weight"] = out.get("lm_head.weight", out["model.embed_tokens.weight"]) * gain[None, :]
    out["model.norm.weight"] = np.ones_like(gain)
    return out


def random_orthogonal(size: int, seed: int) -> np.ndarray:
    """A seeded orthogonal matrix, uniformly distributed: QR of a Gaussian matrix, R's diagonal made positive."""
    import numpy as np

    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((size, size)))
    return q * np.sign(np.diag(r))[None, :]


def rotate_residual(arrays: dict[str, np.ndarray], config: dict[str, Any], seed: int) -> dict[str, np.ndarray]:
    """The model with its residual stream h replaced by h @ Q, for a random orthogonal Q; gains must be folded.

    Exact: what writes to the stream (embedding rows, o_proj and down_proj outputs) writes
    its vector turned by Q, so the stream is always h @ Q. RMSNorm with unit gains commutes
    with Q (an orthogonal map keeps the norm, so rms(h @ Q) = rms(h)); what reads the
    normalised stream (q, k, v, gate, up, the output projection) takes W @ Q, and
    (W @ Q) @ (Q.T @ n) = W @ n. A gain other than 1 would not commute, hence the fold first.
    The outputs of q and k are untouched, so rotary position embedding is unaffected.
    """
    if any(name.endswith(".bias") for name in arrays):
        raise ValueError("the rotation here turns weights only; this model has biases")
    hidden = config["hidden_size"]
    norms = [name for name in arrays if name.endswith("norm.weight")]
    if any((arrays[name] != 1).any() for name in norms):
        raise ValueError("fold the RMSNorm gains first: a gain other than 1 does not commute with the rotation")
    q = random_orthogonal(hidden, seed)
    out = dict(arrays)
    out["model.embed_tokens.weight"] = arrays["model.embed_tokens.weight"] @ q
    out["lm_head.weight"] = arrays.get("lm_head.weight", arrays["model.embed_tokens.weight"]) @ q
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        for reader in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.gate_proj", "mlp.up_proj"):
            out[f"{prefix}{reader}.weight"] = arrays[f"{prefix}{reader}.weight"] @ q
        for writer in ("self_attn.o_proj", "mlp.down_proj"):
            out[f"{prefix}{writer}.weight"] = q.T @ arrays[f"{prefix}{writer}.weight"]
    return out


def snap_to_int8_grid(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every matrix rounded per row onto the int8 grid CTranslate2's converter quantizes it to.

    The converter's rule (``ctranslate2/specs/model_spec.py``) scales each row of a weight
    matrix by 127 / max|row| and rounds to the nearest integer. A snapped row keeps its
    largest magnitude, so converting it again gives the same scale and the same integers:
    weight quantization then loses nothing, and what int8 still changes is the activations'.
    The norm gains (vectors) stay in floating point there, and here.
    """
    import numpy as np

    out = dict(arrays)
    for name, value in arrays.items():
        if value.ndim == 2:
            amax = np.abs(value).max(axis=1, keepdims=True)
            scale = 127.0 / np.where(amax == 0, 127.0, amax)
            out[name] = np.rint(value * scale) / scale
    return out


def variant_arrays(arrays: dict[str, np.ndarray], config: dict[str, Any], variant: str, seed: int) -> dict[str, np.ndarray]:
    """The weights of ``variant`` (one of VARIANTS other than "original"), computed in float64."""
    import numpy as np

    # float64, so that the rewrites add no rounding of their own before the float32 save.
    out = {name: value.astype(np.float64) for name, value in arrays.items()}
    steps = variant.split("+")
    if "fold" in steps:
        out = fold_norm_gains(out, config)
    if "rotate" in steps:
        out = rotate_residual(out, config, seed)
    if "snap" in steps:
        out = snap_to_int8_grid(out)
    return out


def write_model(source: Path, arrays: dict[str, np.ndarray], config: dict[str, Any], out_dir: Path) -> Path:
    """An HF model directory at ``out_dir``: ``arrays`` in float32, ``config``, and the source's other files."""
    import numpy as np
    from safetensors.numpy import save_file

    out_dir.mkdir(parents=True)
    for path in Path(source).iterdir():
        if path.is_file() and path.suffix != ".safetensors" and path.name not in _REWRITTEN:
            shutil.copy(path, out_dir / path.name)
    save_file({name: np.ascontiguousarray(value, dtype=np.float32) for name, value in arrays.items()},
              str(out_dir / "model.safetensors"))
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out_dir


def build_variant(source: Path, variant: str, seed: int, out_dir: Path) -> Path:
    """The HF directory of ``variant`` of ``source`` (``source`` itself for "original")."""
    from docucode_hook.backends.convert import load_arrays, read_config

    if variant == "original":
        return Path(source)
    config = read_config(source)
    arrays = variant_arrays(load_arrays(source), config, variant, seed)
    # An untied output projection: the fold and the rotation give it weights of its own.
    config.update(dtype="float32", torch_dtype="float32", tie_word_embeddings=False)
    return write_model(source, arrays, config, out_dir)


def generate_texts(ct2_dir: Path, compute_type: str, prompts: Sequence[Any], max_new_tokens: int) -> list[str]:
    """The hook backend's completions of ``prompts`` on a CTranslate2 model ("" where it wrote none)."""
    from docucode_hook.backends.model import ModelBackend
    from docucode_hook.config import Config

    backend = ModelBackend(Config(model=str(ct2_dir), max_new_tokens=max_new_tokens), ct2_compute_type=compute_type)
    return [g.text if g else "" for g in backend.complete(list(prompts), strict=True)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test_file", type=Path, help="a train.mine test split (JSONL)")
    parser.add_argument("--limit", type=int, default=200, help="records sampled (seed 0)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--model", type=Path, help="the source HF model directory (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=0, help="of the rotation")
    parser.add_argument("--max-new-tokens", type=int, help="default: the hook's own")
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    if unknown := [v for v in variants if v not in VARIANTS]:
        parser.error(f"unknown variant {unknown[0]!r} (known: {', '.join(VARIANTS)})")

    from docucode_hook.backends.convert import convert_to_ct2
    from docucode_hook.backends.loading import DEFAULT_MODEL_DIR
    from docucode_hook.config import Config
    from train import metrics
    from train.evaluate import read_examples

    source = args.model or DEFAULT_MODEL_DIR
    max_new = args.max_new_tokens or Config().max_new_tokens
    examples = read_examples(args.test_file, args.limit)
    prompts = [example.prompt for example in examples]
    references = [example.reference_summary for example in examples]
    rows = len(examples)

    def bleu(texts: list[str]) -> float:
        return metrics.smoothed_bleu4(references, [metrics.summary_of(text) for text in texts])

    print(f"{rows} records of {args.test_file} (seed 0), source {source}, max_new_tokens {max_new}, rotation seed {args.seed}\n")
    print("| variant | int8 = float32: text | summary line | summary BLEU-4 int8 | float32 | "
          "float32 = original float32 | minutes |")
    print("|---|---:|---:|---:|---:|---:|---:|", flush=True)
    original_float32: list[str] | None = None
    with tempfile.TemporaryDirectory(prefix="docucode-int8-") as scratch:
        for variant in variants:
            started = time.perf_counter()
            model_dir = build_variant(source, variant, args.seed, Path(scratch) / variant / "hf")
            texts = {}
            for compute_type in ("float32", "int8"):
                ct2_dir = convert_to_ct2(model_dir, Path(scratch) / variant / compute_type, compute_type)
                texts[compute_type] = generate_texts(ct2_dir, compute_type, prompts, max_new)
            pairs = list(zip(texts["int8"], texts["float32"]))
            same_summary = sum(metrics.summary_of(a) == metrics.summary_of(b) for a, b in pairs)
            if variant == "original":
                original_float32, exact = texts["float32"], "(itself)"
            else:
                exact = "" if original_float32 is None else \
                    f"{sum(a == b for a, b in zip(texts['float32'], original_float32))}/{rows}"
            print(f"| {variant} | {sum(a == b for a, b in pairs)}/{rows} | {same_summary}/{rows} "
                  f"| {bleu(texts['int8']):.2f} | {bleu(texts['float32']):.2f} | {exact} "
                  f"| {(time.perf_counter() - started) / 60:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
