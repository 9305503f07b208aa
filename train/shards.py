"""Tokenize a mined corpus on the CPU into compressed uint16 shards, packed in parts for transport.

Commands::

    # while train.mine_corpus mines: filter and tokenize each package as soon as it is mined
    python -m train.shards prepare --mined data/mined --tokenizer src/docucode_hook/models/docucode-small \\
        --follow 1800
    # after train.mine_corpus finalize: the v3 shards, parts of at most 38 MB
    python -m train.shards build --data data/mined/corpus --mined data/mined \\
        --tokenizer src/docucode_hook/models/docucode-small --out data/shards --max-a-tokens 300000000

    # on the GPU machine, after each part-K/ was copied under /root/v3/
    python -m train.pretrain --config train/configs/pretrain-v3.yaml --shards /root/v3 --out /root/v3-run

Stage A (``a-train-*.npz``): the functions of code.jsonl as one token stream, each
``<|bos|> code <|eos|>`` as ``train.data.pack_corpus`` builds it, packages in a seeded random
order, cut into chunks; ``a-validation.npz`` the same from code-validation.jsonl. Stage B
(``b-train-*.npz``, ``b-validation.npz``): the SFT records of both tasks encoded by
``train.data.encode_sft`` (prompt + completion + ``<|eos|>``, at most ``--max-len`` tokens),
stored as ``tokens`` (uint16, examples end to end), ``lengths`` and ``prompt_lens`` (uint16),
in a seeded random order. Each file is ``numpy.savez_compressed`` (zlib): lzma (preset 6) was a
fifth smaller on a probe of 252k code tokens but took 9 times as long. Files are packed into
``part-K/`` folders of at most ``--part-mb`` MB; ``part-0/`` also holds the tokenizer and
``manifest.json`` (every file with its part, kind, token and example counts, bytes and
sha256), so the GPU side needs nothing but the parts. A corpus larger than
``--max-a-tokens`` keeps a seeded random subset of its train packages for stage A.

``prepare`` writes ``tokens-<max-len>.npz`` into each mined package folder (and the filtered
rows, ``filtered.pkl``, that finalize reuses); ``build --mined`` looks every row up there by
the hash of its text and encodes only what is missing, so the shards are byte for byte the
ones a build without the cache writes.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docucode_hook.backends.prompt import record_input
from train.args import arg, parse_command
from train.data import DataError, SftExample, encode_documents, encode_sft_each, read_jsonl
from train.mine import Limits

if TYPE_CHECKING:
    import numpy as np
    from transformers import PreTrainedTokenizerFast

MANIFEST = "manifest.json"
TOKENIZER_DIR = "tokenizer"
# Measured on the corpus: 3.7 characters of code per token of the v2 tokenizer (used only to
# choose the stage-A packages before tokenizing; the manifest has the real counts).
CHARS_PER_TOKEN = 3.7
SFT_FIELDS = ("prompt", "code_snippet", "completion")


@dataclass(frozen=True)
class ShardArgs:
    data: Path
    tokenizer: Path
    out: Path
    max_len: int = 512
    max_a_tokens: int | None = None
    chunk_tokens: int = 16_000_000  # stage-A tokens a file (~13 MB compressed)
    chunk_examples: int = 50_000  # stage-B examples a file
    part_bytes: int = 38_000_000
    seed: int = 0
    mined: Path | None = None  # train.mine_corpus output whose packages ``prepare`` tokenized


def _compressed(arrays: dict[str, np.ndarray]) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


class PartWriter:
    """Places each compressed file into the first part folder with room for it."""

    def __init__(self, out: Path, part_bytes: int) -> None:
        self.out, self.part_bytes = out, part_bytes
        self.used: list[int] = []
        self.files: list[dict[str, Any]] = []

    def reserve(self, nbytes: int) -> str:
        """Count ``nbytes`` into a part (for files outside the manifest's list, like the tokenizer)."""
        for index, used in enumerate(self.used):
            if used + nbytes <= self.part_bytes:
                self.used[index] += nbytes
                return f"part-{index}"
        if nbytes > self.part_bytes:
            raise DataError(f"{self.out}: a {nbytes}-byte file does not fit a {self.part_bytes}-byte part")
        self.used.append(nbytes)
        return f"part-{len(self.used) - 1}"

    def write(self, name: str, kind: str, arrays: dict[str, np.ndarray], **counts: int) -> None:
        data = _compressed(arrays)
        part = self.reserve(len(data))
        (self.out / part).mkdir(parents=True, exist_ok=True)
        (self.out / part / name).write_bytes(data)
        self.files.append({
            "part": part, "name": name, "kind": kind, **counts,
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        })  # fmt: skip
        print(f"{part}/{name}: {counts} {len(data) / 1e6:.1f} MB", flush=True)


def choose_packages(code: list[dict[str, Any]], max_tokens: int | None, seed: int) -> list[str]:
    """Train packages in a seeded random order, cut where the estimated tokens reach ``max_tokens``."""
    chars: dict[str, int] = {}
    for row in code:
        chars[row["package"]] = chars.get(row["package"], 0) + len(row["code"])
    order = sorted(chars)
    random.Random(seed).shuffle(order)
    if max_tokens is None:
        return order
    kept, total = [], 0.0
    for package in order:
        if total >= max_tokens:
            break
        kept.append(package)
        total += chars[package] / CHARS_PER_TOKEN
    return kept


def _code_chunks(
    tokenizer: PreTrainedTokenizerFast, code: list[dict[str, Any]], packages: list[str], chunk_tokens: int,
    cache: TokenCache,
) -> Iterator[np.ndarray]:
    """The token stream of the packages, in the given order, cut into pieces of ``chunk_tokens``.

    A cut may fall inside a function: stage A samples windows from the whole stream.
    """
    import numpy as np

    by_package: dict[str, list[dict[str, Any]]] = {}
    for row in code:
        by_package.setdefault(row["package"], []).append(row)
    pending = np.zeros(0, dtype=np.uint16)
    batch: list[dict[str, Any]] = []
    for index, package in enumerate(packages):
        batch += by_package[package]
        # Encode many packages at once so the tokenizer's threads have work.
        if len(batch) < 20_000 and index + 1 < len(packages):
            continue
        pending = np.concatenate([pending, _encode_code_cached(tokenizer, batch, cache)])
        batch = []
        while len(pending) >= chunk_tokens:
            yield pending[:chunk_tokens]
            pending = pending[chunk_tokens:]
    if len(pending):
        yield pending


# --------------------------------------------------------------------------- per-package token cache


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).digest()


