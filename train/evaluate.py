"""Evaluate a model (+ adapter) against the template backend on a mined test split and a probe set.

    python -m train.evaluate --model runs/base --data data/test.jsonl --out docs/eval/base
    python -m train.evaluate --model runs/base --adapter runs/numpy-adapter \\
        --data data/numpy-test.jsonl --style numpy --out docs/eval/numpy-adapter
    python -m train.evaluate --data data/test.jsonl --limit 200   # the model shipped in the package
    python -m train.evaluate --data data/test.jsonl --task comments --out docs/eval/comments
    python -m train.evaluate --server-url http://127.0.0.1:11434 --server-model qwen2.5-coder:7b \
        --data data/eval-v3/validation.jsonl --per-package 2 --gates off --out docs/eval/qwen-off

Generation goes through the hook's own code: the model backend's loader and decoding (or the
server backend, with ``--server-url``) on the record's own prompt (the exact training format),
the template backend on the regenerated context, and the hook's grounding on both, with the
model's confidence gates (``--gates``: ``model``, the gates the hook picks for that model, or
``--thresholds``; ``off``, every part the model wrote is kept; ``all``, every scored part gives way to
code-derived text, the floor). Writes under --out: report.md, metrics.json,
outputs.jsonl.gz (every row, gzipped: the outputs of each run are kept in the repository),
review.csv and review.md (a human-review sheet for a sample; not committed, blind sheets are). ``--task
comments`` (or ``both``) scores the inline-comment records instead (or as well): see
train/evaluate_comments.py for what it writes.
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from docucode_hook.backends import Generation as BackendGeneration
from docucode_hook.precision.confidence import Thresholds
from docucode_hook.config import RUNTIMES, SERVER_APIS, Config
from docucode_hook.code.records import FunctionContext, Style
from train import metrics
from train.args import arg
from train.args import parse_args as parse_typed_args
from train.data import OUTPUTS_FILE, gzip_text
from train.generate import generate_from_contexts, generate_from_prompts

REQUIRED_FIELDS = ("prompt", "code_snippet", "completion", "qualname")
PROBES = Path(__file__).resolve().parent / "probes" / "probe_functions.py"
DEFAULT_PYDOCLINT = Path(__file__).resolve().parent.parent / ".venv-pydoclint" / "bin" / "pydoclint"
REVIEW_COLUMNS = ("clarity", "tense", "jargon", "correct_intent")
GATES = ("model", "off", "all")


class EvalError(Exception):
    """Bad input or a model that cannot be loaded: reported in one line, exit 2."""


@dataclass(frozen=True)
class EvalArgs:
    data: Path = arg(help="a train.mine JSONL split, e.g. data/test.jsonl")
    model: str | None = arg(None, help="model directory (default: the model shipped in the package)")
    adapter: str | None = arg(None, help="PEFT adapter directory")
    limit: int | None = arg(None, help="evaluate a seeded sample of N records")
    per_package: int | None = arg(None, help="at most N records of each package (seeded), before --limit")
    style: Style = arg(Style.GOOGLE)
    out: Path = arg(Path("docs/eval/latest"), help="report directory")
    baseline: str = arg("template", choices=("template", "none"))
    batch_size: int = arg(8)
    max_new_tokens: int = arg(Config.max_new_tokens)  # the hook's own setting
    sample: int = arg(30, help="functions in the review sheet")
    seed: int = arg(0)
    pydoclint: Path = arg(DEFAULT_PYDOCLINT, help="pydoclint from its own venv")
    task: str = arg("docstrings", choices=("docstrings", "comments", "both"))
    runtime: str = arg("auto", choices=RUNTIMES,
                       help="auto: CTranslate2 int8 for a local Llama (as the hook); transformers for a GPU")
    codebleu: bool = arg(True, help="CodeBLEU (--no-codebleu where codebleu's tree-sitter is absent: the GPU machine)")
    gates: str = arg("model", choices=GATES, help="confidence gates: the model's own (as the hook picks them), "
                     "off (keep every part the model wrote) or all (derived text for every scored part)")
    server_url: str | None = arg(None, help="evaluate a served model instead (the hook's server backend), "
                                 "e.g. http://127.0.0.1:11434")
    server_model: str | None = arg(None, help="the served model's id (default: the one the server lists)")
    server_api: str = arg("chat", choices=SERVER_APIS, help="chat (an instruction-tuned model) or completions "
                          "(DocuCode's prompt, for DocuCode's own models served)")
    server_api_key_env: str | None = arg(None, help="the environment variable holding the server's key")
    thresholds: str | None = arg(None, help="a docucode.json of gates for --gates model (the hook's thresholds option)")


@dataclass(frozen=True)
class Example:
    record: dict[str, Any]
    ctx: FunctionContext

    @property
    def prompt(self) -> Any:
        from docucode_hook.backends.prompt import Prompt

        return Prompt(self.record["prompt"], self.record["code_snippet"])

    @property
    def reference_summary(self) -> str:
        return self.record.get("summary") or metrics.summary_of(self.record["completion"])


@dataclass(frozen=True)
class Generation:
    raw: str | None  # what the backend wrote (None: nothing usable)
    grounded: str  # what the hook would insert
    seconds: float  # this function's share of its batch's wall time
    scores: dict[str, float] = field(default_factory=dict)  # part -> confidence score (model runs)
    signals: dict[str, dict[str, float | None]] = field(default_factory=dict)  # part -> the score's inputs
    origins: dict[str, str] = field(default_factory=dict)  # part -> why it is not the backend's text


@dataclass(frozen=True)
class BackendRun:
    name: str
    generations: tuple[Generation, ...]
    probes: tuple[Generation, ...]
    load_seconds: float = 0.0
    scores: dict[str, Any] = field(default_factory=dict)
    thresholds: Thresholds | None = None  # the model run's confidence gates


# --------------------------------------------------------------------------- reading the data


def context_for(record: dict[str, Any], where: str) -> FunctionContext:
    """Regenerate the hook's context from a record's code (a method is put back into its class)."""
    from docucode_hook.code.contexts import iter_contexts

    code, qualname = record["code_snippet"], record["qualname"]
    owner = qualname.split(".")[-2] if "." in qualname else ""
    if owner.isidentifier():
        code = f"class {owner}:\n" + textwrap.indent(code, "    ")
    try:
        contexts = [ctx for ctx in iter_contexts(code, record.get("path", where)) if ctx.kind == "function"]
    except SyntaxError as exc:
        raise EvalError(f"{where}: code_snippet of {qualname} does not parse: {exc.msg} (line {exc.lineno})") from None
    name = qualname.rsplit(".", 1)[-1]
    matching = [ctx for ctx in contexts if ctx.name == name]
    if not matching:
        raise EvalError(f"{where}: code_snippet holds no function named {name}")
    return min(matching, key=lambda ctx: ctx.qualname.count("."))  # the outermost one


def read_records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(``path:line``, record) for every record of a train.mine JSONL file, either task."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path}: cannot read: {exc}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{where}: not JSON: {exc.msg}") from None
        if not isinstance(record, dict) or (
            missing := [k for k in REQUIRED_FIELDS if not isinstance(record.get(k), str)]
        ):
            raise EvalError(f"{where}: record lacks {', '.join(missing) if isinstance(record, dict) else 'an object'}")
        records.append((where, record))
    return records


def read_examples(path: Path, limit: int | None = None, seed: int = 0, per_package: int | None = None) -> list[Example]:
    """Docstring records of a train.mine JSONL file; with ``limit``, a seeded sample kept in file order.

    ``per_package`` first keeps a seeded sample of at most that many records of each package,
    so that a few large packages do not make up most of the sample.
    """
    from docucode_hook.backends.prompt import COMMENT_TASK

    numbered = [(where, record) for where, record in read_records(path) if record.get("task") != COMMENT_TASK]
    if per_package is not None:
        by_package: dict[str, list[int]] = {}
        for index, (_, record) in enumerate(numbered):
            by_package.setdefault(record.get("package", ""), []).append(index)
        rng = random.Random(seed)
        keep = {index for indexes in by_package.values() for index in rng.sample(indexes, min(per_package, len(indexes)))}
        numbered = [item for index, item in enumerate(numbered) if index in keep]
    if limit is not None and limit < len(numbered):
        keep = set(random.Random(seed).sample(range(len(numbered)), limit))
        numbered = [item for index, item in enumerate(numbered) if index in keep]
    examples = [Example(record, context_for(record, where)) for where, record in numbered]
    if not examples:
        raise EvalError(f"{path}: no docstring records")
    return examples


def probe_contexts() -> list[FunctionContext]:
    """The fixed probe functions (dunders left out, as the hook skips them by default)."""
    from docucode_hook.code.contexts import iter_contexts

    source = PROBES.read_text(encoding="utf-8")
    return [ctx for ctx in iter_contexts(source, f"train/probes/{PROBES.name}") if not ctx.name.startswith("__")]


# --------------------------------------------------------------------------- generation


def gate_thresholds(args: EvalArgs, backend: Any) -> Thresholds:
    """The confidence gates ``args.gates`` names (see the module's docstring)."""
    from docucode_hook.pipeline import confidence_gates
    from docucode_hook.precision.confidence import GATE_FIELDS, ThresholdsError, configured_thresholds

    if args.gates == "off":  # every score is at least 0: nothing falls below
        return Thresholds(**dict.fromkeys(GATE_FIELDS, 0.0))
    if args.gates == "all":  # every gate "never": every scored part falls below
        return Thresholds(**dict.fromkeys(GATE_FIELDS, math.inf))
    if args.thresholds:
        try:
            return configured_thresholds(args.thresholds)
        except ThresholdsError as exc:
            raise EvalError(str(exc)) from None
    return confidence_gates(backend.config, backend)


def gate_values(thresholds: Thresholds) -> dict[str, float | str]:
    """The gates a run wrote with, as ``docucode.json`` writes them ("never" for a gate no score passes)."""
    from docucode_hook.precision.confidence import GATE_FIELDS, NEVER

    return {name: NEVER if getattr(thresholds, name) == math.inf else getattr(thresholds, name) for name in GATE_FIELDS}


def _grounded(
    generated: list[tuple[BackendGeneration | None, float]],
    contexts: Sequence[FunctionContext],
    style: Style,
    thresholds: Thresholds | None = None,
) -> tuple[Generation, ...]:
    """What the hook would insert for each generation; with ``thresholds``, the model's gates apply."""
    from docucode_hook.precision.grounding import ground
    from docucode_hook.precision.prose import BACKEND, GroundingOptions

    options = GroundingOptions(thresholds=thresholds or Thresholds())
    written = []
    for (generation, seconds), ctx in zip(generated, contexts):
        raw = generation.text if generation else None
        scored = thresholds is not None and generation is not None and generation.token_logprobs
        grounded = ground(raw, ctx, style, generation=generation if scored else None, options=options)
        scores = {part: round(score.score, 4) for part, score in grounded.scores.items()}
        signals = {part: {"mean_logprob": score.mean_logprob, "min_logprob": score.min_logprob,
                          "support": score.support} for part, score in grounded.scores.items()}
        origins = {origin.part: f"{origin.origin}: {origin.reason}".rstrip(": ")
                   for origin in grounded.parts if origin.origin != BACKEND}
        written.append(Generation(raw, grounded.text, seconds, scores, signals, origins))
    return tuple(written)


def load_model_backend(args: EvalArgs) -> tuple[Any, float]:
    """The hook's model backend for ``args`` with its engine loaded (or its server backend, with
    ``--server-url``), and the load time."""
    from docucode_hook.backends import get_backend
    from docucode_hook.backends.loading import ModelLoadError

    if args.server_url:
        from docucode_hook.backends.server import ServerError

        server = get_backend(Config(style=args.style, backend="server", server_url=args.server_url,
                                    server_model=args.server_model, server_api=args.server_api,
                                    server_api_key_env=args.server_api_key_env, max_new_tokens=args.max_new_tokens))
        try:
            server.model_id()
        except ServerError as exc:
            raise EvalError(f"{args.server_url}: {exc}") from None
        return server, 0.0
    config = Config(
        style=args.style,
        backend="model",
        model=args.model,
        adapter=args.adapter,
        offline=True,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        runtime=args.runtime,
    )
    try:
        backend = get_backend(config)
        started = time.perf_counter()
        backend.engine()
        load_seconds = time.perf_counter() - started
    except ModelLoadError as exc:
        raise EvalError(str(exc)) from None
    return backend, load_seconds


def run_model(args: EvalArgs, examples: Sequence[Example], probes: Sequence[FunctionContext]) -> BackendRun:
    from docucode_hook.backends.prompt import build_prompt

    backend, load_seconds = load_model_backend(args)
    contexts = [example.ctx for example in examples]
    texts = generate_from_prompts(backend, [example.prompt for example in examples], args.batch_size)
    probe_texts = generate_from_prompts(
        backend, [build_prompt(ctx, args.style) for ctx in probes], args.batch_size
    )
    name = "server" if args.server_url else "model+adapter" if args.adapter else "model"
    thresholds = gate_thresholds(args, backend)
    return BackendRun(
        name,
        _grounded(texts, contexts, args.style, thresholds),
        _grounded(probe_texts, probes, args.style, thresholds),
        load_seconds,
        thresholds=thresholds,
    )


def run_template(args: EvalArgs, examples: Sequence[Example], probes: Sequence[FunctionContext]) -> BackendRun:
    from docucode_hook.backends import get_backend

    backend = get_backend(Config(style=args.style, backend="template"))
    contexts = [example.ctx for example in examples]
    texts = generate_from_contexts(backend, contexts, args.style, args.batch_size)
    probe_texts = generate_from_contexts(backend, probes, args.style, args.batch_size)
    return BackendRun("template", _grounded(texts, contexts, args.style), _grounded(probe_texts, probes, args.style))


# --------------------------------------------------------------------------- scoring


def _percent(flags: Sequence[bool]) -> float:
    return 100 * sum(flags) / len(flags) if flags else 0.0


def _param_scores(
    examples: Sequence[Example], generations: Sequence[Generation], style: Style, prefix: str, raw: bool
) -> dict[str, float]:
    agreements = [
        metrics.param_agreement((gen.raw or "") if raw else gen.grounded, [p.name for p in ex.ctx.parameters], style)
        for ex, gen in zip(examples, generations)
    ]
    return {
        f"{prefix}param_complete": _percent([a.complete for a in agreements]),
        f"{prefix}param_truthful": _percent([a.truthful for a in agreements]),
    }


def style_codes(
    contexts: Sequence[FunctionContext], generations: Sequence[Generation], style: Style, pydoclint: Path
) -> list[list[str]] | None:
    """pydoclint's codes per grounded docstring; None when its venv is not installed."""
    if not pydoclint.is_file():
        return None
    subjects = [metrics.StyleSubject(ctx.code, gen.grounded, ctx.is_method) for ctx, gen in zip(contexts, generations)]
    return metrics.pydoclint_clean(subjects, style, pydoclint)


def _code_only_scores(examples: Sequence[Example], codes: list[list[str]] | None) -> dict[str, Any]:
    """pydoclint-clean among the functions a docstring can make clean, and why the others cannot."""
    if codes is None:
        return {"pydoclint_clean_fixable": None, "pydoclint_code_only": None}
    reasons = [metrics.code_only_findings(example.ctx, found) for example, found in zip(examples, codes)]
    fixable = [not found for found, reason in zip(codes, reasons) if reason is None]
    return {
        "pydoclint_clean_fixable": _percent(fixable) if fixable else None,
        "pydoclint_code_only": dict(Counter(reason for reason in reasons if reason).most_common()),
    }


def _gate_scores(generations: Sequence[Generation]) -> dict[str, float]:
    """The share of functions where a confidence gate replaced the summary, dropped the
    description, or replaced a parameter's description."""
    from docucode_hook.precision.confidence import is_gate_reason

    def gated(gen: Generation, part: str) -> bool:
        return any(name.startswith(part) and is_gate_reason(why) for name, why in gen.origins.items())

    return {f"gate_{part.strip()}": _percent([gated(gen, part) for gen in generations])
            for part in ("summary", "description", "param ")}


def score(
    examples: Sequence[Example], generations: Sequence[Generation], style: Style, pydoclint: Path,
    codebleu: bool = True,
) -> dict[str, Any]:
    """Every metric for one backend's generations over the examples."""
    references = [example.reference_summary for example in examples]
    summaries = [metrics.summary_of(gen.grounded) for gen in generations]
    raw_summaries = [metrics.summary_of(gen.raw or "") for gen in generations]
    names = [example.ctx.name for example in examples]
    codes = style_codes([example.ctx for example in examples], generations, style, pydoclint)
    seconds = sorted(gen.seconds for gen in generations)
    return {
        "functions": len(examples),
        "bleu4": metrics.smoothed_bleu4(references, summaries),
        "bleu4_raw": metrics.smoothed_bleu4(references, raw_summaries),
        "rouge_l": metrics.rouge_l(references, summaries),
        **(metrics.codebleu_scores(
            [example.record["completion"] for example in examples], [gen.grounded for gen in generations]
        ) if codebleu else {}),
        **_param_scores(examples, generations, style, "", raw=False),
        **_param_scores(examples, generations, style, "raw_", raw=True),
        "pydoclint_clean": None if codes is None else _percent([not found for found in codes]),
        "pydoclint_codes": (
            None if codes is None else dict(Counter(code for found in codes for code in found).most_common())
        ),
        **_code_only_scores(examples, codes),
        **{f"summary_{k}": v for k, v in metrics.summary_checks(summaries, names).items()},
        **{f"raw_summary_{k}": v for k, v in metrics.summary_checks(raw_summaries, names).items()},
        "no_output": _percent([gen.raw is None for gen in generations]),
        **_gate_scores(generations),
        "ms_per_function": 1000 * sum(seconds) / len(seconds),
        "ms_per_function_p95": 1000 * seconds[int(0.95 * (len(seconds) - 1))],
    }


# --------------------------------------------------------------------------- writing


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).replace("|", "\\|").replace("\n", "<br>")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


