"""Corpus reading, tokenizer training, token packing and SFT batching for the train/ scripts."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docucode_hook.backends.prompt import COMMENT_TASK, DOCSTRING_TASK, TRUNCATED, model_input, record_input, shorten_snippet

if TYPE_CHECKING:
    import numpy as np
    import torch
    from transformers import PreTrainedTokenizerFast

BOS, EOS, PAD, UNK = "<|bos|>", "<|eos|>", "<|pad|>", "<|unk|>"
SPECIAL_TOKENS = [BOS, EOS, PAD, UNK]
IGNORE_INDEX = -100
ENCODE_CHUNK = 8192  # texts per encode_batch call: big enough for all threads, small enough for memory


class DataError(ValueError):
    """A corpus file is missing or malformed; the message names the file and the reason."""


# train.evaluate's rows, one JSON object a function and backend, gzipped: every run's outputs are
# kept in the repository, and as plain JSON they were most of its size.
OUTPUTS_FILE = "outputs.jsonl.gz"


def text_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, gunzipped where its name ends in ``.gz`` (how run outputs are
    kept: ``train.evaluate``'s outputs.jsonl.gz; OSError, EOFError or UnicodeDecodeError if unreadable)."""
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8").splitlines()


def gzip_text(path: Path, text: str) -> None:
    """Write ``text`` gzipped, the same bytes for the same text (no time stamp in the header)."""
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def read_jsonl(path: Path, required: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Read one JSON object a line, checking that each has the ``required`` string fields."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        lines = text_lines(path)
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read data: {exc}") from None
    records = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
        missing = [key for key in required if not isinstance(record, dict) or not isinstance(record.get(key), str)]
        if missing:
            raise DataError(f"{path}:{lineno}: missing string field(s) {', '.join(missing)}")
        records.append(record)
    if not records:
        raise DataError(f"{path}: no records")
    return records


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Byte-level BPE on ``texts``; encoding adds <|bos|> so inference sees what training saw."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        # Every byte is in the vocabulary, so no text ever needs <|unk|>.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    bos_id = tokenizer.token_to_id(BOS)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK
    )


def _encode_ids(tokenizer: PreTrainedTokenizerFast, texts: list[str], special: bool) -> Iterator[list[int]]:
    """Token ids of each text, encoded in large batches by the Rust tokenizer on all threads."""
    backend = tokenizer.backend_tokenizer
    for start in range(0, len(texts), ENCODE_CHUNK):
        for encoding in backend.encode_batch(texts[start : start + ENCODE_CHUNK], add_special_tokens=special):
            yield encoding.ids


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits in it (half the memory of int32), else int32."""
    import numpy as np

    return np.dtype(np.uint16 if vocab_size <= 2**16 else np.int32)


def encode_documents(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> list[np.ndarray]:
    """Each text as the code LM reads it: ``<|bos|> text <|eos|>``."""
    import numpy as np

    dtype = token_dtype(len(tokenizer))
    return [np.asarray([*ids, tokenizer.eos_token_id], dtype=dtype) for ids in _encode_ids(tokenizer, texts, special=True)]


def pack_corpus(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> np.ndarray:
    """All texts as one flat token array: ``<|bos|> text <|eos|>`` after one another."""
    import numpy as np

    pieces = encode_documents(tokenizer, texts)
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=token_dtype(len(tokenizer)))


def sample_windows(
    tokens: torch.Tensor, batch_size: int, seq_len: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (input, next-token target) windows gathered on the tokens' own device.

    One gather per step, no Python loop over samples: this is what keeps the GPU fed.
    """
    import torch

    starts = torch.randint(
        0, tokens.numel() - seq_len - 1, (batch_size, 1), device=tokens.device, generator=generator
    )
    offsets = torch.arange(seq_len + 1, device=tokens.device)
    window = tokens[starts + offsets].long()
    return window[:, :-1], window[:, 1:]


@dataclass(frozen=True)
class SftExample:
    """One prompt -> docstring pair as token ids; ``prompt_len`` tokens carry no loss."""

    input_ids: tuple[int, ...]
    prompt_len: int


def _drop_code_lines(code: str, fraction: float) -> str:
    """Cut about ``fraction`` of the code's lines from the end, keeping the first line."""
    lines = code.rstrip().splitlines()
    if lines and lines[-1] == TRUNCATED:
        lines = lines[:-1]
    keep = max(1, min(len(lines) - 1, int(len(lines) * (1 - fraction))))
    return "\n".join(lines[:keep] + [TRUNCATED])