def sft_key(record: dict[str, Any]) -> bytes:
    """What identifies an SFT example: the model input and the completion."""
    return _key(f"{record_input(record)}\0{record['completion']}")


def _cache_path(directory: Path, max_len: int) -> Path:
    return directory / f"tokens-{max_len}.npz"


def prepare_package(directory: Path, tokenizer: PreTrainedTokenizerFast, max_len: int, limits: Limits) -> dict[str, int]:
    """Filter one mined package and tokenize what may reach the corpus, into ``tokens-<max_len>.npz``.

    Run while mining goes on, it leaves ``build`` only the gathering: the rows that finalize
    keeps are looked up by the hash of their text.
    """
    import numpy as np

    from train.mine_corpus import filtered_package

    result = filtered_package(directory, limits)
    code = result.code["code"].tolist()
    records = [*result.docstrings.to_dict("records"), *result.comments.to_dict("records")]
    documents = encode_documents(tokenizer, code)
    examples = encode_sft_each(tokenizer, records, max_len)
    fitting = [e for e in examples if e is not None]
    arrays = {
        # Raw bytes, not numpy "S12": that type drops a key's trailing NUL bytes.
        "code_keys": np.frombuffer(b"".join(_key(text) for text in code), dtype=np.uint8).reshape(-1, 12),
        "code_lengths": np.array([len(d) for d in documents], dtype=np.uint32),
        "code_tokens": np.concatenate(documents) if documents else np.zeros(0, np.uint16),
        "sft_keys": np.frombuffer(b"".join(sft_key(r) for r in records), dtype=np.uint8).reshape(-1, 12),
        "sft_lengths": np.array([len(e.input_ids) if e else 0 for e in examples], dtype=np.uint32),
        "sft_prompt_lens": np.array([e.prompt_len if e else 0 for e in examples], dtype=np.uint32),
        "sft_tokens": np.fromiter((t for e in fitting for t in e.input_ids), dtype=np.uint16),
    }
    path = _cache_path(directory, max_len)
    partial_path = path.with_suffix(".partial.npz")
    np.savez(partial_path, **arrays)
    partial_path.replace(path)
    return {"code": len(code), "sft": len(records), "tokens": int(len(arrays["code_tokens"]) + len(arrays["sft_tokens"]))}


_WORKER_TOKENIZER: list[Any] = []  # one tokenizer per worker process, loaded by _init_worker