_TABLES = {
    "Summary and text": [
        ("BLEU-4", "bleu4"),
        ("BLEU-4 raw", "bleu4_raw"),
        ("ROUGE-L", "rouge_l"),
        ("CodeBLEU", "codebleu"),
        ("pydoclint clean %", "pydoclint_clean"),
        ("pydoclint clean % where a docstring can be", "pydoclint_clean_fixable"),
        ("ms/function", "ms_per_function"),
        ("p95 ms", "ms_per_function_p95"),
    ],
    "CodeBLEU components": [
        ("n-gram", "ngram_match"),
        ("weighted n-gram", "weighted_ngram_match"),
        ("syntax (AST)", "syntax_match"),
        ("dataflow", "dataflow_match"),
        ("CodeBLEU", "codebleu"),
    ],
    "Parameters (% of functions)": [
        ("complete", "param_complete"),
        ("truthful", "param_truthful"),
        ("raw complete", "raw_param_complete"),
        ("raw truthful", "raw_param_truthful"),
        ("no output %", "no_output"),
    ],
    "Summary checks (% of functions)": [
        ("empty", "summary_empty"),
        ("restates name", "summary_restates_name"),
        ("repetition", "summary_repetition"),
        ("raw empty", "raw_summary_empty"),
        ("raw restates name", "raw_summary_restates_name"),
        ("raw repetition", "raw_summary_repetition"),
    ],
    "Confidence gates (% of functions where the model's part gave way)": [
        ("summary replaced", "gate_summary"),
        ("description dropped", "gate_description"),
        ("a parameter replaced", "gate_param"),
    ],
}

