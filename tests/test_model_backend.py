"""The model backend on a real tiny Llama saved to disk: loading, adapters, 4-bit, batching, failures."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from docucode_hook.backends import get_backend
from docucode_hook.backends import loading
from docucode_hook.backends.loading import ModelLoadError, load_model
from docucode_hook.backends.model import (
    ModelBackend,
    char_origins,
    cut_completion,
    to_generation,
    token_starts,
)
from docucode_hook.config import Config
from docucode_hook.code.records import Style
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.backends.prompt import build_prompt
from tinymodel import build_tiny_adapter

FAST = {"max_new_tokens": 10, "batch_size": 2, "runtime": "transformers"}


def backend_for(model_dir: Path, adapter: Path | None = None, quantize_4bit: bool = False, **config) -> ModelBackend:
    settings = {**FAST, **config}
    return ModelBackend(
        Config(model=str(model_dir), adapter=str(adapter) if adapter else None, **settings),
        quantize_4bit=quantize_4bit,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Add two numbers.\n\nArgs:\n    a: first.\n", "Add two numbers.\n\nArgs:\n    a: first."),
        ('Add two numbers.\n"""\ndef other():', "Add two numbers."),
        ("Add two numbers.'''junk", "Add two numbers."),
        ("Summary.\n### Code\ndef f(): pass", "Summary."),
        ("Summary.\n  ### not a header\n", "Summary.\n  ### not a header"),
        ("Re\x17turn the \ufffdsum.\r\n\tDetails.", "Return the sum.\n\tDetails."),
        ('"""', None),
        ("Summary.\n\nArgs:\n    - ``a``: loop\n    - ``a``: loop\n    - ``a``: loop", "Summary.\n\nArgs:\n    - ``a``: loop"),
        ("   \n\n", None),
    ],
)
def test_cut_completion_stops_at_the_end_of_the_docstring(raw: str, expected: str | None) -> None:
    assert cut_completion(raw) == expected


def test_token_offsets_follow_the_cut_text() -> None:
    from docucode_hook.backends.prompt import Prompt

    prompt = Prompt("", "def f(): pass")
    tokens = ["\n  ", "Sum", "\x17", " it", ".\r\n", "Mo", "re", '"""', "junk"]
    raw = "".join(tokens)
    starts = token_starts(["".join(tokens[:k]) for k in range(len(tokens))])
    generation = to_generation(prompt, raw, starts, [-0.1 * k for k in range(len(tokens))])
    assert generation.text == "Sum it.\nMore"
    # Blanks before the text, the control character and everything from the quotes on are cut away.
    assert generation.token_logprobs == ((0, -0.1), (3, -0.30000000000000004), (6, -0.4), (8, -0.5), (10, -0.6000000000000001))
    assert char_origins(raw, generation.text)[:9] == [3, 4, 5, 7, 8, 9, 10, 11, 13]  # "\r\n" is one "\n"


def test_a_character_split_across_tokens_gives_both_tokens_its_offset() -> None:
    from docucode_hook.backends.prompt import Prompt

    # What a byte-level tokenizer decodes for the prefixes of "Ok é": the first byte of "é" alone is U+FFFD.
    prefixes = ["", "Ok", "Ok ", "Ok \ufffd"]
    starts = token_starts(prefixes)
    assert starts == [0, 2, 3, 3]
    generation = to_generation(Prompt("", "x = 1"), "Ok é", starts, [-1.0, -2.0, -3.0, -4.0])
    assert generation.token_logprobs == ((0, -1.0), (2, -2.0), (3, -3.0), (3, -4.0))


def test_generates_one_clean_text_per_context_in_order(tiny_model_dir, sample_contexts) -> None:
    backend = backend_for(tiny_model_dir, batch_size=len(sample_contexts))
    texts = backend.generate(sample_contexts, Style.GOOGLE)

    assert len(texts) == len(sample_contexts)
    assert any(texts), "a random model still produces some text"
    for generation in filter(None, texts):
        text = generation.text
        assert '"""' not in text and not any(line.startswith("### ") for line in text.splitlines())
        # Every token's log-probability, placed at a character of the cut text.
        offsets = [offset for offset, _ in generation.token_logprobs]
        assert offsets and offsets[0] == 0 and offsets == sorted(offsets) and offsets[-1] < len(text)
        assert all(logprob <= 0 for _, logprob in generation.token_logprobs)
    # Results are put back in input order after the length sort.
    reversed_texts = backend.generate(sample_contexts[::-1], Style.GOOGLE)
    assert reversed_texts == texts[::-1]
    assert backend.generated == 2 * len(sample_contexts) and backend.generate_seconds > 0
    assert backend.load_seconds > 0