def _init_worker(tokenizer_dir: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    _WORKER_TOKENIZER.append(PreTrainedTokenizerFast.from_pretrained(str(tokenizer_dir)))


def _prepare_in_worker(directory: Path, max_len: int, limits: Limits) -> str:
    counts = prepare_package(directory, _WORKER_TOKENIZER[0], max_len, limits)
    return f"{directory.name}: {counts}"


def prepare_all(
    mined: Path, tokenizer_dir: Path, max_len: int, limits: Limits, follow_s: float = 0.0, workers: int = 1
) -> Iterator[str]:
    """``prepare_package`` on every mined package without a cache; with ``follow_s``, waits for more."""
    import multiprocessing
    from functools import partial

    from train.mine_corpus import DONE

    work = partial(_prepare_in_worker, max_len=max_len, limits=limits)
    idle_since = time.monotonic()
    with multiprocessing.get_context().Pool(workers, _init_worker, (tokenizer_dir,), maxtasksperchild=100) as pool:
        while True:
            todo = sorted(
                d for d in (mined / "packages").iterdir()
                if not d.name.startswith(".") and (d / DONE).exists() and not _cache_path(d, max_len).exists()
            )
            if not todo:
                if time.monotonic() - idle_since >= follow_s:
                    return
                time.sleep(min(30.0, follow_s))
                continue
            yield from pool.imap_unordered(work, todo[: 20 * workers])
            idle_since = time.monotonic()


class TokenCache:
    """The ``prepare`` results of a mined folder, looked up by package and text; None where absent."""

    def __init__(self, mined: Path | None, max_len: int) -> None:
        self.mined, self.max_len = mined, max_len
        self.loaded: dict[str, tuple[dict[bytes, Any], dict[bytes, Any]]] = {}
        self.hits = self.misses = 0

    def _package(self, package: str) -> tuple[dict[bytes, Any], dict[bytes, Any]]:
        import numpy as np

        if package not in self.loaded:
            path = _cache_path(self.mined / "packages" / package, self.max_len) if self.mined else None
            code: dict[bytes, Any] = {}
            sft: dict[bytes, Any] = {}
            if path is not None and path.is_file():
                arrays = np.load(path)
                ends = np.cumsum(arrays["code_lengths"].astype(np.int64))
                tokens = arrays["code_tokens"]
                for key, end, length in zip(arrays["code_keys"], ends, arrays["code_lengths"]):
                    code[key.tobytes()] = tokens[end - length : end]
                ends = np.cumsum(arrays["sft_lengths"].astype(np.int64))
                tokens = arrays["sft_tokens"]
                for key, end, length, prompt_len in zip(arrays["sft_keys"], ends, arrays["sft_lengths"],
                                                        arrays["sft_prompt_lens"]):
                    sft[key.tobytes()] = SftExample(tuple(tokens[end - length : end].tolist()), int(prompt_len)) if length else False
            self.loaded[package] = (code, sft)
        return self.loaded[package]

    def code(self, package: str, text: str) -> Any:
        found = self._package(package)[0].get(_key(text))
        self.hits += found is not None
        self.misses += found is None
        return found

    def sft(self, record: dict[str, Any]) -> SftExample | None | bool:
        """The example, False for a record known not to fit, None when not cached."""
        found = self._package(record["package"])[1].get(sft_key(record))
        self.hits += found is not None
        self.misses += found is None
        return found


def _encode_sft_cached(
    tokenizer: PreTrainedTokenizerFast, records: list[dict[str, Any]], max_len: int, cache: TokenCache
) -> tuple[list[SftExample], int]:
    """``train.data.encode_sft`` through the cache: only records it lacks are encoded here."""
    found = [cache.sft(record) for record in records]
    missing = [record for record, hit in zip(records, found) if hit is None]
    fresh = iter(encode_sft_each(tokenizer, missing, max_len))
    each = [next(fresh) if hit is None else (hit or None) for hit in found]
    examples = [example for example in each if example is not None]
    return examples, len(each) - len(examples)


def _encode_code_cached(
    tokenizer: PreTrainedTokenizerFast, rows: list[dict[str, Any]], cache: TokenCache
) -> np.ndarray:
    """``train.data.pack_corpus`` of the rows' code through the cache."""
    import numpy as np

    found = [cache.code(row["package"], row["code"]) for row in rows]
    fresh = iter(encode_documents(tokenizer, [row["code"] for row, hit in zip(rows, found) if hit is None]))
    pieces = [next(fresh) if hit is None else hit for hit in found]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint16)