_NOTES = """\
- BLEU-4: smoothed sentence BLEU-4 of the summary (first paragraph) against the reference
  summary, CodeXGLUE's code-to-text method (lower-cased, punctuation split, +1 smoothing on
  2- to 4-grams, averaged x100). "raw" scores the backend's text before grounding.
- ROUGE-L: F-measure of the summary. CodeBLEU: whole docstrings, each written as the Python
  literal `docstring = r'''...'''` so tree-sitter parses valid code. Its syntax (AST) and
  dataflow terms are degenerate on prose: every such literal has the same tree and the same
  single variable, so both are a constant 100 and CodeBLEU = 50 + (n-gram + weighted
  n-gram) / 4. (On the bare prose they would compare tree-sitter's error-recovery parses of
  English, which is noise.) Only the n-gram terms carry information.
- Parameters: complete = every signature parameter documented, truthful = no documented
  parameter missing from the signature; on the grounded text (what the hook inserts) and the
  raw text (what the model gets right by itself).
- pydoclint: each grounded docstring inserted into its function, checked in the target style
  with type-hint presence checks off and short docstrings checked. Some findings ask for a
  change to the code, which a docstring tool must not make, and are counted apart
  (`train.metrics.CODE_ONLY_REASONS`): a prompt-truncated snippet (pydoclint reads the cut
  body), a generator without a Generator/Iterator return annotation (pydoclint 0.12 flags
  DOC403 with a Yields section and DOC402 without one), and `raise exc.with_traceback(tb)`
  (DOC503 reads the exception's name as `exc.with_traceback`). "Where a docstring can be"
  leaves those out. A bare `return` without `-> None` is not among them: DOC201 asks for a
  Returns section, and "Returns: None." satisfies it.
- Timing: generation wall time per function (batch time / batch size), model load excluded.
"""