def _fit_prompt(tokenizer: PreTrainedTokenizerFast, record: dict[str, Any], room: int) -> list[int] | None:
    """Prompt ids within ``room`` tokens, shortening the code from its end; None if it cannot fit.

    A comment record is shortened as its builder shortens it, keeping the marked block.
    """
    code, task = record["code_snippet"], record.get("task", DOCSTRING_TASK)
    while True:
        ids = tokenizer(model_input(record["prompt"], code, task))["input_ids"]
        if len(ids) <= room:
            return ids
        if task == COMMENT_TASK:
            shorter = shorten_snippet(code, task, int(len(code) * room / len(ids) * 0.9))
            if shorter == code:
                return None
            code = shorter
            continue
        lines = code.rstrip().splitlines()
        if len(lines) <= 1 or (len(lines) == 2 and lines[-1] == TRUNCATED):
            return None
        # Overshoot a little so most records need one retry, not many.
        code = _drop_code_lines(code, min(0.9, (len(ids) - room) / len(ids) * 1.2 + 0.05))


def encode_sft_each(
    tokenizer: PreTrainedTokenizerFast, records: list[dict[str, Any]], max_len: int
) -> list[SftExample | None]:
    """One example per record as ``encode_sft`` builds it, None where the record cannot fit."""
    prompts = [record_input(r) for r in records]
    completions = [r["completion"].strip() for r in records]
    prompt_ids = list(_encode_ids(tokenizer, prompts, special=True))
    completion_ids = list(_encode_ids(tokenizer, completions, special=False))
    eos = tokenizer.eos_token_id
    examples: list[SftExample | None] = []
    for record, prompt, completion in zip(records, prompt_ids, completion_ids):
        room = max_len - len(completion) - 1
        if len(prompt) > room:
            prompt = _fit_prompt(tokenizer, record, room) if room > 0 else None
        fits = prompt is not None and bool(completion)
        examples.append(SftExample(tuple(prompt + completion + [eos]), len(prompt)) if fits else None)
    return examples


def encode_sft(
    tokenizer: PreTrainedTokenizerFast, records: list[dict[str, Any]], max_len: int
) -> tuple[list[SftExample], int]:
    """Encode records of either task as prompt + completion + <|eos|>, at most ``max_len`` tokens each.

    Only the code part of a prompt is shortened; a completion is never cut, and a record
    whose completion does not fit beside its signature is dropped (counted in the result).
    """
    each = encode_sft_each(tokenizer, records, max_len)
    examples = [example for example in each if example is not None]
    return examples, len(each) - len(examples)


def length_buckets(
    examples: list[SftExample], tokens_per_batch: int, rng: random.Random, pad_multiple: int = 64
) -> list[list[SftExample]]:
    """Batches of similar length, each at most ``tokens_per_batch`` once padded, in random order.

    Sorting by length keeps padding small without packing, so no attention mask is needed.
    """
    order = sorted(examples, key=lambda example: (len(example.input_ids), rng.random()))
    batches: list[list[SftExample]] = []
    current: list[SftExample] = []
    for example in order:
        padded = _round_up(len(example.input_ids), pad_multiple)
        if current and padded * (len(current) + 1) > tokens_per_batch:
            batches.append(current)
            current = []
        current.append(example)
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def collate_sft(batch: list[SftExample], pad_id: int, pad_multiple: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and next-token labels; loss only on completion tokens.

    Padding sits after every real token, so causal attention never lets a real token see
    it and no attention mask is passed.
    """
    import torch

    width = _round_up(max(len(example.input_ids) for example in batch), pad_multiple)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    for row, example in enumerate(batch):
        ids = torch.tensor(example.input_ids, dtype=torch.long)
        input_ids[row, : len(ids)] = ids
        # Position t predicts token t+1: completion tokens start at prompt_len.
        labels[row, example.prompt_len - 1 : len(ids) - 1] = ids[example.prompt_len :]
    return input_ids, labels


def corpus_texts(data_dir: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The code corpus (code.jsonl) and the SFT training records (train.jsonl) of a data dir."""
    code = [record["code"] for record in read_jsonl(data_dir / "code.jsonl", required=("code",))]
    train = read_jsonl(data_dir / "train.jsonl", required=("prompt", "code_snippet", "completion"))
    return code, train
