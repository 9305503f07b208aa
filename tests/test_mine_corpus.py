"""The v3 data path on a small cache built here: train.mine_corpus, train.shards, train.pretrain --shards."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from docucode_hook.code.records import Style
from train import corpus, mine_corpus, pretrain, shards
from train.mine import SPLITS
from wheels import make_wheel

SAMPLES = Path(__file__).parent / "samples"
SHIPPED_TOKENIZER = Path(__file__).parents[1] / "src" / "docucode_hook" / "models" / "docucode-small"
TINY_CONFIG = Path(pretrain.__file__).parent / "configs" / "pretrain-tiny.yaml"
PINNED = {"pkg-a": "train", "pkg-b": "validation", "pkg-c": "test", "vendorer": "train"}


def _add_package(cache: Path, name: str, files: dict[str, bytes], rank: int) -> None:
    """Unpack a wheel into the cache as train.corpus does, and record it as kept."""
    wheel_path = make_wheel(cache / f"{name}.whl", name, files)
    with zipfile.ZipFile(wheel_path) as wheel:
        counts = corpus.extract_wheel(wheel, cache / "src" / name)
    wheel_path.unlink()
    outcome = corpus.Outcome(rank, name, "1.0", True, "kept", "MIT", files=counts[0])
    with (cache / "manifest.jsonl").open("a") as handle:
        handle.write(json.dumps(outcome.__dict__) + "\n")


def _sample_files(package: str, prefix: str = "") -> dict[str, bytes]:
    root = SAMPLES / package
    return {f"{prefix}{package}/{p.relative_to(root).as_posix()}": p.read_bytes() for p in root.rglob("*.py")}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pkg-a, pkg-b and pkg-c from the samples, and "vendorer" holding a vendored copy of pkg_a."""
    root = tmp_path_factory.mktemp("cache")
    (root / "src").mkdir()
    for rank, name in enumerate(("pkg_a", "pkg_b", "pkg_c"), 1):
        _add_package(root, name.replace("_", "-"), _sample_files(name), rank)
    # A GPL project the corpus left out: in the manifest, not kept, never mined.
    with (root / "manifest.jsonl").open("a") as handle:
        handle.write(json.dumps(corpus.Outcome(9, "gpl-thing", "1.0", False, "licence GPL", "GPL").__dict__) + "\n")
    return root