def _code_block(text: str) -> str:
    return "```\n" + (text.rstrip() or "(empty)") + "\n```"


def report_markdown(
    args: EvalArgs,
    examples: Sequence[Example],
    runs: Sequence[BackendRun],
    probes: Sequence[FunctionContext],
    sample: Sequence[int],
) -> str:
    packages = sorted({example.record.get("package", "?") for example in examples})
    lines = [
        f"# Evaluation: {args.model or 'shipped default model'}" + (f" + {args.adapter}" if args.adapter else ""),
        "",
        f"Data: `{args.data}`, {len(examples)} functions from {len(packages)} packages; style {args.style.value}; "
        f"batch {args.batch_size}, max {args.max_new_tokens} new tokens; confidence gates: {args.gates} "
        f"({', '.join(f'{name} {value}' for name, value in gate_values(runs[0].thresholds).items())}).",
        "",
        "Command: `python -m train.evaluate " + " ".join(_command_line(args)) + "`",
        "",
    ]
    lines += [f"Model load: {run.load_seconds:.1f} s ({run.name})" for run in runs if run.load_seconds]
    for title, columns in _TABLES.items():
        rows = [[run.name, *(run.scores.get(key) for _, key in columns)] for run in runs]
        lines += ["", f"## {title}", "", markdown_table(["backend", *(label for label, _ in columns)], rows)]
        if "pydoclint_clean" in dict(columns).values():
            findings = "; ".join(f"{run.name}: {_codes(run.scores['pydoclint_codes'])}" for run in runs)
            code_only = "; ".join(f"{run.name}: {_codes(run.scores.get('pydoclint_code_only'))}" for run in runs)
            lines += ["", f"pydoclint findings: {findings}", "",
                      f"Findings no docstring can clear (the code would have to change): {code_only}"]
    lines += ["", "## How to read it", "", _NOTES]
    lines += ["## Probes", "", "Fixed functions the model never saw (`train/probes/probe_functions.py`).", ""]
    for index, ctx in enumerate(probes):
        lines += [f"### `{ctx.qualname}`", "", _code_block(ctx.signature), ""]
        for run in runs:
            lines += [f"{run.name}, raw:", "", _code_block(run.probes[index].raw or ""), ""]
            lines += [f"{run.name}, grounded:", "", _code_block(run.probes[index].grounded), ""]
    lines += ["## Sample outputs", "", f"{len(sample)} functions drawn with seed {args.seed}; summaries only.", ""]
    rows = [
        [
            examples[i].record.get("package", ""),
            f"`{examples[i].record['qualname']}`",
            examples[i].reference_summary,
            *(metrics.summary_of(run.generations[i].grounded) for run in runs),
        ]
        for i in sample
    ]
    lines += [markdown_table(["package", "function", "reference", *(run.name for run in runs)], rows), ""]
    return "\n".join(lines)


