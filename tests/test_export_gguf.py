"""train.export --format gguf: the shipped model's GGUF file read back with the gguf library, and its Modelfile."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="the gguf extra is not installed (pip install 'docucode[gguf]')")

from docucode_hook.backends.convert import load_arrays, read_config  # noqa: E402
from docucode_hook.backends.loading import DEFAULT_MODEL_DIR  # noqa: E402
from docucode_hook.backends.served import SHIPPED_GGUF_TYPES, serves_shipped_model  # noqa: E402
from docucode_hook.backends.server import COMPLETION_STOPS  # noqa: E402
from train import export  # noqa: E402
from train.gguf_file import modelfile_text, rope_rows_interleaved  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model exported in f32 and q8_0 into one directory (the Modelfile names the last)."""
    out = tmp_path_factory.mktemp("gguf")
    for outtype in ("f32", "q8_0"):
        assert export.main(["--format", "gguf", "--out", str(out), "--outtype", outtype]) == 0
    return out


def _fields(reader: object) -> dict[str, object]:
    return {name: field.contents() for name, field in reader.fields.items()}  # type: ignore[attr-defined]


def _tensor(reader: object, name: str) -> np.ndarray:
    [tensor] = [t for t in reader.tensors if t.name == name]  # type: ignore[attr-defined]
    values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    return np.asarray(values, dtype=np.float32).reshape(tuple(reversed([int(n) for n in tensor.shape])))