def sft_arrays(examples: Sequence[SftExample]) -> dict[str, np.ndarray]:
    """Examples end to end as uint16 ``tokens``, with their ``lengths`` and ``prompt_lens``."""
    import numpy as np

    tokens = np.fromiter((t for e in examples for t in e.input_ids), dtype=np.uint16)
    lengths = np.array([len(e.input_ids) for e in examples], dtype=np.uint16)
    prompt_lens = np.array([e.prompt_len for e in examples], dtype=np.uint16)
    return {"tokens": tokens, "lengths": lengths, "prompt_lens": prompt_lens}


def build(args: ShardArgs) -> dict[str, Any]:
    """Write the parts and the manifest under ``args.out``; returns the manifest."""
    import shutil

    import numpy as np
    from transformers import PreTrainedTokenizerFast

    started = time.perf_counter()
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(args.tokenizer))
    if len(tokenizer) > 2**16:
        raise DataError(f"{args.tokenizer}: {len(tokenizer)} tokens do not fit uint16")
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    writer = PartWriter(args.out, args.part_bytes)
    # The tokenizer and the manifest travel in part-0, counted into its size.
    tokenizer_bytes = sum(p.stat().st_size for p in args.tokenizer.glob("tokenizer*.json"))
    writer.reserve(tokenizer_bytes + 200_000)
    tokenizer.save_pretrained(str(args.out / "part-0" / TOKENIZER_DIR))

    rng = random.Random(args.seed)
    cache = TokenCache(args.mined, args.max_len)
    counts: dict[str, Any] = {}
    for split in ("validation", "train"):
        records = read_jsonl(args.data / f"{split}.jsonl", required=SFT_FIELDS)
        rng.shuffle(records)
        examples, dropped = _encode_sft_cached(tokenizer, records, args.max_len, cache)
        counts[f"b_{split}"] = {"records": len(records), "examples": len(examples), "dropped": dropped,
                                "tokens": sum(len(e.input_ids) for e in examples)}
        if split == "validation":
            writer.write("b-validation.npz", "b-validation", sft_arrays(examples), examples=len(examples),
                         tokens=counts["b_validation"]["tokens"])
            continue
        for index, start in enumerate(range(0, len(examples), args.chunk_examples)):
            chunk = examples[start : start + args.chunk_examples]
            writer.write(f"b-train-{index:04d}.npz", "b-train", sft_arrays(chunk), examples=len(chunk),
                         tokens=sum(len(e.input_ids) for e in chunk))
    print(f"stage B encoded in {time.perf_counter() - started:.0f}s: {counts}", flush=True)

    validation = read_jsonl(args.data / "code-validation.jsonl", required=("package", "code"))
    flat = _encode_code_cached(tokenizer, validation, cache)
    writer.write("a-validation.npz", "a-validation", {"tokens": flat}, tokens=len(flat), functions=len(validation))
    code = read_jsonl(args.data / "code.jsonl", required=("package", "code"))
    packages = choose_packages(code, args.max_a_tokens, args.seed)
    kept = set(packages)
    functions = sum(row["package"] in kept for row in code)
    counts["a_train"] = {"packages": len(packages), "of_packages": len({row["package"] for row in code}),
                         "functions": functions, "of_functions": len(code)}
    for index, chunk in enumerate(_code_chunks(tokenizer, code, packages, args.chunk_tokens, cache)):
        writer.write(f"a-train-{index:04d}.npz", "a-train", {"tokens": chunk}, tokens=len(chunk))

    totals: dict[str, dict[str, int]] = {}
    for entry in writer.files:
        total = totals.setdefault(entry["kind"], {"files": 0, "tokens": 0, "bytes": 0})
        total["files"] += 1
        total["tokens"] += entry["tokens"]
        total["bytes"] += entry["bytes"]
    all_bytes = sum(t["bytes"] for t in totals.values())
    all_tokens = sum(t["tokens"] for t in totals.values())
    manifest = {
        "format": 1,
        "tokenizer": {"dir": f"part-0/{TOKENIZER_DIR}", "vocab": len(tokenizer), "bos": tokenizer.bos_token_id,
                      "eos": tokenizer.eos_token_id, "pad": tokenizer.pad_token_id},
        "max_len": args.max_len,
        "seed": args.seed,
        "counts": counts,
        "totals": totals,
        "bytes_per_token": round(all_bytes / max(all_tokens, 1), 4),
        "parts": {f"part-{i}": used for i, used in enumerate(writer.used)},
        "files": writer.files,
        "token_cache": {"hits": cache.hits, "misses": cache.misses},
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(manifest, indent=1) + "\n"
    (args.out / "part-0" / MANIFEST).write_text(text, encoding="utf-8")
    (args.out / MANIFEST).write_text(text, encoding="utf-8")
    return manifest


# --------------------------------------------------------------------------- reading (GPU side)


@dataclass
class ShardData:
    """Everything ``train.pretrain`` needs, loaded from the parts."""

    tokenizer_dir: Path
    max_len: int
    a_train: np.ndarray
    a_validation: np.ndarray
    b_train: list[SftExample]
    b_validation: list[SftExample]


def find_manifest(directory: Path) -> Path:
    """``manifest.json`` at the top of ``directory`` or in its ``part-0``."""
    for candidate in (directory / MANIFEST, directory / "part-0" / MANIFEST):
        if candidate.is_file():
            return candidate
    raise DataError(f"{directory}: no {MANIFEST} (expected in part-0/)")


def _examples(arrays: Any) -> list[SftExample]:
    import numpy as np

    tokens = arrays["tokens"]
    ends = np.cumsum(arrays["lengths"].astype(np.int64))
    starts = ends - arrays["lengths"]
    return [
        SftExample(tuple(tokens[start:end].tolist()), int(prompt_len))
        for start, end, prompt_len in zip(starts, ends, arrays["prompt_lens"])
    ]


def load_shards(directory: Path) -> ShardData:
    """Read every file the manifest lists, checking each one's size and sha256 first."""
    import numpy as np

    manifest_path = find_manifest(directory)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    parts: dict[str, list[Any]] = {}
    for entry in manifest["files"]:
        path = directory / entry["part"] / entry["name"]
        if not path.is_file():
            raise DataError(f"{path}: missing (copy {entry['part']}/ under {directory})")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise DataError(f"{path}: sha256 differs from {manifest_path} (incomplete copy?)")
        parts.setdefault(entry["kind"], []).append(np.load(io.BytesIO(data)))
    a_train = [arrays["tokens"] for arrays in parts.get("a-train", [])]
    if not a_train:
        raise DataError(f"{manifest_path}: no stage-A files")
    return ShardData(
        tokenizer_dir=directory / manifest["tokenizer"]["dir"],
        max_len=manifest["max_len"],
        a_train=np.concatenate(a_train),
        a_validation=parts["a-validation"][0]["tokens"],
        b_train=[e for arrays in parts.get("b-train", []) for e in _examples(arrays)],
        b_validation=_examples(parts["b-validation"][0]),
    )


# --------------------------------------------------------------------------- CLI


@dataclass(frozen=True, kw_only=True)
class BuildCommand:
    """Write the parts and the manifest."""

    data: Path = arg(help="mined corpus: code.jsonl, train.jsonl, ...")
    out: Path = arg(help="shards directory (replaced)")
    mined: Path | None = arg(None, help="train.mine_corpus output with prepared tokens")
    max_a_tokens: int | None = arg(None, help="stage-A tokens to keep, by package")
    chunk_tokens: int = arg(16_000_000)
    chunk_examples: int = arg(50_000)
    part_mb: float = arg(38.0, help="largest part folder, in MB")
    seed: int = arg(0)
    tokenizer: Path = arg(help="directory with tokenizer.json")
    max_len: int = arg(512, help="longest SFT example, in tokens")


@dataclass(frozen=True, kw_only=True)
class PrepareCommand:
    """Tokenize each mined package as soon as it is mined."""

    mined: Path = arg(help="train.mine_corpus output")
    follow: float = arg(0.0, metavar="SECONDS", help="wait for newly mined packages")
    max_functions_per_package: int | None = arg(None)
    workers: int = arg(1)
    tokenizer: Path = arg(help="directory with tokenizer.json")
    max_len: int = arg(512, help="longest SFT example, in tokens")


def main(argv: Sequence[str] | None = None) -> int:
    command, ns = parse_command({"build": BuildCommand, "prepare": PrepareCommand}, argv,
                                prog="python -m train.shards", description=__doc__.splitlines()[0])
    if not (ns.tokenizer / "tokenizer.json").is_file():
        print(f"error: {ns.tokenizer}/tokenizer.json: file not found", file=sys.stderr)
        return 2
    if command == "prepare":
        limits = Limits(max_functions_per_package=ns.max_functions_per_package)
        for line in prepare_all(ns.mined, ns.tokenizer, ns.max_len, limits, ns.follow, ns.workers):
            print(line, flush=True)
        return 0
    args = ShardArgs(ns.data, ns.tokenizer, ns.out, ns.max_len, ns.max_a_tokens, ns.chunk_tokens,
                     ns.chunk_examples, int(ns.part_mb * 1e6), ns.seed, ns.mined)
    try:
        manifest = build(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = ("totals", "bytes_per_token", "parts", "token_cache", "seconds")
    print(json.dumps({k: manifest[k] for k in summary}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