def _codes(counts: dict[str, int] | None) -> str:
    if counts is None:
        return "not run (no pydoclint venv)"
    return ", ".join(f"{code} x{count}" for code, count in counts.items()) or "none"


def _command_line(args: EvalArgs) -> list[str]:
    parts = [f"--data {args.data}"]
    parts += [f"--model {args.model}"] if args.model else []
    parts += [f"--adapter {args.adapter}"] if args.adapter else []
    parts += [f"--limit {args.limit}"] if args.limit else []
    parts += [f"--per-package {args.per_package}"] if args.per_package else []
    parts += [f"--task {args.task}"] if args.task != "docstrings" else []
    parts += [f"--gates {args.gates}"] if args.gates != "model" else []
    return parts + [f"--style {args.style.value}", f"--out {args.out}", f"--baseline {args.baseline}"]


def write_review(out: Path, examples: Sequence[Example], run: BackendRun, sample: Sequence[int]) -> None:
    """review.csv and review.md: code, generated, reference and empty columns for a human reader."""
    rows = [
        {
            "id": number,
            "package": examples[i].record.get("package", ""),
            "qualname": examples[i].record["qualname"],
            "code": examples[i].record["code_snippet"],
            "generated": run.generations[i].grounded,
            "reference": examples[i].record["completion"],
            **dict.fromkeys(REVIEW_COLUMNS, ""),
        }
        for number, i in enumerate(sample, start=1)
    ]
    with (out / "review.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"# Human review: {run.name}",
        "",
        "For each function mark clarity (1-5), tense (imperative? y/n), jargon (y/n) and correct intent (y/n).",
        "",
    ]
    for row in rows:
        lines += [
            f"## {row['id']}. `{row['qualname']}` ({row['package']})",
            "",
            "```python",
            row["code"].rstrip(),
            "```",
            "",
        ]
        lines += [
            "Generated:",
            "",
            _code_block(row["generated"]),
            "",
            "Reference:",
            "",
            _code_block(row["reference"]),
            "",
        ]
        lines += [
            "| " + " | ".join(REVIEW_COLUMNS) + " |",
            "|" + "---|" * len(REVIEW_COLUMNS),
            "|" + "   |" * len(REVIEW_COLUMNS),
            "",
        ]
    (out / "review.md").write_text("\n".join(lines), encoding="utf-8")


