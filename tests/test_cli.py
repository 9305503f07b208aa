"""The ``docucode`` command end to end on real files: fix, --diff, --check, config, bad input."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

from docucode_hook.cli import main
from docucode_hook.docstrings.verify import assert_only_docstrings_changed, docstring_values

UNDOCUMENTED = '''\
import os


def join_all(base: str, *parts: str) -> str:
    if not parts:
        raise ValueError("no parts")
    return os.path.join(base, *parts)


class Counter:
    def bump(self, by: int = 1):
        self.n += by
'''


@pytest.fixture(autouse=True)
def project(tmp_path, monkeypatch):
    """A project root (pyproject.toml) with the template backend, so results are deterministic."""
    (tmp_path / "pyproject.toml").write_text('[tool.docucode]\nbackend = "template"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCUCODE_CACHE_DIR", str(tmp_path / ".cache"))
    return tmp_path


def _write(project, name, content, mode="w"):
    path = project / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def test_fix_inserts_grounded_docstrings_and_second_run_is_a_no_op(project, capsys):
    path = _write(project, "mod.py", UNDOCUMENTED)
    assert main(["mod.py"]) == 1
    new = path.read_text()
    assert_only_docstrings_changed(UNDOCUMENTED, new)
    docs = docstring_values(new)
    join_doc = next(d for d in docs.values() if "Args:" in d and "base" in d)
    assert "*parts" in join_doc and "Returns:" in join_doc and "ValueError" in join_doc
    bump_doc = next(d for d in docs.values() if "by" in d and "Returns" not in d)
    assert "self" not in bump_doc
    assert "mod.py" in capsys.readouterr().err
    assert main(["mod.py"]) == 0
    assert path.read_text() == new


@pytest.mark.parametrize(
    ("style", "marker"),
    [("google", "Args:"), ("numpy", "Parameters\n----------"), ("sphinx", ":param base:")],
)
def test_style_flag_selects_the_renderer(project, style, marker):
    path = _write(project, "mod.py", UNDOCUMENTED)
    assert main(["--style", style, "mod.py"]) == 1
    assert any(marker in d for d in docstring_values(path.read_text()).values())


def test_diff_prints_a_patch_and_writes_nothing(project, capsys):
    path = _write(project, "mod.py", UNDOCUMENTED)
    assert main(["--diff", "mod.py"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("--- a/mod.py\n+++ b/mod.py\n") and '+    """' in out
    assert path.read_text() == UNDOCUMENTED


