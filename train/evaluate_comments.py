"""Inline-comment evaluation for ``train.evaluate --task comments``: BLEU-4 against held-out real comments.

The model completes each comment record's own prompt (the training format) through the
model backend; the text is cut and sanitised as the hook does before inserting it, and an
unusable text counts as an empty comment. Writes under --out: comments.md (scores, then
examples with the block, the generated and the reference comment), comments.jsonl (every
record) and comments-review.csv (the examples, with empty columns for a human reader).
There is no template baseline: the template backend writes no comments.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from train import metrics
from train.generate import generate_from_prompts

REVIEW_COLUMNS = ("clarity", "says_why", "correct_intent")


@dataclass(frozen=True)
class CommentResult:
    record: dict[str, Any]
    raw: str | None  # the cut completion
    comment: str  # what the hook would insert ("" when unusable)
    seconds: float

    @property
    def block(self) -> str:
        """The marked block of the record's snippet, markers included."""
        from docucode_hook.backends.prompt import marked_span

        lines = self.record["code_snippet"].splitlines()
        start, end = marked_span(lines)
        return "\n".join(lines[start : end + 1])


def comment_records(records: Sequence[dict[str, Any]], limit: int | None, seed: int) -> list[dict[str, Any]]:
    """The comment-task records, a seeded sample of ``limit`` kept in file order."""
    from docucode_hook.backends.prompt import COMMENT_TASK

    chosen = [record for record in records if record.get("task") == COMMENT_TASK]
    if limit is not None and limit < len(chosen):
        keep = set(random.Random(seed).sample(range(len(chosen)), limit))
        chosen = [record for index, record in enumerate(chosen) if index in keep]
    return chosen


def generate_comments(backend: Any, records: Sequence[dict[str, Any]], batch_size: int) -> list[CommentResult]:
    """Each record's comment through the backend's own fitting, decoding and cutting."""
    from docucode_hook.comments import sanitize_comment
    from docucode_hook.backends.prompt import COMMENT_TASK, Prompt

    prompts = [Prompt(record["prompt"], record["code_snippet"], COMMENT_TASK) for record in records]
    generated = generate_from_prompts(backend, prompts, batch_size)
    return [
        CommentResult(record, generation and generation.text, sanitize_comment(generation and generation.text) or "", seconds)
        for record, (generation, seconds) in zip(records, generated)
    ]


def score_comments(results: Sequence[CommentResult]) -> dict[str, float]:
    """Smoothed BLEU-4 (CodeXGLUE) and ROUGE-L against the real comments, usable rate, speed."""
    references = [result.record["completion"] for result in results]
    comments = [result.comment for result in results]
    return {
        "comments": len(results),
        "bleu4": round(metrics.smoothed_bleu4(references, comments), 2),
        "rouge_l": round(metrics.rouge_l(references, comments), 2),
        "usable": round(100 * sum(bool(c) for c in comments) / max(len(comments), 1), 1),
        "exact": round(100 * sum(c.lower() == r.lower() for c, r in zip(comments, references)) / max(len(results), 1), 1),
        "ms_per_comment": round(1000 * sum(result.seconds for result in results) / max(len(results), 1), 1),
    }


def report_markdown(title: str, command: str, scores: dict[str, float], examples: Sequence[CommentResult]) -> str:
    lines = [
        f"# Inline comments: {title}",
        "",
        f"Command: `{command}`",
        "",
        "| comments | BLEU-4 | ROUGE-L | usable % | exact % | ms/comment |",
        "|---|---|---|---|---|---|",
        f"| {scores['comments']} | {scores['bleu4']:.2f} | {scores['rouge_l']:.2f} | {scores['usable']:.1f} "
        f"| {scores['exact']:.1f} | {scores['ms_per_comment']:.0f} |",
        "",
        "BLEU-4 is smoothed sentence BLEU averaged over comments (the CodeXGLUE method), against the "
        "comment a developer wrote above the block; usable is the share of texts the hook would "
        "insert (one clean line, not a pragma). No template baseline: the template backend writes no comments.",
        "",
        f"## Examples ({len(examples)})",
        "",
    ]
    for number, result in enumerate(examples, start=1):
        record = result.record
        lines += [
            f"### {number}. `{record.get('qualname', '?')}` ({record.get('package', '?')})",
            "",
            "```python",
            result.block,
            "```",
            "",
            f"- generated: `{result.comment or '(unusable: ' + repr(result.raw) + ')'}`",
            f"- reference: `{record['completion']}`",
            "",
        ]
    return "\n".join(lines)


def write_outputs(out: Path, title: str, command: str, results: Sequence[CommentResult], sample: int, seed: int) -> dict:
    """comments.md, comments.jsonl and comments-review.csv; returns the scores."""
    out.mkdir(parents=True, exist_ok=True)
    scores = score_comments(results)
    picked = sorted(random.Random(seed).sample(range(len(results)), min(sample, len(results))))
    examples = [results[i] for i in picked]
    (out / "comments.md").write_text(report_markdown(title, command, scores, examples), encoding="utf-8")
    with (out / "comments.jsonl").open("w", encoding="utf-8") as handle:
        for result in results:
            row = {
                "path": result.record.get("path"),
                "qualname": result.record.get("qualname"),
                "raw": result.raw,
                "generated": result.comment,
                "reference": result.record["completion"],
                "bleu4": 100 * metrics.sentence_bleu4(result.record["completion"], result.comment),
            }
            handle.write(json.dumps(row) + "\n")
    with (out / "comments-review.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "qualname", "block", "generated", "reference", *REVIEW_COLUMNS])
        writer.writeheader()
        for number, result in enumerate(examples, start=1):
            writer.writerow(
                {"id": number, "qualname": result.record.get("qualname"), "block": result.block,
                 "generated": result.comment, "reference": result.record["completion"],
                 **dict.fromkeys(REVIEW_COLUMNS, "")}
            )
    return scores


__all__ = ["CommentResult", "comment_records", "generate_comments", "score_comments", "write_outputs"]