def write_outputs(
    out: Path,
    args: EvalArgs,
    examples: Sequence[Example],
    runs: Sequence[BackendRun],
    probes: Sequence[FunctionContext],
    sample: Sequence[int],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(report_markdown(args, examples, runs, probes, sample), encoding="utf-8")
    summary = {
        "data": str(args.data),
        "model": args.model,
        "adapter": args.adapter,
        "style": args.style.value,
        "gates": {"setting": args.gates, **gate_values(runs[0].thresholds)},
        "functions": len(examples),
        "backends": {run.name: {**run.scores, "load_seconds": run.load_seconds} for run in runs},
        "probes": [
            {
                "qualname": ctx.qualname,
                **{run.name: {"raw": run.probes[i].raw, "grounded": run.probes[i].grounded} for run in runs},
            }
            for i, ctx in enumerate(probes)
        ],
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    rows = []
    for run in runs:
        for example, gen in zip(examples, run.generations):
            row = {
                "backend": run.name,
                "path": example.record.get("path"),
                "qualname": example.record["qualname"],
                "raw": gen.raw,
                "grounded": gen.grounded,
                "scores": gen.scores,
                "signals": gen.signals,
                "origins": gen.origins,
                "ms": 1000 * gen.seconds,
                "bleu4": 100 * metrics.sentence_bleu4(example.reference_summary, metrics.summary_of(gen.grounded)),
            }
            rows.append(json.dumps(row) + "\n")
    gzip_text(out / OUTPUTS_FILE, "".join(rows))
    write_review(out, examples, runs[0], sample)


# --------------------------------------------------------------------------- entry point


def evaluate(args: EvalArgs) -> list[BackendRun]:
    """Generate with the model and the baseline, score both, and write every output file."""
    examples = read_examples(args.data, args.limit, args.seed, args.per_package)
    probes = probe_contexts()
    runs = [run_model(args, examples, probes)]
    if args.baseline == "template":
        runs.append(run_template(args, examples, probes))
    runs = [replace(run, scores=score(examples, run.generations, args.style, args.pydoclint, args.codebleu))
            for run in runs]
    sample = sorted(random.Random(args.seed).sample(range(len(examples)), min(args.sample, len(examples))))
    write_outputs(args.out, args, examples, runs, probes, sample)
    return runs


def evaluate_comment_task(args: EvalArgs) -> dict[str, float]:
    """Comment records of ``args.data`` through the model; writes the comment report files."""
    from train import evaluate_comments

    records = evaluate_comments.comment_records([r for _, r in read_records(args.data)], args.limit, args.seed)
    if not records:
        raise EvalError(f"{args.data}: no comment records (mine with a train.mine that extracts comments)")
    backend, _ = load_model_backend(args)
    results = evaluate_comments.generate_comments(backend, records, args.batch_size)
    title = (args.model or "shipped default model") + (f" + {args.adapter}" if args.adapter else "")
    command = "python -m train.evaluate " + " ".join(_command_line(args))
    return evaluate_comments.write_outputs(args.out, title, command, results, args.sample, args.seed)


def _usage_problem(args: EvalArgs) -> str | None:
    small = next((name for name in ("limit", "per_package", "batch_size", "max_new_tokens", "sample")
                  if getattr(args, name) is not None and getattr(args, name) < 1), None)
    return f"--{small.replace('_', '-')} must be at least 1" if small else None


def parse_args(argv: Sequence[str] | None = None) -> EvalArgs:
    """Command line to EvalArgs; usage errors exit 2 through argparse."""
    return parse_typed_args(EvalArgs, argv, prog="python -m train.evaluate", description=__doc__.splitlines()[0],
                            check=_usage_problem)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        runs = evaluate(args) if args.task != "comments" else []
        comments = evaluate_comment_task(args) if args.task != "docstrings" else None
    except EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if comments is not None:
        print(f"comments: BLEU-4 {comments['bleu4']:.2f} on {comments['comments']}, {comments['usable']:.0f}% usable")
    for run in runs:
        scores = run.scores
        print(
            f"{run.name}: BLEU-4 {scores['bleu4']:.2f}, ROUGE-L {scores['rouge_l']:.2f}, "
            + (f"CodeBLEU {scores['codebleu']:.2f}, " if "codebleu" in scores else "")
            + f"params {scores['param_complete']:.0f}% complete, {scores['ms_per_function']:.0f} ms/function"
        )
    written = (["report.md"] if runs else []) + (["comments.md"] if comments else [])
    print("wrote " + " and ".join(f"{args.out}/{name}" for name in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
