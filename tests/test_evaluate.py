"""train.evaluate end to end on CPU: the samples mined by train.mine, a tiny random model, the template baseline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pydoclint_venv import pydoclint_executable

from docucode_hook.backends import get_backend
from docucode_hook.config import Config
from docucode_hook.code.records import Style
from docucode_hook.backends.prompt import build_prompt
from docucode_hook.precision.confidence import is_gate_reason
from train import evaluate, generate, metrics
from train.data import text_lines
from train import mine as train_mine

SAMPLES = Path(__file__).parent / "samples"
OUTPUT_FILES = ("report.md", "metrics.json", "outputs.jsonl.gz", "review.csv", "review.md")


@pytest.fixture(scope="module")
def test_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample packages mined by train.mine, pkg_c held out as the test split."""
    out = tmp_path_factory.mktemp("mined")
    argv = [str(SAMPLES), "--out", str(out), "--workers", "1", "--licences", "all", "--test-packages", "pkg_c"]
    assert train_mine.main(argv) == 0
    return out / "test.jsonl"


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory, test_split: Path, tiny_model_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("eval") / "tiny"
    argv = [
        "--model",
        str(tiny_model_dir),
        "--data",
        str(test_split),
        "--out",
        str(out),
        "--max-new-tokens",
        "8",
        "--pydoclint",
        str(pydoclint_executable()),
    ]
    assert evaluate.main(argv) == 0
    return out


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in text_lines(path)]


def test_every_output_file_is_written(evaluated: Path) -> None:
    for name in OUTPUT_FILES:
        assert (evaluated / name).stat().st_size > 0, name


def test_metrics_are_in_range_and_grounding_keeps_its_promises(evaluated: Path, test_split: Path) -> None:
    summary = json.loads((evaluated / "metrics.json").read_text(encoding="utf-8"))
    assert summary["functions"] == len(_records(test_split)) > 0
    assert set(summary["backends"]) == {"model", "template"}
    for name, scores in summary["backends"].items():
        for key in (
            "bleu4",
            "bleu4_raw",
            "rouge_l",
            "codebleu",
            "ngram_match",
            "weighted_ngram_match",
            "raw_param_complete",
        ):
            assert 0 <= scores[key] <= 100, (name, key)
        assert scores["syntax_match"] == scores["dataflow_match"] == 100.0  # constant on string literals
        # Whatever the backend wrote, the grounded text documents exactly the signature's parameters.
        assert scores["param_complete"] == scores["param_truthful"] == 100.0, name
        # pydoclint ran: every unclean function has at least one finding counted.
        unclean = scores["functions"] * (100 - scores["pydoclint_clean"]) / 100
        assert unclean <= sum(scores["pydoclint_codes"].values())
        # Leaving out findings only a code change clears never lowers the clean share.
        assert scores["pydoclint_clean_fixable"] >= scores["pydoclint_clean"]
        assert sum(scores["pydoclint_code_only"].values()) <= unclean + 1e-9
        assert scores["summary_empty"] == 0.0, name
    assert summary["backends"]["model"]["ms_per_function"] > 0
    assert summary["backends"]["model"]["load_seconds"] > 0
    assert summary["backends"]["template"]["raw_param_complete"] == 100.0


def test_reported_bleu_recomputes_from_the_outputs(evaluated: Path, test_split: Path) -> None:
    references = [record["summary"] for record in _records(test_split)]
    rows = _records(evaluated / "outputs.jsonl.gz")
    summary = json.loads((evaluated / "metrics.json").read_text(encoding="utf-8"))
    for backend in ("model", "template"):
        grounded = [row["grounded"] for row in rows if row["backend"] == backend]
        expected = metrics.smoothed_bleu4(references, [metrics.summary_of(text) for text in grounded])
        assert summary["backends"][backend]["bleu4"] == pytest.approx(expected)


def test_report_has_both_rows_every_probe_and_the_codebleu_note(evaluated: Path) -> None:
    report = (evaluated / "report.md").read_text(encoding="utf-8")
    assert "| model |" in report and "| template |" in report
    for ctx in evaluate.probe_contexts():
        assert f"### `{ctx.qualname}`" in report
    assert "degenerate on prose" in report
    probes = json.loads((evaluated / "metrics.json").read_text(encoding="utf-8"))["probes"]
    assert len(probes) >= 12
    assert all(probe["template"]["grounded"] and probe["model"]["grounded"] for probe in probes)


