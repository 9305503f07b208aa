"""The int8 agreement bench's weight rewrites: exact ones change no token at float32, snapping is lossless at int8."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from docucode_hook.backends.convert import convert_to_ct2, load_arrays, read_config
from docucode_hook.backends.ct2 import CT2Engine, load_ct2
from docucode_hook.backends.model import REPETITION_PENALTY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import int8_agreement  # noqa: E402  (a script directory, not a package)

PROMPTS = [
    "def add(a, b):\n    return a + b\n### Docstring\n",
    "class Stack:\n    def push(self, item):\n        self.items.append(item)\n",
    "### Instruction\nWrite a Google-style docstring for the Python function `read_config`.\n",
]


@pytest.fixture(scope="module")
def shipped_like(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model made like the shipped one: norm gains other than 1, output projection tied to the embeddings.

    A freshly initialised model has all gains at 1, which would make the fold a no-op.
    """
    rng = np.random.default_rng(7)
    arrays = {name: value.astype(np.float64) for name, value in load_arrays(tiny_model_dir).items()}
    for name in arrays:
        if name.endswith("norm.weight"):
            arrays[name] = rng.uniform(0.3, 2.0, arrays[name].shape)
    del arrays["lm_head.weight"]
    config = read_config(tiny_model_dir) | {"tie_word_embeddings": True}
    return int8_agreement.write_model(tiny_model_dir, arrays, config, tmp_path_factory.mktemp("models") / "gains")


def _greedy(hf_dir: Path, out_dir: Path) -> list[tuple[list[int], list[float]]]:
    """Tokens and log-probabilities of the hook's engine on the model at float32, 24 new tokens per prompt."""
    engine = CT2Engine(load_ct2(convert_to_ct2(hf_dir, out_dir, "float32"), "float32"), 24, REPETITION_PENALTY)
    return engine.generate(engine.encode(PROMPTS), [False] * len(PROMPTS))


@pytest.mark.parametrize("variant", ["fold", "fold+rotate"])
def test_exact_rewrites_give_the_same_tokens_at_float32(shipped_like: Path, tmp_path: Path, variant: str) -> None:
    expected = _greedy(shipped_like, tmp_path / "original")
    assert all(tokens for tokens, _ in expected)
    rewritten = int8_agreement.build_variant(shipped_like, variant, seed=0, out_dir=tmp_path / variant)
    arrays = load_arrays(rewritten)
    assert all((arrays[n] == 1).all() for n in arrays if n.endswith("norm.weight"))
    if variant == "fold+rotate":  # the stream is really turned, not left as it was
        original = load_arrays(shipped_like)["model.embed_tokens.weight"]
        assert np.abs(arrays["model.embed_tokens.weight"] - original).max() > 0.1
    got = _greedy(rewritten, tmp_path / "ct2")
    assert [tokens for tokens, _ in got] == [tokens for tokens, _ in expected]
    for (_, logprobs), (_, reference) in zip(got, expected):
        assert np.allclose(logprobs, reference, atol=1e-4)


def test_rotation_refuses_unfolded_gains(shipped_like: Path) -> None:
    arrays = load_arrays(shipped_like)
    with pytest.raises(ValueError, match="fold the RMSNorm gains first"):
        int8_agreement.rotate_residual(arrays, read_config(shipped_like), seed=0)


def _int8_round_trip(weights: np.ndarray) -> np.ndarray:
    """``weights`` quantized to int8 by CTranslate2's own converter code, and scaled back."""
    from ctranslate2.specs import common_spec

    linear = common_spec.LinearSpec()
    linear.weight = weights.astype(np.float32)
    linear.validate()
    linear.optimize("int8")
    variables = linear.variables()
    return variables["weight"].numpy().astype(np.float32) / variables["weight_scale"].numpy()[:, None]


def test_snapped_weights_lose_nothing_in_ctranslate2s_int8_conversion() -> None:
    weights = np.random.default_rng(1).standard_normal((5, 64)) * np.array([[0.01], [1.0], [3.0], [0.2], [0.0]])
    assert np.abs(_int8_round_trip(weights) - weights).max() > 1e-3  # int8 rounds these weights...
    snapped = int8_agreement.snap_to_int8_grid({"w.weight": weights, "norm.weight": np.full(64, 0.5)})
    assert not np.allclose(snapped["w.weight"], weights)
    # ...but not the snapped ones, up to float32 rounding.
    assert np.allclose(_int8_round_trip(snapped["w.weight"]), snapped["w.weight"], rtol=1e-6, atol=0)
    assert (snapped["norm.weight"] == 0.5).all()  # vectors stay floating point in CTranslate2 as well
