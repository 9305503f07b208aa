"""llama.cpp running the shipped model's GGUF export chooses the tokens CTranslate2 float32 chooses (issue 21).

The prompts are the hook's own, mined from 8 functions of the shipped model's test packages
(``tests/engine_prompts.jsonl``: one function per package, its licence beside it). The full
comparison on the 150 test functions of ``docs/eval/v3`` is a recorded run in
docs/benchmarks.md (``bench/gguf_agreement.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_server import requires_engine

pytest.importorskip("gguf", reason="the gguf extra is not installed (pip install 'docucode[gguf]')")

from bench.gguf_agreement import measure, read_prompts  # noqa: E402

PROMPTS = Path(__file__).with_name("engine_prompts.jsonl")


@requires_engine
def test_llama_cpp_reads_and_continues_the_test_prompts_as_ct2_float32_does() -> None:
    prompts = read_prompts(PROMPTS)
    # 64 new tokens, not the hook's 96: a third less of CI's time, and q8_0's rows part at token 23 (median).
    results, left_out = measure(prompts, ("f32", "f16", "q8_0"), max_new_tokens=64)
    by_type = {result.outtype: result for result in results}
    assert left_out == 0 and len(prompts) == 8
    # llama.cpp's GPT-2 pre-tokenizer and BOS rule give the ids the hook's tokenizer gives.
    assert all(result.prompts_alike == result.rows for result in results)
    # float32 weights: the same arithmetic up to summation order, and every greedy choice agrees.
    assert by_type["f32"].tokens_alike == by_type["f32"].rows
    # The shipped weights are float16: f16 loses nothing, though llama.cpp then multiplies in f16.
    assert by_type["f16"].tokens_alike >= by_type["f16"].rows - 1
    # q8_0 rounds every weight: most rows agree, and those that do not part late (recorded: 8 of 12).
    assert by_type["q8_0"].tokens_alike >= by_type["q8_0"].rows // 2
    assert all(first > 0 for first in by_type["q8_0"].first_differences)


@requires_engine
def test_a_merged_fine_tune_reaches_llama_cpp_with_the_tokens_of_its_merged_checkpoint(
    tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path
) -> None:
    """A team's QLoRA adapter: ``--adapter`` merges it, and llama.cpp runs the merge as CTranslate2 does."""
    from bench.gguf_agreement import ct2_float32, llama_cpp
    from train import export

    out = tmp_path / "team.gguf"
    assert export.main(["--format", "gguf", "--base", str(tiny_model_dir), "--adapter", str(tiny_adapter_dir),
                        "--out", str(out), "--outtype", "f32"]) == 0
    merged = tmp_path / "team-hf"
    assert (merged / "model.safetensors").is_file() and (tmp_path / "Modelfile").is_file()
    prompts = ["### Code\ndef add(a: int, b: int = 2) -> int:\n    return a + b\n### Docstring\n",
               "class Stack:\n    def push(self, item):\n        self.items.append(item)\n"]
    ours = ct2_float32(merged, prompts, 16)
    theirs = llama_cpp(out, prompts, 16, 2048)
    assert [row.prompt_ids for row in theirs] == [row.prompt_ids for row in ours]
    assert theirs == ours and all(row.ids for row in ours)
    # The adapter changed the model: the base alone continues otherwise.
    assert ct2_float32(tiny_model_dir, prompts, 16) != ours