def test_model_is_loaded_once_per_process(tiny_model_dir, sample_contexts) -> None:
    first, second = backend_for(tiny_model_dir), backend_for(tiny_model_dir)
    first.generate(sample_contexts[:1], Style.GOOGLE)
    second.generate(sample_contexts[:1], Style.GOOGLE)
    assert first.loaded().model is second.loaded().model


def test_adapter_changes_the_output(tiny_model_dir, tiny_adapter_dir, sample_contexts) -> None:
    from peft import PeftModel

    contexts = sample_contexts[:3]
    plain = backend_for(tiny_model_dir)
    adapted = backend_for(tiny_model_dir, adapter=tiny_adapter_dir)

    assert isinstance(adapted.loaded().model, PeftModel)
    assert plain.generate(contexts, Style.NUMPY) != adapted.generate(contexts, Style.NUMPY)
    assert plain.cache_key() != adapted.cache_key()


def test_4bit_nf4_path_runs_on_cpu(tiny_model_dir, tiny_adapter_dir, sample_contexts) -> None:
    from bitsandbytes.nn import Linear4bit

    backend = backend_for(tiny_model_dir, adapter=tiny_adapter_dir, quantize_4bit=True, max_new_tokens=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a failed batch warns and gives None
        texts = backend.generate(sample_contexts[:2], Style.GOOGLE)

    model = backend.loaded().model
    quantized = [m for m in model.modules() if isinstance(m, Linear4bit)]
    assert quantized and quantized[0].weight.quant_type == "nf4"
    # The random model's text is nonsense the cut may drop (loops, broken UTF-8): check what the
    # 4-bit layers generated before the cut.
    engine = backend.engine()
    raw = engine.generate(engine.encode([build_prompt(c, Style.GOOGLE).text for c in sample_contexts[:2]]), [False, False])
    assert len(texts) == 2 and all(ids for ids, _ in raw)
    assert backend.cache_key() != backend_for(tiny_model_dir, adapter=tiny_adapter_dir, max_new_tokens=6).cache_key()


class FailingBackend(ModelBackend):
    """The real backend whose engine raises ``error`` for the batches ``fails`` picks, as a GPU can."""

    def __init__(self, config: Config, error: Exception, fails) -> None:
        super().__init__(config, quantize_4bit=False)
        self.error, self.fails, self.batches = error, fails, []

    def engine(self):
        engine, backend = super().engine(), self
        if getattr(engine, "faulty", False):
            return engine
        real = engine.generate

        def generate(input_ids, comment_rows):
            backend.batches.append(len(input_ids))
            if backend.fails(len(backend.batches), len(input_ids)):
                raise backend.error
            return real(input_ids, comment_rows)

        engine.generate, engine.faulty = generate, True
        return engine


def test_a_failing_batch_gives_none_and_a_warning_while_others_succeed(tiny_model_dir, sample_contexts) -> None:
    backend = FailingBackend(Config(model=str(tiny_model_dir), **FAST), RuntimeError("CUDA error: an illegal memory "
                             "access was encountered"), lambda call, rows: call == 1)
    contexts = sample_contexts[:4]
    with pytest.warns(UserWarning, match="illegal memory access"):
        texts = backend.generate(contexts, Style.GOOGLE)

    assert texts.count(None) >= 2  # the whole first batch
    assert any(texts)  # the second batch still ran


def test_out_of_memory_halves_the_batch_and_every_function_still_gets_the_model(tiny_model_dir, sample_contexts) -> None:
    import torch

    contexts = sample_contexts[:4]
    one_by_one = backend_for(tiny_model_dir, batch_size=1).generate(contexts, Style.GOOGLE)
    # A GPU shared with other processes: any batch of more than one row runs out of memory.
    backend = FailingBackend(Config(model=str(tiny_model_dir), **{**FAST, "batch_size": 4}),
                             torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                             lambda call, rows: rows > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        texts = backend.generate(contexts, Style.GOOGLE)

    assert backend.batches == [4, 2, 1, 1, 2, 1, 1]
    assert texts == one_by_one


def test_a_prompt_too_long_for_the_model_gets_none_without_running(tiny_model_dir, sample_contexts) -> None:
    # The signature is never cut, so 1,500 parameters cannot fit 2,048 positions.
    params = ", ".join(f"parameter_{i}" for i in range(1500))
    (huge,) = iter_contexts(f"def huge({params}):\n    return parameter_0\n", "huge.py")
    backend = FailingBackend(Config(model=str(tiny_model_dir), **FAST), AssertionError("not reached"),
                             lambda call, rows: False)
    with pytest.warns(UserWarning, match="1 function.* too long for the model's 2048 positions"):
        texts = backend.generate([huge, *sample_contexts[:2]], Style.GOOGLE)

    assert texts[0] is None
    assert backend.batches == [2]  # only the two that fit were generated


def test_long_prompts_are_shortened_to_fit_the_model(tiny_model_dir, sample_contexts, tmp_path) -> None:
    import dataclasses
    import json

    from docucode_hook.backends.prompt import build_prompt

    short = tmp_path / "short-positions"
    shutil.copytree(tiny_model_dir, short)
    config = json.loads((short / "config.json").read_text())
    config["max_position_embeddings"] = 256
    (short / "config.json").write_text(json.dumps(config))
    body = "".join(f"    total += {i} * value\n" for i in range(400))
    long = dataclasses.replace(sample_contexts[0], code=f"def add_all(value):\n    total = 0\n{body}    return total\n")
    backend = backend_for(short, runtime="auto")
    engine = backend.engine()
    built = build_prompt(long, Style.GOOGLE)
    assert len(engine.encode([built.text])[0]) > 256

    seen = []
    real = engine.encode
    engine.encode = lambda texts: seen.extend(texts) or real(texts)
    backend.engine = lambda: engine
    assert len(backend.generate([long], Style.GOOGLE)) == 1
    fed = seen[-1]  # the text that was tokenized for generation
    assert len(real([fed])[0]) <= 256 - FAST["max_new_tokens"]
    assert "def add_all(value):" in fed and "truncated" in fed and fed.endswith("### Docstring\n")


def test_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError, match="no-such-model: model directory not found"):
        ModelBackend(Config(model=str(missing)))
    with pytest.raises(ModelLoadError, match="not a model directory"):
        ModelBackend(Config(model=str(tmp_path)))


def test_missing_default_model_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "DEFAULT_MODEL_DIR", tmp_path / "docucode-small")
    with pytest.raises(ModelLoadError, match="default model not installed"):
        get_backend(Config(backend="model"))


def test_pickle_adapters_are_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ModelLoadError, match="adapter has no adapter_model.safetensors"):
        backend_for(tiny_model_dir, adapter=adapter)


def test_unloadable_weights_raise_model_load_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_model(str(broken), True, None, False)


def test_cache_key_follows_the_weights_and_adapter(tiny_model_dir, tiny_adapter_dir, tmp_path) -> None:
    key = backend_for(tiny_model_dir, adapter=tiny_adapter_dir).cache_key()
    assert key == backend_for(tiny_model_dir, adapter=tiny_adapter_dir).cache_key()
    assert key != backend_for(tiny_model_dir, adapter=tiny_adapter_dir, max_new_tokens=99).cache_key()

    retrained = build_tiny_adapter(tiny_model_dir, tmp_path / "retrained", seed=7)
    assert key != backend_for(tiny_model_dir, adapter=retrained).cache_key()

    copy = shutil.copytree(tiny_model_dir, tmp_path / "copy")
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, different last weight byte
    weights.write_bytes(bytes(data))
    assert backend_for(copy).cache_key().split(":")[2] != backend_for(tiny_model_dir).cache_key().split(":")[2]
