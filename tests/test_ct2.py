"""CTranslate2 on a real tiny Llama: conversion, transformers' greedy tokens, the stopper, fallbacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from docucode_hook.backends.convert import SIDECAR, convert_to_ct2, converted_model, is_ct2_model
from docucode_hook.backends.ct2 import CT2Engine, load_ct2
from docucode_hook.backends.loading import ModelLoadError
from docucode_hook.backends.model import ModelBackend, cut_completion
from docucode_hook.config import Config, load_mapping
from docucode_hook.code.records import Style
from docucode_hook.pipeline import fix_paths
from docucode_hook.docstrings.verify import docstring_values
from tinymodel import build_tiny_gpt2

from conftest import SAMPLE_SOURCE

PROMPTS = [
    "def add(a, b):\n    return a + b\n### Docstring\n",
    "x = 1",
    "class Stack:\n    def push(self, item):\n        self.items.append(item)\n",
]


@pytest.fixture(scope="module")
def ct2_float32(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model converted without quantization, so its tokens can equal transformers' exactly."""
    return convert_to_ct2(tiny_model_dir, tmp_path_factory.mktemp("ct2") / "tiny-float32", "float32")


def test_conversion_writes_a_ctranslate2_model_with_what_the_engine_needs(tiny_model_dir: Path, ct2_float32: Path):
    assert {"model.bin", "config.json", "vocabulary.json", "tokenizer.json", SIDECAR} <= {p.name for p in ct2_float32.iterdir()}
    assert is_ct2_model(ct2_float32) and not is_ct2_model(tiny_model_dir)
    hf_config = json.loads((tiny_model_dir / "config.json").read_text())
    sidecar = json.loads((ct2_float32 / SIDECAR).read_text())
    assert sidecar["max_position_embeddings"] == 2048 and sidecar["eos_token_id"] == [hf_config["eos_token_id"]]
    vocabulary = json.loads((ct2_float32 / "vocabulary.json").read_text())
    assert len(vocabulary) == hf_config["vocab_size"] and vocabulary[hf_config["eos_token_id"]] == "</s>"


def _transformers_greedy(model_dir: Path, max_new_tokens: int) -> list[list[int]]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    batch = tokenizer(PROMPTS, return_tensors="pt", padding=True)
    out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, repetition_penalty=1.0,
                         pad_token_id=tokenizer.pad_token_id)
    eos = tokenizer.eos_token_id
    return [row[: row.index(eos)] if eos in row else row for row in out[:, batch.input_ids.shape[1] :].tolist()]


def test_float32_greedy_tokens_equal_transformers_generate(tiny_model_dir: Path, ct2_float32: Path):
    expected = _transformers_greedy(tiny_model_dir, 24)
    model = load_ct2(ct2_float32, "float32")
    ids = [model.tokenizer.encode(p).ids for p in PROMPTS]
    got = [
        model.generator.generate_batch([[model.vocabulary[t] for t in row]], max_length=24, include_prompt_in_result=False,
                                       end_token=list(model.end_ids))[0].sequences_ids[0]
        for row in ids
    ]
    assert got == expected


def test_backend_text_and_log_probabilities_equal_transformers_at_float32(tiny_model_dir: Path, sample_contexts):
    settings = {"model": str(tiny_model_dir), "max_new_tokens": 24, "batch_size": 8}
    ct2 = ModelBackend(Config(**settings), ct2_compute_type="float32")
    torch_backend = ModelBackend(Config(**settings, runtime="transformers"), quantize_4bit=False)
    assert (ct2.runtime, torch_backend.runtime) == ("ctranslate2", "transformers")

    # Greedy decoding on both engines, each stopping rows as soon as the cut is known.
    ours, theirs = ct2.generate(sample_contexts, Style.GOOGLE), torch_backend.generate(sample_contexts, Style.GOOGLE)
    assert [g and g.text for g in ours] == [g and g.text for g in theirs] and any(ours)
    for mine, reference in zip(filter(None, ours), filter(None, theirs)):
        assert [offset for offset, _ in mine.token_logprobs] == [offset for offset, _ in reference.token_logprobs]
        assert [lp for _, lp in mine.token_logprobs] == pytest.approx([lp for _, lp in reference.token_logprobs], abs=1e-4)
    assert ct2.cache_key() != torch_backend.cache_key()