def test_check_reports_path_line_col_and_coverage(project, capsys):
    _write(project, "mod.py", UNDOCUMENTED)
    assert main(["--check", "mod.py"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "mod.py:4:1: DCU100 missing docstring" in lines[0]
    assert any(line.startswith("mod.py:11:5: DCU100") for line in lines)
    assert "coverage 0.0% (0/2 documented)" in captured.err


def test_check_reports_stale_parameters(project, capsys):
    source = 'def f(a, c):\n    """Do it.\n\n    Args:\n        a: A.\n        b: B.\n    """\n    return None\n'
    _write(project, "mod.py", source)
    assert main(["--check", "mod.py"]) == 1
    out = capsys.readouterr().out
    assert "DCU101" in out and "c" in out and "b" in out


def test_refresh_stale_keeps_the_human_summary(project):
    source = 'def f(a, c):\n    """Do the careful thing.\n\n    Args:\n        a: The first.\n        b: Gone.\n    """\n    print(a, c)\n'
    path = _write(project, "mod.py", source)
    assert main(["--refresh-stale", "mod.py"]) == 1
    doc = docstring_values(path.read_text())[1]
    assert doc.startswith("Do the careful thing.") and "The first." in doc and "c" in doc and "Gone." not in doc
    assert main(["--refresh-stale", "mod.py"]) == 0


def test_check_json_format(project, capsys):
    _write(project, "mod.py", UNDOCUMENTED)
    assert main(["--check", "--format", "json", "mod.py"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["exit_code"] == 1 and payload["coverage"] == 0.0
    assert {f["code"] for f in payload["findings"]} == {"DCU100"}


def test_fail_under(project, capsys):
    _write(project, "mod.py", 'def f(a):\n    """Do it."""\n    return a\n\n\ndef g(b):\n    return b\n')
    assert main(["--check", "--fail-under", "40", "--format", "json", "mod.py"]) == 1
    capsys.readouterr()
    _write(project, "ok.py", 'def f(a):\n    """Do it."""\n    return a\n')
    assert main(["--check", "--fail-under", "90", "ok.py"]) == 0
    assert main(["--check", "--fail-under", "90", "mod.py"]) == 1
    assert "below fail-under 90%" in capsys.readouterr().err


def test_config_file_options_and_cli_override(project):
    (project / "pyproject.toml").write_text('[tool.docucode]\nbackend = "template"\nstyle = "numpy"\n')
    path = _write(project, "mod.py", UNDOCUMENTED)
    assert main(["mod.py"]) == 1
    assert any("----------" in d for d in docstring_values(path.read_text()).values())
    path.write_text(UNDOCUMENTED)
    assert main(["--style", "google", "mod.py"]) == 1
    assert any("Args:" in d for d in docstring_values(path.read_text()).values())


def test_exclude_is_honoured_for_explicit_filenames(project):
    (project / "pyproject.toml").write_text('[tool.docucode]\nbackend = "template"\nexclude = ["gen/*"]\n')
    (project / "gen").mkdir()
    path = _write(project, "gen/mod.py", UNDOCUMENTED)
    assert main(["gen/mod.py"]) == 0
    assert path.read_text() == UNDOCUMENTED


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[tool.docucode]\nstyle = "epytext"\n', "style must be one of"),
        ('[tool.docucode]\nnot-an-option = 1\n', "unknown option 'not-an-option'"),
        ("[tool.docucode\n", "invalid TOML"),
    ],
)
def test_bad_config_is_a_usage_error(project, capsys, config, message):
    (project / "pyproject.toml").write_text(config)
    path = _write(project, "mod.py", UNDOCUMENTED)
    with pytest.raises(SystemExit) as exc:
        main(["mod.py"])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert path.read_text() == UNDOCUMENTED


BAD_INPUT = [
    ("syntax.py", b"def f(:\n    pass\n", "syntax error at line 1"),
    ("latin.py", "def f():\n    return 'caf\xe9'\n".encode("latin-1"), "utf-8"),
    ("binary.py", b"\x00\x01\x02ELF\x00def", "binary"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_INPUT)
@pytest.mark.parametrize("mode", [[], ["--check"], ["--diff"]])
def test_bad_input_is_one_line_exit_2_and_untouched(project, capsys, name, content, reason, mode):
    path = _write(project, name, content)
    good = _write(project, "good.py", UNDOCUMENTED)
    assert main([*mode, name, "good.py"]) == 2
    err_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith(name)]
    assert len(err_lines) == 1 and reason in err_lines[0].lower()
    assert path.read_bytes() == content
    if not mode:  # the good file is still fixed: one bad file does not stop the rest
        assert good.read_text() != UNDOCUMENTED


def test_missing_path_is_an_error_naming_it(project, capsys):
    assert main(["nope.py"]) == 2
    assert "nope.py" in capsys.readouterr().err


def test_directory_argument_is_walked(project):
    (project / "pkg").mkdir()
    path = _write(project, "pkg/mod.py", UNDOCUMENTED)
    assert main(["pkg"]) == 1
    assert path.read_text() != UNDOCUMENTED


@pytest.mark.parametrize(
    "content",
    [
        "",
        "\n",
        "x = 1\n",
        'def f():\n    """Done."""\n',
        "f = lambda x: x\n",
    ],
)
def test_nothing_to_do_leaves_the_file_untouched(project, content):
    path = _write(project, "mod.py", content)
    assert main(["mod.py"]) == 0
    assert path.read_text() == content


ENCODINGS = [
    ("crlf", UNDOCUMENTED.replace("\n", "\r\n").encode()),
    ("bom", b"\xef\xbb\xbf" + UNDOCUMENTED.encode()),
    ("tabs", UNDOCUMENTED.replace("    ", "\t").encode()),
    ("cookie", b"# -*- coding: latin-1 -*-\n" + UNDOCUMENTED.replace("os.path.join", "os.path.join  # \xe9").encode("latin-1")),
]


@pytest.mark.parametrize(("label", "content"), ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_file_format_is_preserved(project, label, content):
    path = _write(project, "mod.py", content)
    assert main(["mod.py"]) == 1
    new = path.read_bytes()
    assert new.startswith(b"\xef\xbb\xbf") == content.startswith(b"\xef\xbb\xbf")
    if label == "crlf":
        assert b"\n" not in new.replace(b"\r\n", b"")
    if label == "tabs":
        assert b"\n    " not in new
    encoding = "latin-1" if label == "cookie" else "utf-8-sig"
    ast.parse(new.decode(encoding))
    assert main(["mod.py"]) == 0 and path.read_bytes() == new


def test_python_dash_m_entry_point(project):
    _write(project, "mod.py", UNDOCUMENTED)
    done = subprocess.run([sys.executable, "-m", "docucode_hook", "--check", "mod.py"], capture_output=True, text=True)
    assert done.returncode == 1 and "DCU100" in done.stdout


def test_flake8_plugin_reports_the_same_codes(project):
    _write(project, "mod.py", UNDOCUMENTED)
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "DCU", "mod.py"], capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr
    assert "mod.py:4:1: DCU100 missing docstring" in done.stdout


def test_functions_on_the_same_line_in_different_files_keep_their_own_docstrings(project):
    # One batch holds functions of several files; their line numbers repeat.
    first = _write(project, "a.py", "def load_config(path):\n    return path\n")
    second = _write(project, "b.py", "def save_report(rows):\n    return rows\n")
    assert main(["a.py", "b.py"]) == 1
    a_doc, b_doc = (docstring_values(p.read_text())[1] for p in (first, second))
    assert "config" in a_doc.lower() and "report" not in a_doc.lower()
    assert "report" in b_doc.lower() and "config" not in b_doc.lower()


def test_check_table_in_a_log_is_plain_text_with_whole_paths(project, capsys):
    """stderr is not a terminal (CI, pipes): with -v one plain row per file, long paths kept whole."""
    deep = "pkg/" + "a_rather_long_directory_name/" * 3
    names = [f"{deep}module_{index}.py" for index in range(6)]
    for name in names:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        _write(project, name, '"""Doc."""\n\n\ndef f():\n    pass\n')
    _write(project, "broken.py", "def broken(:\n")
    assert main(["--check", "-v", "pkg", "broken.py"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "│" not in "".join(err) and "…" not in "".join(err)
    title, header, *rows = err[err.index("docucode") :]
    assert title == "docucode"
    assert header.split() == ["file", "documented", "total", "findings", "status"]
    table = {row.split()[0]: row.split()[1:] for row in rows if not row.startswith("docucode:")}
    assert table == {**{name: ["0", "1", "1", "ok"] for name in names}, "broken.py": ["0", "0", "0", "error"]}
    # After a file that could not be read, a coverage figure would leave it out: none is printed.
    assert err[-1] == "docucode: 7 files, 1 error checked: 6 findings (DCU100 6)"
    assert not any("coverage" in line for line in err)


def _tree(project, count=6):
    """``count`` files, each with a public and a private undocumented function."""
    for index in range(count):
        _write(project, f"m{index}.py", f"def load_{index}(path):\n    return path\n\n\ndef _helper(x):\n    return x\n")


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    from docucode_hook import __version__

    assert capsys.readouterr().out == f"docucode {__version__}\n"


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--verbose" in out and "`" not in out


@pytest.mark.parametrize("args", [["--fail-under", "150"], ["--fail-under", "-1"]])
def test_fail_under_outside_0_to_100_is_a_usage_error(project, capsys, args):
    _write(project, "mod.py", UNDOCUMENTED)
    with pytest.raises(SystemExit) as exc:
        main(["--check", *args, "mod.py"])
    assert exc.value.code == 2
    assert "fail_under" in capsys.readouterr().err


def test_fail_under_in_the_config_is_a_percentage(project, capsys):
    (project / "pyproject.toml").write_text("[tool.docucode]\nfail-under = 101\n")
    with pytest.raises(SystemExit) as exc:
        main(["--check", "."])
    assert exc.value.code == 2
    assert "fail_under is a percentage from 0 to 100 (got 101)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "hint"),
    [("styel", "did you mean 'style'?"), ("fail-undr", "did you mean 'fail-under'?"),
     ("skip_privat", "did you mean 'skip_private'?")],
)
def test_unknown_key_suggests_the_nearest(project, capsys, key, hint):
    (project / "pyproject.toml").write_text(f'[tool.docucode]\n{key} = "x"\n')
    with pytest.raises(SystemExit) as exc:
        main(["--check", "."])
    assert exc.value.code == 2
    assert f"unknown option {key!r} in [tool.docucode] ({hint})" in capsys.readouterr().err


def test_check_with_a_missing_path_prints_no_coverage(project, capsys):
    _write(project, "mod.py", UNDOCUMENTED)
    assert main(["--check", "nope.py", "mod.py"]) == 2
    err = capsys.readouterr().err
    assert "nope.py" in err and "coverage" not in err


def test_a_stopped_commit_names_each_function_and_the_next_step(project, capsys):
    path = _write(project, "mod.py", UNDOCUMENTED)
    assert main(["mod.py"]) == 1
    err = capsys.readouterr().err.splitlines()
    new = path.read_text().splitlines()
    assert err[0] == "docucode: wrote 2 docstring(s) in mod.py"
    listed = dict(line.strip().split(" ", 1)[::-1] for line in err[1:3])
    assert set(listed) == {"join_all", "Counter.bump"}
    for name, where in listed.items():
        line = int(where.split(":")[1])  # the def line in the file as it is now
        assert new[line - 1].lstrip().startswith(f"def {name.split('.')[-1]}(")
    assert err[-1] == "docucode: review the changes (git diff), then git add and commit again"


def test_the_template_standing_in_says_why(project, capsys):
    path = _write(project, "mod.py", UNDOCUMENTED)
    assert main(["--backend", "model", "--model", str(project / "no-such-model"), "mod.py"]) == 1
    err = capsys.readouterr().err
    assert "mod.py:4 join_all (template: model backend unavailable)" in err
    assert '"""' in path.read_text()


def test_a_large_run_prints_a_summary_and_the_table_only_with_verbose(project, capsys):
    _tree(project)
    assert main(["."]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "docucode: 6 files, 6 changed: 6 docstrings written (by the template 6)",
        "docucode: skipped 6 (rules in [tool.docucode]): private 6",
        "docucode: coverage 0.0% → 100.0% (0/6 → 6/6 documented)",
        "docucode: review the changes (git diff), then git add and commit again",
    ]
    _tree(project)
    assert main(["-v", "."]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "docucode: wrote 1 docstring(s) in m0.py" in err and "  m0.py:1 load_0" in err
    header = err[err.index("docucode") + 1]
    assert header.split() == ["file", "documented", "total", "written", "status"]
    assert "m5.py  0  1  1  changed" in " ".join(err) or any(row.split() == ["m5.py", "0", "1", "1", "changed"] for row in err)


def test_diff_says_would_and_json_carries_the_diff(project, capsys):
    _tree(project)
    assert main(["--diff", "-v", "."]) == 1
    captured = capsys.readouterr()
    rows = [line.split() for line in captured.err.splitlines()]
    assert ["file", "documented", "total", "would", "write", "status"] in rows
    assert ["m0.py", "0", "1", "1", "would", "change"] in rows
    assert "docucode: 6 files, 6 would change: 6 docstrings would write (by the template 6)" in captured.err
    assert "then git add" not in captured.err
    assert main(["--diff", "--format", "json", "m0.py"]) == 1
    entry = json.loads(capsys.readouterr().out)["files"][0]
    assert entry["diff"].startswith("--- a/m0.py\n+++ b/m0.py\n") and '+    """' in entry["diff"]
    assert entry["docstrings"] == [{"line": 1, "name": "load_0", "by": "template", "reason": None, "parts": [
        {"part": "summary", "origin": "backend", "reason": ""},
        {"part": "param path", "origin": "derived", "reason": "restates the parameter's name"},
        {"part": "returns", "origin": "derived", "reason": "not written"},
    ]}]
    assert (project / "m0.py").read_text().count('"""') == 0


def test_explain_says_where_each_part_came_from(project, capsys):
    (project / "gen.py").write_text("def numbers(limit: int):\n    for n in range(limit):\n        yield n\n")
    assert main(["--diff", "--explain", "gen.py"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:5] == [
        "  style google: the default: nothing declares a style and no docstring shows one",
        "  gen.py:1 numbers",
        "    summary: template",
        "    param limit: derived (restates the parameter's name)",
        "    yields: derived (not written)",
    ]


def test_check_summary(project, capsys):
    _tree(project, 2)
    assert main(["--check", "."]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "docucode: 2 files checked: 2 findings (DCU100 2)",
        "docucode: skipped 2 (rules in [tool.docucode]): private 2",
        "docucode: coverage 0.0% (0/2 documented)",
    ]


def test_summary_on_a_terminal_goes_through_rich(project):
    """stderr on a terminal: the same summary, with rich's highlighting (escape codes)."""
    import os
    import pty

    _tree(project, 2)
    main_fd, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    done = subprocess.run([sys.executable, "-m", "docucode_hook", "--check", "."], stderr=terminal,
                          stdout=subprocess.PIPE, env=env, timeout=60)
    os.close(terminal)
    err = os.read(main_fd, 65536).decode()
    os.close(main_fd)
    assert done.returncode == 1
    assert "\x1b[" in err  # styled by rich
    plain = re.sub(r"\x1b\[[0-9;]*m", "", err)
    assert "docucode: coverage 0.0% (0/2 documented)" in plain
