"""train.mine on the sample corpus, a hand-made site-packages and the real installed one."""

from __future__ import annotations

import ast
import json
import sysconfig
from dataclasses import replace
from pathlib import Path

import pytest
from docstring_parser import DocstringStyle, parse

from docucode_hook.code.records import Style
from docucode_hook.docstrings.phrasing import restates_name
from train.licences import licence_family, metadata_licence
from train.mine import (
    CODE_COLUMNS,
    RECORD_COLUMNS,
    SPLITS,
    Limits,
    MineArgs,
    collect_sources,
    main,
    mine,
    split_of,
)

SAMPLES = Path(__file__).parent / "samples"
PINS = ["--validation-packages", "pkg_b", "--test-packages", "pkg_c"]


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mined")
    assert main([str(SAMPLES), "--out", str(out), "--workers", "2", "--licences", "all", *PINS]) == 0
    return out


@pytest.fixture(scope="module")
def records(mined: Path) -> dict[str, list[dict]]:
    return {split: _read_jsonl(mined / f"{split}.jsonl") for split in SPLITS}


def _all(records: dict[str, list[dict]]) -> list[dict]:
    return [record for split in SPLITS for record in records[split]]


def _sample_args(**changes) -> MineArgs:
    pinned = {"pkg_b": "validation", "pkg_c": "test"}
    return replace(MineArgs(sources=(SAMPLES,), out=Path("unused"), workers=1, licences=None, pinned=pinned), **changes)


def test_records_have_the_trl_shape_and_metadata(records: dict[str, list[dict]]) -> None:
    for record in _all(records):
        assert tuple(record) == RECORD_COLUMNS
        assert record["prompt"].startswith("### Instruction\n")
        assert f"`{record['qualname']}`" in record["prompt"]
        snippet = ast.parse(record["code_snippet"]).body[0]
        assert isinstance(snippet, (ast.FunctionDef, ast.AsyncFunctionDef))
        assert ast.get_docstring(snippet) is None
        assert record["completion"].startswith(record["summary"])
        assert record["style"] == "google"
        assert record["licence"] in {"MIT", "BSD", "Apache-2.0"}


def test_splits_hold_disjoint_packages_as_pinned(records: dict[str, list[dict]]) -> None:
    packages = {split: {r["package"] for r in records[split]} for split in SPLITS}
    assert packages == {"train": {"pkg_a"}, "validation": {"pkg_b"}, "test": {"pkg_c"}}


def test_vendored_copy_is_deduplicated_in_favour_of_the_original(records: dict[str, list[dict]]) -> None:
    slugs = [(r["package"], r["path"]) for r in _all(records) if r["qualname"] == "slugify"]
    assert slugs == [("pkg_a", "pkg_a/strings.py")]
    assert not [r for r in _all(records) if "_vendor" in r["path"]]


def test_only_good_functions_become_records(records: dict[str, list[dict]]) -> None:
    names = {r["qualname"] for r in _all(records)}
    dropped = {
        "metres_to_feet": "auto-generated file",
        "test_slugify_folds_accents": "test file",
        "Storage.load": "raise NotImplementedError",
        "Storage.close": "pass",
        "Storage.flush": "...",
        "count_consonants": "Copied from",
        "format_count": "not English",
        "get_name": "summary restates the name",
        "title_case": "undocumented",
    }
    assert not names & set(dropped)
    # The Latin-1 file decodes by its coding cookie; NumPy and reST docstrings parse.
    assert {"euro_label", "variance", "Point.distance_to", "read_lines", "LRUCache.keys_by_age"} <= names


def test_stats_count_the_broken_file_and_every_filter(mined: Path) -> None:
    stats = (mined / "stats.md").read_text(encoding="utf-8")
    assert "| SyntaxError | 1 |" in stats
    for line in ("| generated file | 2 |", "| duplicate body | 2 |", "| not English (ASCII ratio) | 1 |"):
        assert line in stats


