"""Enforcing the style end to end: DCU105 from --check, flake8 and the check hook; --convert and
``convert = true`` through the command line and the real pre-commit (issue 23), and the style
chosen for new docstrings without configuration (issue 22)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from precommit_support import PRE_COMMIT, run as _run, user_repo

from docucode_hook.cli import main
from docucode_hook.docstrings.verify import assert_only_docstrings_changed, docstring_values

MODULE = '''\
"""Geometry helpers."""


def area(width: float, height: float) -> float:
    """Compute the area.

    Parameters
    ----------
    width : float
        The width.
    height : float
        The height.

    Returns
    -------
    float
        The area.
    """
    return width * height


def scale(x: float, factor: float = 2.0) -> float:
    """Scale a value.

    Args:
        x (float): The value.
        factor (float): How much.

    Returns:
        float: The scaled value.

    Note:
        Nothing special.

    .. versionadded:: 1.2
    """
    return x * factor


def clamp(x: float) -> float:
    """Clamp a value.

    :param x: The value.
    :returns: The clamped value.
    """
    return max(0.0, min(1.0, x))
'''
TEMPLATE = '[tool.docucode]\nbackend = "template"\n'
RUFF_NUMPY = '[tool.ruff.lint.pydocstyle]\nconvention = "numpy"\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(TEMPLATE + RUFF_NUMPY)
    (tmp_path / "geometry.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


REASON = 'declared in pyproject.toml: [tool.ruff.lint.pydocstyle] convention = "numpy"'


def test_check_reports_docstrings_in_another_style(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "geometry.py"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"geometry.py:22:1: DCU105 docstring sections in google style, not numpy ({REASON})",
        f"geometry.py:40:1: DCU105 docstring sections in sphinx style, not numpy ({REASON})",
    ]


def test_check_style_false_turns_dcu105_off(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(TEMPLATE + "check-style = false\n" + RUFF_NUMPY)
    assert main(["--check", "geometry.py"]) == 0


def test_flake8_reports_dcu105(project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "flake8", "--select", "DCU", "geometry.py"],
                          capture_output=True, text=True, cwd=project)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"./geometry.py:22:1: DCU105 docstring sections in google style, not numpy ({REASON})".replace("./", ""),
        f"geometry.py:40:1: DCU105 docstring sections in sphinx style, not numpy ({REASON})",
    ]


def test_convert_rewrites_what_it_can_reports_the_rest_and_is_idempotent(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--convert", "geometry.py"]) == 1
    captured = capsys.readouterr()
    new = (project / "geometry.py").read_text()
    assert_only_docstrings_changed(MODULE, new)
    # The Google docstring ends with a directive after its Note, which would join the Note in NumPy.
    assert "geometry.py:22: not converted: the text after Note would join that section in numpy style" in captured.err
    assert "geometry.py:40 clamp (converted)" in captured.err
    docs = docstring_values(new)
    assert docs[40] == "Clamp a value.\n\nParameters\n----------\nx\n    The value.\n\nReturns\n-------\nThe clamped value."
    assert docs[22] == ast.get_docstring(ast.parse(MODULE).body[2])  # left exactly as it was
    assert main(["--convert", "geometry.py"]) == 0  # a second run changes nothing
    assert (project / "geometry.py").read_text() == new


def test_convert_only_converts_and_json_says_why(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "undocumented.py").write_text("def f(x):\n    return x\n")
    assert main(["--convert", "--format", "json", "geometry.py", "undocumented.py"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert (project / "undocumented.py").read_text() == "def f(x):\n    return x\n"  # no docstring written
    geometry = payload["files"][0]
    assert geometry["style"] == {"style": "numpy", "reason": REASON}
    assert geometry["unconverted"] == [
        {"line": 22, "reason": "the text after Note would join that section in numpy style"}]
    assert [(d["name"], d["by"]) for d in geometry["docstrings"]] == [("clamp", "convert")]


def test_convert_and_check_together_is_a_usage_error(project: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--convert", "--check"])
    assert exit_info.value.code == 2


def test_verbose_and_explain_say_which_style_and_why(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--check", "-v", "geometry.py"])
    assert f"docucode: style numpy ({REASON}), 1 file" in capsys.readouterr().err
    (project / "new.py").write_text("def g(a: int) -> int:\n    return a\n")
    assert main(["--explain", "new.py"]) == 1
    err = capsys.readouterr().err
    assert f"  style numpy: {REASON}" in err
    assert "Parameters\n    ----------" in (project / "new.py").read_text()  # the new docstring is NumPy


def test_without_configuration_new_docstrings_follow_the_file(tmp_path: Path, monkeypatch, capsys) -> None:
    """No style anywhere in the configuration: a NumPy module gets NumPy docstrings."""
    (tmp_path / "pyproject.toml").write_text(TEMPLATE)
    monkeypatch.chdir(tmp_path)
    numpy_module = MODULE.split("\n\ndef scale")[0] + "\n\n\ndef perimeter(width: float, height: float) -> float:\n" \
        "    return 2 * (width + height)\n"
    (tmp_path / "shapes.py").write_text(numpy_module)
    assert main(["-v", "shapes.py"]) == 1
    assert "docucode: style numpy (the file's docstrings (1 numpy)), 1 file" in capsys.readouterr().err
    written = docstring_values((tmp_path / "shapes.py").read_text())
    perimeter = written[max(written)]
    assert "Parameters\n----------\nwidth : float" in perimeter and "Args:" not in perimeter


def test_an_explicit_style_wins(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "--style", "google", "geometry.py"]) == 1
    out = capsys.readouterr().out
    assert 'DCU105 docstring sections in numpy style, not google (configured: style = "google")' in out


def test_fix_hook_with_convert_true_enforces_the_style_through_pre_commit(tmp_path, env, hook_repo) -> None:
    repo = user_repo(tmp_path / "user", env, hook_repo, config=TEMPLATE + "convert = true\n" + RUFF_NUMPY)
    _run([*PRE_COMMIT, "install"], repo, env)
    (repo / "geometry.py").write_text(MODULE)
    _run(["git", "add", "-A"], repo, env)

    first = _run(["git", "commit", "-m", "add geometry"], repo, env, check=False)
    output = first.stdout + first.stderr
    assert first.returncode != 0, output
    assert "geometry.py:40 clamp (converted)" in output
    assert "geometry.py:22: not converted: the text after Note would join that section in numpy style" in output
    fixed = (repo / "geometry.py").read_text()
    assert_only_docstrings_changed(MODULE, fixed)
    assert ":param x:" not in fixed

    _run(["git", "add", "geometry.py"], repo, env)
    _run(["git", "commit", "-m", "add geometry"], repo, env)  # the hook has nothing left to change
    assert _run(["git", "show", "HEAD:geometry.py"], repo, env).stdout == fixed


def test_check_hook_reports_dcu105_through_pre_commit(tmp_path, env, hook_repo) -> None:
    repo = user_repo(tmp_path / "user", env, hook_repo, hook_id="docucode-check", config=TEMPLATE + RUFF_NUMPY)
    (repo / "geometry.py").write_text(MODULE)
    _run(["git", "add", "-A"], repo, env)
    done = _run([*PRE_COMMIT, "run", "--all-files"], repo, env, check=False)
    assert done.returncode == 1
    assert f"geometry.py:40:1: DCU105 docstring sections in sphinx style, not numpy ({REASON})" in done.stdout