def test_review_sheet_pairs_code_generated_and_reference(evaluated: Path, test_split: Path) -> None:
    records = {record["qualname"]: record for record in _records(test_split)}
    with (evaluated / "review.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == min(30, len(records))
    for row in rows:
        record = records[row["qualname"]]
        assert row["code"] == record["code_snippet"] and row["reference"] == record["completion"]
        assert row["generated"] and all(row[column] == "" for column in evaluate.REVIEW_COLUMNS)
    assert "correct_intent" in (evaluated / "review.md").read_text(encoding="utf-8")


def test_method_records_get_their_method_context_back(test_split: Path) -> None:
    methods = [record for record in _records(test_split) if "." in record["qualname"]]
    assert methods, "the sample test split should hold a method"
    for record in methods:
        ctx = evaluate.context_for(record, "test.jsonl:1")
        assert ctx.is_method and ctx.qualname == record["qualname"]
        assert "self" not in [param.name for param in ctx.parameters]
        assert build_prompt(ctx, Style.GOOGLE).code_snippet == record["code_snippet"]


def test_prompt_seam_decodes_like_the_backend(tiny_model_dir: Path) -> None:
    """Fed the hook's own prompts, the evaluation path must give what ModelBackend.generate gives."""
    contexts = evaluate.probe_contexts()[:4]
    backend = get_backend(
        Config(backend="model", model=str(tiny_model_dir), offline=True, max_new_tokens=6, batch_size=4)
    )
    expected = [generation and generation.text for generation in backend.generate(contexts, Style.GOOGLE)]
    prompts = [build_prompt(ctx, Style.GOOGLE) for ctx in contexts]
    assert [g and g.text for g, _ in generate.generate_from_prompts(backend, prompts, batch_size=4)] == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "test.jsonl:2: not JSON"),
        (
            json.dumps({"prompt": "p", "code_snippet": "def f(:\n", "completion": "c", "qualname": "f"}),
            "test.jsonl:2: code_snippet of f does not parse",
        ),
        (
            json.dumps({"prompt": "p", "code_snippet": "x = 1\n", "completion": "c", "qualname": "f"}),
            "test.jsonl:2: code_snippet holds no function named f",
        ),
        (json.dumps({"prompt": "p", "completion": "c", "qualname": "f"}), "test.jsonl:2: record lacks code_snippet"),
    ],
)
def test_bad_records_exit_2_naming_file_and_line(
    tmp_path: Path, line: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.dumps({"prompt": "p", "code_snippet": "def g(x):\n    return x", "completion": "G.", "qualname": "g"})
    data = tmp_path / "test.jsonl"
    data.write_text(good + "\n" + line + "\n", encoding="utf-8")
    assert evaluate.main(["--data", str(data), "--out", str(tmp_path / "out"), "--baseline", "none"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and message in error and "\n" not in error
    assert not (tmp_path / "out").exists()


def test_missing_model_directory_exits_2(tmp_path: Path, test_split: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-model"
    assert evaluate.main(["--model", str(missing), "--data", str(test_split), "--out", str(tmp_path / "out")]) == 2
    assert f"{missing}: model directory not found" in capsys.readouterr().err


def test_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        evaluate.main(["--data", str(tmp_path / "t.jsonl"), "--limit", "0"])
    assert raised.value.code == 2


def test_comment_task_reports_bleu_and_examples_and_ignores_docstring_records(
    tmp_path: Path, test_split: Path, tiny_model_dir: Path
) -> None:
    from docucode_hook.backends.prompt import build_comment_record

    code = "def total(rows):\n    out = 0\n    for row in rows:\n        if row and row.ok or row.forced:\n            out += row.n\n    return out\n"
    comments = [
        {**build_comment_record(f"total_{i}", code, 3, 5, f"Sum the counts of rows that pass {i}"), "qualname": f"total_{i}"}
        for i in range(4)
    ]
    data = tmp_path / "mixed.jsonl"
    # A docstring record first: the comment task must skip it, as the docstring task skips comments.
    data.write_text(test_split.read_text(encoding="utf-8").splitlines()[0] + "\n"
                    + "".join(json.dumps(r) + "\n" for r in comments), encoding="utf-8")
    out = tmp_path / "eval"
    argv = ["--model", str(tiny_model_dir), "--data", str(data), "--out", str(out), "--task", "comments",
            "--max-new-tokens", "8", "--sample", "3"]
    assert evaluate.main(argv) == 0
    rows = _records(out / "comments.jsonl")
    assert [r["reference"] for r in rows] == [r["completion"] for r in comments]
    report = (out / "comments.md").read_text(encoding="utf-8")
    bleu = 100 * sum(metrics.sentence_bleu4(r["reference"], r["generated"]) for r in rows) / len(rows)
    assert f"| 4 | {bleu:.2f} |" in report
    assert report.count("- reference: `Sum the counts") == 3 and "# >>> block" in report
    assert len((out / "comments-review.csv").read_text(encoding="utf-8").splitlines()) > 3
    assert len(evaluate.read_examples(data)) == 1


def test_gpu_machine_options_run_transformers_without_codebleu(
    tmp_path: Path, test_split: Path, tiny_model_dir: Path, evaluated: Path
) -> None:
    out = tmp_path / "gpu"
    argv = ["--model", str(tiny_model_dir), "--data", str(test_split), "--out", str(out), "--max-new-tokens", "8",
            "--baseline", "none", "--runtime", "transformers", "--no-codebleu"]
    assert evaluate.main(argv) == 0
    model = json.loads((out / "metrics.json").read_text())["backends"]["model"]
    assert "codebleu" not in model and "| n/a |" in (out / "report.md").read_text()
    # Not the BLEU of the default (CTranslate2 int8) run: the random tiny model's top tokens are
    # near ties that int8 rounding flips. The shipped model's agreement is in docs/benchmarks.md.
    default_run = json.loads((evaluated / "metrics.json").read_text())["backends"]["model"]
    assert model["functions"] == default_run["functions"] and 0 < model["bleu4"] <= 100


def test_gates_off_keep_what_the_model_wrote_and_all_give_every_scored_part_away(
    tmp_path: Path, test_split: Path, tiny_model_dir: Path
) -> None:
    rows = {}
    for gates in ("off", "all"):
        out = tmp_path / gates
        argv = ["--model", str(tiny_model_dir), "--data", str(test_split), "--out", str(out), "--max-new-tokens", "8",
                "--baseline", "none", "--no-codebleu", "--gates", gates]
        assert evaluate.main(argv) == 0
        rows[gates] = _records(out / "outputs.jsonl.gz")
        assert f"confidence gates: {gates}" in (out / "report.md").read_text(encoding="utf-8")
    scored = [row for row in rows["off"] if "summary" in row["scores"]]
    assert scored, "the tiny model should write a summary somewhere"
    # The same generations (greedy) and so the same scores; only the gates differ.
    assert [row["scores"] for row in rows["off"]] == [row["scores"] for row in rows["all"]]
    assert not any(is_gate_reason(why) for row in rows["off"] for why in row["origins"].values())
    for row in rows["all"]:  # every gate "never"
        if "summary" in row["scores"]:
            assert "the model does not write summaries" in row["origins"]["summary"], row
    metrics_all = json.loads((tmp_path / "all" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics_all["gates"] == {"setting": "all", **dict.fromkeys(("summary", "description", "parameter", "result",
                                                                       "exception"), "never")}
    assert "confidence gates: all (summary never, description never," in (tmp_path / "all" / "report.md").read_text()
    gated = metrics_all["backends"]["model"]
    assert gated["gate_summary"] == pytest.approx(100 * len(scored) / len(rows["all"]))


def test_a_served_model_is_evaluated_through_the_server_backend(tmp_path: Path, test_split: Path) -> None:
    # A served instruction-tuned model, played by a local server: its outputs carry the scores
    # train.calibrate sweeps, so a team can calibrate gates for it (train.calibrate --out).
    from fake_engines import Request, chat_answer, chat_logprobs, error, model_list, serving

    tokens = ["Here", " is", " the", " docstring", ":\n\n", "Compute", " the", " result", "."]

    def instruct_model(request: Request):
        if request.method == "GET":
            return model_list("qwen2.5-coder:7b") if request.path == "/v1/models" else error(404)
        return chat_answer("".join(tokens), chat_logprobs(tokens, logprob=-0.5))

    out = tmp_path / "served"
    with serving(instruct_model) as engine:
        argv = ["--server-url", engine.root, "--data", str(test_split), "--out", str(out), "--baseline", "none",
                "--gates", "off", "--pydoclint", str(pydoclint_executable())]
        assert evaluate.main(argv) == 0
    rows = [row for row in _records(out / "outputs.jsonl.gz") if row["backend"] == "server"]
    assert rows and all(row["raw"] == "Compute the result." for row in rows)
    assert all(row["scores"]["summary"] > 0 for row in rows)
    assert {r.body["model"] for r in engine.posts("/v1/chat/completions")} == {"qwen2.5-coder:7b"}