@pytest.mark.parametrize(
    ("style", "parser_style", "marker"),
    [(Style.NUMPY, DocstringStyle.NUMPYDOC, "Parameters\n----------"), (Style.SPHINX, DocstringStyle.REST, ":param ")],
)
def test_completions_render_in_the_requested_style(style: Style, parser_style: DocstringStyle, marker: str) -> None:
    report = mine(_sample_args(style=style))
    records = report.records.set_index("qualname")
    # truncate_words is written in Google style in the source.
    completion = records.loc["truncate_words", "completion"]
    assert marker in completion
    assert [p.arg_name for p in parse(completion, style=parser_style).params] == ["text", "limit", "ellipsis"]
    assert (report.records["style"] == style.value).all()


def test_datasets_load_from_disk_matches_the_jsonl(mined: Path, records: dict[str, list[dict]]) -> None:
    from datasets import load_from_disk

    dataset = load_from_disk(str(mined / "hf"))
    assert set(dataset) == set(SPLITS)
    for split in SPLITS:
        assert dataset[split].column_names == list(RECORD_COLUMNS)
        assert dataset[split]["qualname"] == [r["qualname"] for r in records[split]]


def test_code_for_pretraining_comes_from_train_packages_and_parses(mined: Path) -> None:
    rows = _read_jsonl(mined / "code.jsonl")
    assert {tuple(row) for row in rows} == {CODE_COLUMNS}
    assert {row["package"] for row in rows} == {"pkg_a"}
    trees = [ast.parse(row["code"]).body[0] for row in rows]
    names = [tree.name for tree in trees]
    assert "title_case" in names  # undocumented code is pretraining data too
    assert "test_slugify_folds_accents" not in names
    assert len(names) == len(set(names))