def test_the_shipped_model_is_written_under_its_own_name_with_its_tokenizer(exported: Path, capsys) -> None:
    path = exported / "docucode-small-f32.gguf"
    fields = _fields(gguf.GGUFReader(path))
    config = read_config(DEFAULT_MODEL_DIR)
    tokenizer = json.loads((DEFAULT_MODEL_DIR / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = {i: token for token, i in tokenizer["model"]["vocab"].items()}
    assert fields["general.architecture"] == "llama" and fields["general.name"] == "docucode-small"
    assert fields["llama.block_count"] == config["num_hidden_layers"]
    assert fields["llama.attention.head_count_kv"] == config["num_key_value_heads"]
    assert fields["llama.context_length"] == config["max_position_embeddings"]
    assert fields["tokenizer.ggml.model"] == "gpt2" and fields["tokenizer.ggml.pre"] == "gpt-2"
    assert fields["tokenizer.ggml.tokens"] == [vocab[i] for i in range(config["vocab_size"])]
    assert len(fields["tokenizer.ggml.merges"]) == len(tokenizer["model"]["merges"])
    # The post-processor puts <|bos|> before every prompt: llama.cpp must add the same token.
    assert fields["tokenizer.ggml.add_bos_token"] is True
    assert fields["tokenizer.ggml.bos_token_id"] == config["bos_token_id"]
    assert fields["tokenizer.ggml.eos_token_id"] == config["eos_token_id"]


def test_every_file_the_shipped_export_writes_is_known_to_the_server_backend_as_the_shipped_model(
    tmp_path: Path,
) -> None:
    """The name the export gives is the one the shipped gates are applied under; a fine-tune's is not."""
    for outtype in SHIPPED_GGUF_TYPES:
        name = export.gguf_path(export.ExportArgs(out=tmp_path, outtype=outtype)).name
        assert serves_shipped_model(f"/models/{name}"), name
    team = export.gguf_path(export.ExportArgs(out=tmp_path, adapter=Path("runs/qlora-numpy-family")))
    assert team.name == "qlora-numpy-family-q8_0.gguf" and not serves_shipped_model(str(team))


def test_f32_weights_are_the_checkpoint_s_with_q_and_k_in_llama_cpp_s_rotary_order(exported: Path) -> None:
    reader = gguf.GGUFReader(exported / "docucode-small-f32.gguf")
    arrays = load_arrays(DEFAULT_MODEL_DIR)
    config = read_config(DEFAULT_MODEL_DIR)
    np.testing.assert_array_equal(_tensor(reader, "token_embd.weight"), arrays["model.embed_tokens.weight"])
    np.testing.assert_array_equal(_tensor(reader, "blk.3.ffn_down.weight"), arrays["model.layers.3.mlp.down_proj.weight"])
    v = arrays["model.layers.3.self_attn.v_proj.weight"]
    np.testing.assert_array_equal(_tensor(reader, "blk.3.attn_v.weight"), v)
    q = arrays["model.layers.3.self_attn.q_proj.weight"]
    k = arrays["model.layers.3.self_attn.k_proj.weight"]
    np.testing.assert_array_equal(_tensor(reader, "blk.3.attn_q.weight"),
                                  rope_rows_interleaved(q, config["num_attention_heads"]))
    np.testing.assert_array_equal(_tensor(reader, "blk.3.attn_k.weight"),
                                  rope_rows_interleaved(k, config["num_key_value_heads"]))
    assert not np.array_equal(_tensor(reader, "blk.3.attn_q.weight"), q)
    # Tied embeddings: llama.cpp projects with token_embd when there is no output tensor.
    assert "output.weight" not in {t.name for t in reader.tensors}


def test_q8_0_keeps_norms_in_float32_and_the_matrices_within_its_rounding(exported: Path) -> None:
    reader = gguf.GGUFReader(exported / "docucode-small-q8_0.gguf")
    types = {t.name: t.tensor_type for t in reader.tensors}
    assert types["blk.0.attn_norm.weight"] == gguf.GGMLQuantizationType.F32
    assert types["blk.0.ffn_up.weight"] == gguf.GGMLQuantizationType.Q8_0
    original = load_arrays(DEFAULT_MODEL_DIR)["model.layers.0.mlp.up_proj.weight"].astype(np.float32)
    restored = _tensor(reader, "blk.0.ffn_up.weight")
    # q8_0: a float16 scale per block of 32, each number rounded to 1/127 of its block's largest.
    blocks = np.abs(original).reshape(-1, 32).max(axis=1, keepdims=True)
    assert (np.abs(restored - original).reshape(-1, 32) <= blocks / 127 * 0.51 + 1e-3 * blocks).all()
    assert (exported / "docucode-small-q8_0.gguf").stat().st_size < (exported / "docucode-small-f32.gguf").stat().st_size / 3


def _rotate_half(x: np.ndarray, positions: np.ndarray, head_dim: int) -> np.ndarray:
    """HF Llama's rotary embedding: dimension i turns with i + d/2."""
    inv = 1.0 / 10000 ** (np.arange(0, head_dim, 2) / head_dim)
    angles = np.concatenate([positions[:, None] * inv] * 2, axis=1)
    half = np.concatenate([-x[..., head_dim // 2:], x[..., : head_dim // 2]], axis=-1)
    return x * np.cos(angles) + half * np.sin(angles)


def _rotate_pairs(x: np.ndarray, positions: np.ndarray, head_dim: int) -> np.ndarray:
    """llama.cpp's Llama rotary embedding: dimension 2i turns with 2i + 1."""
    inv = 1.0 / 10000 ** (np.arange(0, head_dim, 2) / head_dim)
    angles = positions[:, None] * inv
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * np.cos(angles) - odd * np.sin(angles)
    out[..., 1::2] = even * np.sin(angles) + odd * np.cos(angles)
    return out


def test_reordered_rows_under_llama_cpp_s_rotation_give_hf_s_attention_scores() -> None:
    rng = np.random.default_rng(0)
    heads, head_dim, hidden, length = 3, 8, 12, 5
    wq, wk = rng.normal(size=(heads * head_dim, hidden)), rng.normal(size=(heads * head_dim, hidden))
    x, positions = rng.normal(size=(length, hidden)), np.arange(length, dtype=float)

    def scores(wq: np.ndarray, wk: np.ndarray, rotate) -> np.ndarray:  # noqa: ANN001
        q = (x @ wq.T).reshape(length, heads, head_dim).transpose(1, 0, 2)
        k = (x @ wk.T).reshape(length, heads, head_dim).transpose(1, 0, 2)
        return rotate(q, positions, head_dim) @ rotate(k, positions, head_dim).transpose(0, 2, 1)

    hf = scores(wq, wk, _rotate_half)
    ours = scores(rope_rows_interleaved(wq, heads), rope_rows_interleaved(wk, heads), _rotate_pairs)
    np.testing.assert_allclose(ours, hf, rtol=1e-9, atol=1e-9)
    assert not np.allclose(scores(wq, wk, _rotate_pairs), hf)  # without the reordering, other scores


_BLANK_OR_COMMENT = re.compile(r"(?:\s+|#[^\n]*)*")
_WORD = re.compile(r"(\w+)[ \t]+")
# Between triple quotes (up to the last quotes of a line: may span lines), between quotes, or bare.
_VALUE = re.compile(r'"""([\s\S]*?)"""(?=[ \t]*(?:\n|$))|"([^"]*)"|([^\n]*)')


def read_modelfile(text: str) -> list[tuple[str, str]]:
    """(instruction or parameter name, value) in order, as Ollama's Modelfile reference documents them.

    A value is taken as written between triple quotes or quotes (no escapes; newlines kept), or bare
    to the end of its line; ``#`` starts a comment.
    """
    commands, position = [], 0
    while (position := _BLANK_OR_COMMENT.match(text, position).end()) < len(text):
        word = _WORD.match(text, position)
        name, position = word.group(1), word.end()
        if name.upper() == "PARAMETER":
            word = _WORD.match(text, position)
            name, position = word.group(1), word.end()
        value = _VALUE.match(text, position)
        commands.append((name, next(group for group in value.groups() if group is not None)))
        position = value.end()
    return commands


def test_the_modelfile_runs_the_file_beside_it_as_the_hook_decodes(exported: Path) -> None:
    commands = read_modelfile((exported / "Modelfile").read_text(encoding="utf-8"))
    values: dict[str, list[str]] = {}
    for name, value in commands:
        values.setdefault(name, []).append(value)
    assert values["FROM"] == ["./docucode-small-q8_0.gguf"] and (exported / "docucode-small-q8_0.gguf").is_file()
    assert values["TEMPLATE"] == ["{{ .Prompt }}"]  # the hook's own prompt, raw
    assert values["temperature"] == ["0"] and values["top_k"] == ["1"] and values["repeat_penalty"] == ["1"]
    assert values["num_ctx"] == [str(read_config(DEFAULT_MODEL_DIR)["max_position_embeddings"])]
    # The stops the server backend sends with a completion: not the closing quotes, which would
    # stop a model that opens its answer with them before a word (the hook cuts there itself).
    assert tuple(values["stop"]) == COMPLETION_STOPS and COMPLETION_STOPS


def test_stop_strings_with_quotes_are_written_as_the_modelfile_format_reads_them() -> None:
    written = read_modelfile(modelfile_text("m.gguf", ('x"y', '"""', "\n### "), 512, 96))
    assert [value for name, value in written if name == "stop"] == ['x"y', '"""', "\n### "]
    with pytest.raises(ValueError, match="cannot be written"):
        modelfile_text("m.gguf", ('a""" b',), 512, 96)


def test_a_tokenizer_llama_cpp_would_split_otherwise_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    model = Path(shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "metaspace"))
    tokenizer = json.loads((model / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"}
    (model / "tokenizer.json").write_text(json.dumps(tokenizer), encoding="utf-8")
    out = tmp_path / "out.gguf"
    assert export.main(["--format", "gguf", "--base", str(model), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot export to GGUF: the pre-tokenizer is not GPT-2's" in err
    assert not out.exists() and list(tmp_path.glob("*.partial")) == []


def test_an_explicit_file_name_is_kept(tmp_path: Path, capsys) -> None:
    out = tmp_path / "team" / "ours.gguf"
    assert export.main(["--format", "gguf", "--out", str(out), "--outtype", "f16"]) == 0
    assert f"GGUF file written to {out};" in capsys.readouterr().out
    assert out.is_file() and (out.parent / "Modelfile").read_text().startswith("# Written by")
    assert 'FROM ./ours.gguf' in (out.parent / "Modelfile").read_text()