def test_the_stopper_ends_a_looping_row_early_with_the_same_cut_text(ct2_float32: Path):
    model = load_ct2(ct2_float32, "float32")
    engine = CT2Engine(model, max_new_tokens=64, repetition_penalty=1.0)
    ids = engine.encode(PROMPTS)
    stopped = [row for row, _ in engine.generate(ids, [False] * len(ids))]
    full = [
        model.generator.generate_batch([[model.vocabulary[t] for t in row]], max_length=64, include_prompt_in_result=False,
                                       end_token=list(model.end_ids))[0].sequences_ids[0]
        for row in ids
    ]
    early = [i for i in range(len(ids)) if len(stopped[i]) < len(full[i])]
    assert early, "the random tiny model loops on these prompts"
    for i in range(len(ids)):
        assert full[i][: len(stopped[i])] == stopped[i]
        assert cut_completion(engine.decode([stopped[i]])[0]) == cut_completion(engine.decode([full[i]])[0])


def test_converted_once_per_source_and_again_when_the_source_changes(tiny_model_dir: Path, tmp_path: Path):
    cache = tmp_path / "models"
    first = converted_model(tiny_model_dir, cache, "float32")
    written = (first / "model.bin").stat().st_mtime_ns
    assert converted_model(tiny_model_dir, cache, "float32") == first
    assert (first / "model.bin").stat().st_mtime_ns == written  # not converted again

    retrained = shutil.copytree(tiny_model_dir, tmp_path / "retrained")
    weights = bytearray((retrained / "model.safetensors").read_bytes())
    weights[-1] ^= 0x01
    (retrained / "model.safetensors").write_bytes(bytes(weights))
    assert converted_model(retrained, cache, "float32") != first
    names = [p.name for p in cache.iterdir()]
    assert len(names) == 2 and not any(name.startswith(".") for name in names)  # no temporary directory left