def test_licences_csv_counts_records(mined: Path, records: dict[str, list[dict]]) -> None:
    lines = (mined / "licences.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "package,licence,count"
    by_package = {line.split(",")[0]: (line.split(",")[1], int(line.split(",")[2])) for line in lines[1:]}
    assert by_package["pkg_a"] == ("MIT", len(records["train"]))
    assert by_package["pkg_b"] == ("BSD", len(records["validation"]))


def test_cap_limits_records_per_package() -> None:
    report = mine(_sample_args(limits=Limits(max_functions_per_package=3)))
    assert report.records.groupby("package").size().max() == 3


def _dist(site: Path, top: str, name: str, licence_lines: str, source: str) -> None:
    (site / top).mkdir()
    (site / top / "core.py").write_text(source, encoding="utf-8")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n{licence_lines}\n", encoding="utf-8")
    (info / "RECORD").write_text(f"{top}/core.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n", encoding="utf-8")


FUNCTION = '''
def scale(values, factor):
    """Multiply every value by the same factor.

    Args:
        values: The numbers to scale.
        factor: The multiplier.

    Returns:
        The scaled numbers.
    """
    return [v * factor for v in values]
'''


def test_site_packages_files_belong_to_their_distribution_and_licence(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    _dist(site, "good", "good-dist", "License-Expression: MIT", FUNCTION)
    _dist(site, "left", "left-dist", "Classifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
          FUNCTION.replace("factor", "ratio"))
    owners = {(f.rel, f.package, f.licence) for f in collect_sources([site])}
    assert owners == {("good/core.py", "good-dist", "MIT"), ("left/core.py", "left-dist", "GPL")}
    report = mine(MineArgs(sources=(site,), out=tmp_path / "out", workers=1))
    assert report.records["package"].tolist() == ["good-dist"]
    assert report.licence_excluded == {"GPL": 1}


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("MIT", "MIT"),
        ("BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", "BSD"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0"),
        ("GPL-2.0-or-later OR MIT", "MIT"),
        ("BSD-3-Clause AND GPL-2.0", "GPL"),
        ("(MIT OR Apache-2.0) AND LGPL-3.0", "LGPL"),
        ("Copyright (c) 2005, Someone.\nAll rights reserved.\n\nRedistribution and use in source and binary forms", "BSD"),
        ("Python Software Foundation License", "PSF"),
        ("UNKNOWN", "unknown"),
    ],
)
def test_licence_family(text: str, family: str) -> None:
    assert licence_family(text) == family


def test_metadata_licence_falls_back_to_classifiers() -> None:
    from email.message import Message

    metadata = Message()
    metadata["License"] = "UNKNOWN"
    metadata["Classifier"] = "License :: OSI Approved :: Apache Software License"
    assert metadata_licence(metadata) == "Apache-2.0"


@pytest.mark.parametrize(
    ("summary", "name", "restates"),
    [
        ("Gets the name.", "get_name", True),
        ("Return the value.", "value", True),
        ("Sets the maxRetries.", "setMaxRetries", True),
        ("Look up a key and mark it as recently used.", "get", False),
        ("Return the name shown in the title bar.", "get_name", False),
    ],
)
def test_restates_name(summary: str, name: str, restates: bool) -> None:
    assert restates_name(summary, name) is restates


def test_split_is_a_fixed_function_of_the_package_name() -> None:
    names = [f"package{i}" for i in range(4000)]
    splits = [split_of(name, (0.9, 0.05, 0.05), {}) for name in names]
    assert splits == [split_of(name, (0.9, 0.05, 0.05), {}) for name in names]
    shares = {split: splits.count(split) / len(names) for split in SPLITS}
    assert shares["train"] == pytest.approx(0.9, abs=0.02)
    assert shares["test"] == pytest.approx(0.05, abs=0.015)
    assert split_of(names[0], (0.9, 0.05, 0.05), {names[0]: "test"}) == "test"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as missing:
        main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    assert missing.value.code == 2
    with pytest.raises(SystemExit) as bad_split:
        main([str(SAMPLES), "--out", str(tmp_path / "out"), "--split", "0.9,0.1"])
    assert bad_split.value.code == 2


def test_speed_on_the_installed_site_packages(capsys: pytest.CaptureFixture[str]) -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    report = mine(MineArgs(sources=(site,), out=Path("unused"), workers=2, licences=None, max_files=300))
    with capsys.disabled():
        print(f"\nmined {report.files} files, {report.functions} functions in {report.seconds:.1f} s: "
              f"{report.functions_per_second:,.0f} functions/s, {len(report.records)} records")
    assert report.files == 300
    assert len(report.records) > 0
    assert not report.records["package"].isin({"site-packages", ""}).any()


COMMENTED_SOURCE = '''\
import re


def parse(text):
    """Parse the text."""
    total = 0
    # Skip blank lines and count the rest
    for line in text.splitlines():
        if line:
            total += 1
    # return total
    if total > 3:
        return total
    # TODO: handle tabs
    while total:
        total -= 1
    # noqa: E501
    if text:
        pass
    # Two lines of comment
    # make a paragraph
    for ch in text:
        print(ch)
    # Copyright 2020 Someone
    with open(text) as handle:
        handle.read()
    # Strip markup before matching
    words = re.findall(r"\\w+", re.sub("<[^>]+>", "", text))
    # plain statements are no blocks
    total = 0
    return words
'''


def test_comment_pairs_are_mined_and_filtered(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "text.py").write_text(COMMENTED_SOURCE, encoding="utf-8")
    (tmp_path / "pkg" / "test_text.py").write_text(COMMENTED_SOURCE, encoding="utf-8")
    out = tmp_path / "out"
    assert main([str(tmp_path), "--out", str(out), "--workers", "1", "--licences", "all"]) == 0
    records = [r for split in SPLITS for r in _read_jsonl(out / f"{split}.jsonl")]
    comments = [r for r in records if r["task"] == "comment"]
    assert {r["task"] for r in records} == {"docstring", "comment"}
    # Commented-out code, a TODO, a pragma, a two-line comment, a licence line and a comment
    # above a plain statement are left out; the test file's copies too.
    assert [r["completion"] for r in comments] == ["Skip blank lines and count the rest", "Strip markup before matching"]
    first = comments[0]
    assert tuple(first) == RECORD_COLUMNS and first["qualname"] == "parse"
    assert "Write a one-line comment for the marked block" in first["prompt"]
    snippet = first["code_snippet"]
    assert "Skip blank lines" not in snippet and "    # >>> block\n    for line in text.splitlines():" in snippet
    ast.parse(snippet)  # the markers are comments: the snippet is still the function
    stats = (out / "stats.md").read_text(encoding="utf-8")
    # "noqa: E501" parses (an annotation), so it goes out as code before the pragma filter.
    for line in ("| comments above blocks | 12 |", "| test file or function | 6 |", "| commented-out code | 2 |",
                 "| pragma, TODO or licence line | 2 |", "(1 docstring, 2 comment)"):
        assert line in stats
