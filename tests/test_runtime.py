"""The NumPy runtime must produce exactly transformers' greedy tokens on the same checkpoint."""

from __future__ import annotations

import pytest

from docucode_hook.runtime import NumpyLlama
from docucode_hook.tinymodel import build_tiny_model

PROMPTS = [
    "def add(a, b):\n    return a + b\n### Docstring\n",
    "x = 1",
    "class Stack:\n    def push(self, item):\n        self.items.append(item)\n",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("runtime") / "tiny")


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_greedy_tokens_equal_transformers_generate(model_dir, penalty):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    batch = tokenizer(PROMPTS, return_tensors="pt", padding=True)
    out = model.generate(
        **batch, max_new_tokens=24, do_sample=False, repetition_penalty=penalty, pad_token_id=tokenizer.pad_token_id
    )
    eos = tokenizer.eos_token_id
    expected = []
    for row in out[:, batch.input_ids.shape[1] :].tolist():
        expected.append(row[: row.index(eos)] if eos in row else row)

    ids = [tokenizer(p).input_ids for p in PROMPTS]
    assert NumpyLlama(model_dir).generate_ids(ids, 24, penalty) == expected


def test_text_generation_decodes_with_the_same_tokenizer(model_dir):
    runtime = NumpyLlama(model_dir)
    texts = runtime.generate(PROMPTS[:2], max_new_tokens=8)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    one_by_one = [runtime.generate([p], max_new_tokens=8)[0] for p in PROMPTS[:2]]
    assert texts == one_by_one  # left padding must not change a prompt's continuation


def test_rejects_architectures_it_does_not_implement(model_dir, tmp_path):
    import json
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    config["model_type"] = "gpt2"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="Llama"):
        NumpyLlama(copy)