@pytest.fixture(scope="module")
def mined(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mined")
    assert mine_corpus.main(["mine", "--cache", str(cache), "--out", str(out), "--workers", "2"]) == 0
    return out


@pytest.fixture(scope="module")
def remined(cache: Path, mined: Path) -> tuple[list[str], bool, list]:
    """A package downloaded after the first run ("vendorer", with a vendored copy of pkg_a), mined again."""
    before = (mined / "packages" / "pkg-a" / "functions.jsonl.gz").stat().st_mtime_ns
    _add_package(cache, "vendorer", {"vendorer/core.py": b"def own(x):\n    return x * 2 + 1\n",
                                     **_sample_files("pkg_a", "vendorer/_vendor/")}, 4)
    second = [c["package"] for c in mine_corpus.mine_all(cache, mined, 1, Style.GOOGLE, 10**6)]
    untouched = (mined / "packages" / "pkg-a" / "functions.jsonl.gz").stat().st_mtime_ns == before
    return second, untouched, list(mine_corpus.mine_all(cache, mined, 1, Style.GOOGLE, 10**6))


def test_mine_writes_each_package_once_and_resumes_with_new_downloads(mined: Path, remined) -> None:
    done = sorted(p.parent.name for p in (mined / "packages").glob("*/done.json"))
    assert done == ["pkg-a", "pkg-b", "pkg-c", "vendorer"]
    counts = json.loads((mined / "packages" / "pkg-b" / "done.json").read_text())
    assert counts["licence"] == "MIT" and counts["skipped_files"] == {"SyntaxError": 1} and counts["functions"] > 5
    second, untouched, third = remined
    assert second == ["vendorer"] and untouched and third == []


@pytest.fixture(scope="module")
def finalized(mined: Path, remined, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    split_dir = tmp_path_factory.mktemp("splits")
    for split in SPLITS:
        names = sorted(name for name, chosen in PINNED.items() if chosen == split)
        (split_dir / f"v3-{split}.txt").write_text("".join(f"{n}\n" for n in names))
    stats = mine_corpus.finalize(mine_corpus.FinalizeArgs(mined, workers=2, split_dir=split_dir))
    return mined / "corpus", stats, split_dir


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_finalize_dedups_vendored_copies_across_packages_and_keeps_pinned_splits(finalized) -> None:
    corpus_dir, stats, split_dir = finalized
    records = {split: _read(corpus_dir / f"{split}.jsonl") for split in SPLITS}
    assert {r["package"] for r in records["train"]} == {"pkg-a"}  # vendorer's copies lost to the original
    assert {r["package"] for r in records["validation"]} == {"pkg-b"}
    assert {r["package"] for r in records["test"]} == {"pkg-c"}
    funnel = dict(stats["docstring_funnel"])
    assert funnel["duplicate body across packages"] >= 3
    code = _read(corpus_dir / "code.jsonl")
    assert {r["package"] for r in code} == {"pkg-a", "vendorer"}
    assert sum(r["package"] == "vendorer" for r in code) == 1  # only its own function
    assert stats["code"]["train"]["functions"] == len(code) and stats["packages_mined"] == 4
    assert {r["package"] for r in _read(corpus_dir / "code-validation.jsonl")} == {"pkg-b"}
    assert (split_dir / "v3-train.txt").read_text() == "pkg-a\nvendorer\n"
    assert "duplicate body across packages" in (corpus_dir / "stats.md").read_text()


def _build(corpus_dir: Path, out: Path, *extra: str) -> dict:
    # Room for the tokenizer in part-0 and a few kB more: the data spreads over several parts.
    tokenizer_bytes = sum(p.stat().st_size for p in SHIPPED_TOKENIZER.glob("tokenizer*.json"))
    part_mb = (tokenizer_bytes + 200_000 + 4_000) / 1e6
    assert shards.main(["build", "--data", str(corpus_dir), "--tokenizer", str(SHIPPED_TOKENIZER), "--out", str(out),
                        "--chunk-tokens", "500", "--chunk-examples", "8", "--part-mb", str(part_mb),
                        "--max-len", "256", *extra]) == 0
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def shard_dir(finalized, mined: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from the per-package token cache that ``prepare`` wrote while mining went on."""
    corpus_dir, _, _ = finalized
    assert shards.main(["prepare", "--mined", str(mined), "--tokenizer", str(SHIPPED_TOKENIZER), "--max-len", "256"]) == 0
    out = tmp_path_factory.mktemp("shards") / "shards"
    manifest = _build(corpus_dir, out, "--mined", str(mined))
    assert manifest["token_cache"]["misses"] == 0 and manifest["token_cache"]["hits"] > 20
    return out


def test_the_token_cache_changes_no_byte_of_the_shards(shard_dir: Path, finalized, tmp_path: Path) -> None:
    corpus_dir, _, _ = finalized
    direct = _build(corpus_dir, tmp_path / "direct")
    cached = json.loads((shard_dir / "manifest.json").read_text())
    assert direct["token_cache"] == {"hits": 0, "misses": cached["token_cache"]["hits"]}
    assert [(f["name"], f["sha256"]) for f in direct["files"]] == [(f["name"], f["sha256"]) for f in cached["files"]]


def test_shards_hold_the_same_tokens_as_the_jsonl_path(shard_dir: Path, finalized) -> None:
    from transformers import PreTrainedTokenizerFast

    from train.data import encode_sft, pack_corpus, read_jsonl

    corpus_dir, _, _ = finalized
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    parts = sorted(p.name for p in shard_dir.glob("part-*"))
    assert len(parts) >= 2 and set(manifest["parts"]) == set(parts)
    assert max(manifest["parts"].values()) <= max(p.stat().st_size for p in shard_dir.glob("part-0/tokenizer/*")) + 204_000
    assert (shard_dir / "part-0" / "manifest.json").read_text() == (shard_dir / "manifest.json").read_text()
    data = shards.load_shards(shard_dir)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(SHIPPED_TOKENIZER))
    code = [r["code"] for r in read_jsonl(corpus_dir / "code.jsonl")]
    assert sorted(data.a_train.tolist()) == sorted(pack_corpus(tokenizer, code).tolist())  # packages reordered
    assert data.a_train.dtype.name == "uint16" and manifest["totals"]["a-train"]["files"] >= 2
    examples, _ = encode_sft(tokenizer, read_jsonl(corpus_dir / "validation.jsonl"), 256)
    pairs = sorted((e.input_ids, e.prompt_len) for e in examples)
    assert sorted((e.input_ids, e.prompt_len) for e in data.b_validation) == pairs and pairs
    assert manifest["totals"]["b-train"]["tokens"] == sum(len(e.input_ids) for e in data.b_train)


def test_a_missing_or_damaged_part_is_a_one_line_error(shard_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(shard_dir, copy)
    shutil.rmtree(copy / "part-1")
    with pytest.raises(shards.DataError, match=r"part-1/.*missing \(copy part-1/"):
        shards.load_shards(copy)
    shutil.copytree(shard_dir / "part-1", copy / "part-1")
    victim = next((copy / "part-1").glob("*.npz"))
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(shards.DataError, match="sha256 differs"):
        shards.load_shards(copy)


def test_pretrain_from_shards_stops_at_a_step_resumes_and_saves_a_loadable_model(shard_dir: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    args = replace(pretrain.load_args(TINY_CONFIG), shards=str(shard_dir), out=str(tmp_path / "run"),
                   curve_fractions=(0.5,))
    first = pretrain.run(args, stop_when=lambda stage, steps: stage == "A" and steps >= 12)
    assert first["finished"] is False
    state = torch.load(tmp_path / "run" / "checkpoint" / "state.pt", weights_only=False)
    assert state["phase"] == "A" and state["state"]["log"]["steps"] == 12 and state["optimizer"]["state"]
    assert not (tmp_path / "run" / "config.json").exists()

    assert pretrain.main(["--config", str(TINY_CONFIG), "--shards", str(shard_dir), "--out", str(tmp_path / "run"),
                          "--curve-fractions", "0.5", "--resume"]) == 0
    log = json.loads((tmp_path / "run" / "training_log.json").read_text())
    stage_a, stage_b = log["stages"]
    assert log["finished"] and [c["from_phase"] for c in log["calls"]] == ["A", "A"]
    assert stage_a["steps"] == 30 and stage_b["steps"] == 20  # the max_steps of the tiny config, over both calls
    assert stage_b["val_loss"] < stage_b["val_loss_before"]
    assert log["learning_curve"][0]["fraction"] == 0.5
    assert log["code_tokens"] == json.loads((shard_dir / "manifest.json").read_text())["totals"]["a-train"]["tokens"]

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "run")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "run")
    assert model.dtype == torch.float16 and len(tokenizer) == 12288
    encoded = tokenizer("def add(a, b):\n    return a + b\n", return_tensors="pt")
    generated = model.float().generate(**encoded, max_new_tokens=6, min_new_tokens=6, do_sample=False)
    assert generated.shape[1] == encoded["input_ids"].shape[1] + 6


def test_resume_without_a_checkpoint_is_a_one_line_error(shard_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert pretrain.main(["--config", str(TINY_CONFIG), "--shards", str(shard_dir), "--out", str(tmp_path / "none"),
                          "--resume"]) == 2
    assert "checkpoint/state.pt: no checkpoint to resume from" in capsys.readouterr().err