def test_hook_processes_converting_at_once_share_one_whole_model(tiny_model_dir: Path, tmp_path: Path, isolated_cache: Path):
    script = "import sys; from pathlib import Path; from docucode_hook.backends.convert import converted_model; " \
             "print(converted_model(Path(sys.argv[1]), Path(sys.argv[2])))"
    racers = [subprocess.Popen([sys.executable, "-c", script, str(tiny_model_dir), str(tmp_path)],
                               stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = {racer.communicate()[0].strip() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    converted = [p.name for p in tmp_path.iterdir() if p != isolated_cache]  # the cache holds the file digests
    assert len(outputs) == 1 and converted == [Path(outputs.pop()).name]


def _project(root: Path, model: Path, source: str = SAMPLE_SOURCE) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(f'[tool.docucode]\nmodel = "{model}"\nmax-new-tokens = 8\n')
    (root / "helpers.py").write_text(source)
    return root / "helpers.py"


def _hook(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # --no-cache: every run must load the model, not find the docstrings of the run before.
    return subprocess.run([sys.executable, "-m", "docucode_hook", "--no-cache", *args, "helpers.py"], cwd=cwd,
                          capture_output=True, text=True)


def test_a_broken_converted_model_gives_one_message_the_template_and_a_new_conversion(
    tiny_model_dir: Path, tmp_path: Path, isolated_cache: Path
):
    first = _project(tmp_path / "first", tiny_model_dir)
    assert _hook(first.parent).returncode == 1
    (converted,) = (isolated_cache / "models").iterdir()
    (converted / "model.bin").write_bytes((converted / "model.bin").read_bytes()[:1000])  # truncated

    broken = _project(tmp_path / "broken", tiny_model_dir)
    done = _hook(broken.parent)
    assert done.returncode == 1
    warned = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warned) == 1 and "cannot load CTranslate2 model" in warned[0] and "template" in warned[0], done.stderr
    template = _project(tmp_path / "template", tiny_model_dir)
    assert _hook(template.parent, "--backend", "template").returncode == 1
    assert docstring_values(broken.read_text()) == docstring_values(template.read_text())

    again = _project(tmp_path / "again", tiny_model_dir)
    done = _hook(again.parent)
    assert done.returncode == 1 and "warning" not in done.stderr
    assert (converted / "model.bin").stat().st_size > 1000  # converted again


def test_a_ctranslate2_directory_is_used_as_is(ct2_float32: Path, tiny_adapter_dir: Path, sample_contexts, isolated_cache):
    backend = ModelBackend(Config(model=str(ct2_float32), max_new_tokens=8), ct2_compute_type="float32")
    assert backend.runtime == "ctranslate2"
    assert any(backend.generate(sample_contexts, Style.GOOGLE))
    assert not (isolated_cache / "models").exists()  # nothing converted
    with pytest.raises(ModelLoadError, match="runs on runtime 'ctranslate2' only"):
        ModelBackend(Config(model=str(ct2_float32), runtime="transformers"))
    with pytest.raises(ModelLoadError, match="without adapter"):
        ModelBackend(Config(model=str(ct2_float32), adapter=str(tiny_adapter_dir)))


@pytest.fixture(scope="module")
def tiny_gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("models") / "tiny-gpt2")


def test_a_model_ctranslate2_cannot_run_goes_to_transformers_with_one_warning(tiny_gpt2_dir: Path, tmp_path: Path):
    from transformers import GPT2LMHeadModel

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ModelBackend(Config(model=str(tiny_gpt2_dir))).runtime == "transformers"  # auto: no warning

    path = _project(tmp_path / "project", tiny_gpt2_dir)
    config = Config(model=str(tiny_gpt2_dir), runtime="ctranslate2", max_new_tokens=8)
    with pytest.warns(UserWarning) as record:
        results = fix_paths([path], path.parent, config)
    messages = [str(w.message) for w in record if issubclass(w.category, UserWarning)]
    assert len(messages) == 1 and "cannot run this model (model type 'gpt2' is not Llama); using transformers" in messages[0]
    assert results[0].written > 0 and not results[0].error
    backend = ModelBackend(config.replace(runtime="transformers"))
    assert isinstance(backend.loaded().model, GPT2LMHeadModel)


def test_the_old_runtime_name_numpy_still_works_with_one_warning():
    with pytest.warns(UserWarning, match="runtime 'numpy' is now called 'ctranslate2'") as record:
        config = load_mapping({"runtime": "numpy"})
    assert config.runtime == "ctranslate2" and len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert config.replace(batch_size=4).runtime == "ctranslate2"


def test_default_path_imports_neither_torch_nor_transformers(tiny_model_dir: Path, tmp_path: Path):
    code = textwrap.dedent(f"""
        import sys
        from docucode_hook.backends.model import ModelBackend
        from docucode_hook.config import Config
        from docucode_hook.code.records import Style
        from docucode_hook.code.contexts import iter_contexts
        backend = ModelBackend(Config(model={str(tiny_model_dir)!r}, max_new_tokens=8))
        contexts = list(iter_contexts(open({str(tmp_path / "helpers.py")!r}).read(), "helpers.py"))
        assert any(backend.generate(contexts, Style.GOOGLE))
        print(sorted(name for name in ("torch", "transformers") if name in sys.modules))
    """)
    (tmp_path / "helpers.py").write_text(SAMPLE_SOURCE)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_model_that_cannot_load_gives_one_warning_and_the_template(tmp_path: Path):
    path = _project(tmp_path / "project", tmp_path / "no-such-model")
    with pytest.warns(UserWarning) as record:
        results = fix_paths([path], path.parent, Config(model=str(tmp_path / "no-such-model")))
    messages = [str(w.message) for w in record]
    assert len(messages) == 1 and "model directory not found" in messages[0] and "template" in messages[0]
    assert results[0].written == 5 and not results[0].error
