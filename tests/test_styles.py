"""Which style a docstring, a file and a repository use, and the reason given for it (issue 22)."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from docucode_hook.code.records import Style
from docucode_hook.config import Config, ConfigError, load_mapping
from docucode_hook.docstrings.styles import (
    StyleChoice,
    StyleRule,
    declared_style,
    repository_style,
    section_styles,
    style_rule,
)

GOOGLE = "Do it.\n\nArgs:\n    x (int): The x.\n"
NUMPY = "Do it.\n\nParameters\n----------\nx : int\n    The x.\n"
SPHINX = "Do it.\n\n:param x: The x.\n:type x: int\n"


@pytest.mark.parametrize(("text", "expected"), [
    (GOOGLE, {Style.GOOGLE}),
    (NUMPY, {Style.NUMPY}),
    (SPHINX, {Style.SPHINX}),
    ("Do it.", set()),
    ("Do it.\n\nSee the :class:`Thing` for more.", set()),  # a role in prose is no field
    ("Do it.\n\nUsage:\n    f()", set()),  # a title napoleon does not know is no section
    ("Do it.\n\nReturns:\n", set()),  # a title over nothing is text
    ("Do it.\n\nDetails\n-------\nMore.", set()),  # a reST heading is no NumPy section
    (GOOGLE + "\n:returns: the y", {Style.GOOGLE, Style.SPHINX}),
    ("Do it.\n\nexamples:\n    >>> f()", {Style.GOOGLE}),  # napoleon's titles are case-insensitive
])
def test_section_styles(text: str, expected: set[Style]) -> None:
    assert section_styles(text) == frozenset(expected)


def test_the_real_samples_read_as_their_own_style() -> None:
    import json

    samples = json.loads((Path(__file__).parent / "samples" / "docstrings" / "real.json").read_text(encoding="utf-8"))
    assert all(section_styles(sample["docstring"]) == {Style(sample["style"])} for sample in samples)


@pytest.mark.parametrize(("files", "expected"), [
    ({"pyproject.toml": '[tool.ruff.lint.pydocstyle]\nconvention = "numpy"\n'},
     (Style.NUMPY, 'declared in pyproject.toml: [tool.ruff.lint.pydocstyle] convention = "numpy"')),
    ({"pyproject.toml": '[tool.ruff.pydocstyle]\nconvention = "google"\n'},
     (Style.GOOGLE, 'declared in pyproject.toml: [tool.ruff.pydocstyle] convention = "google"')),
    ({"ruff.toml": '[lint.pydocstyle]\nconvention = "numpy"\n'},
     (Style.NUMPY, 'declared in ruff.toml: [lint.pydocstyle] convention = "numpy"')),
    ({"pyproject.toml": '[tool.pydoclint]\nstyle = "sphinx"\n'},
     (Style.SPHINX, 'declared in pyproject.toml: [tool.pydoclint] style = "sphinx"')),
    ({"pyproject.toml": "[tool.pydoclint]\narg-type-hints-in-docstring = false\n"},  # pydoclint's default style
     (Style.NUMPY, 'declared in pyproject.toml: [tool.pydoclint] style = "numpy"')),
    ({"setup.cfg": "[flake8]\ndocstring-convention = google\n"},
     (Style.GOOGLE, 'declared in setup.cfg: [flake8] docstring-convention = "google"')),
    ({"tox.ini": "[flake8]\nstyle = sphinx\n"}, (Style.SPHINX, 'declared in tox.ini: [flake8] style = "sphinx"')),
    ({"pyproject.toml": "[tool.numpydoc_validation]\nchecks = ['all']\n"},
     (Style.NUMPY, "declared in pyproject.toml: [tool.numpydoc_validation]")),
    ({"docs/conf.py": "extensions = ['sphinx.ext.autodoc', 'numpydoc']\n"},
     (Style.NUMPY, "declared in docs/conf.py: the numpydoc extension")),
    ({"docs/conf.py": "extensions = ['sphinx.ext.napoleon']\nnapoleon_numpy_docstring = False\n"},
     (Style.GOOGLE, "declared in docs/conf.py: napoleon_numpy_docstring = False")),
    ({"doc/source/conf.py": "extensions = []\nextensions.append('sphinx.ext.napoleon')\nnapoleon_google_docstring = False\n"},
     (Style.NUMPY, "declared in doc/source/conf.py: napoleon_google_docstring = False")),
    # ruff's pep257 names no section style; napoleon with both styles on tells neither.
    ({"pyproject.toml": '[tool.ruff.lint.pydocstyle]\nconvention = "pep257"\n'}, None),
    ({"docs/conf.py": "extensions = ['sphinx.ext.napoleon']\n"}, None),
    ({"docs/conf.py": "this is not python("}, None),
    ({"pyproject.toml": "not toml ["}, None),
    # ruff wins over pydoclint, in the order the docstring of declared_style gives.
    ({"pyproject.toml": '[tool.pydoclint]\nstyle = "sphinx"\n[tool.ruff.lint.pydocstyle]\nconvention = "google"\n'},
     (Style.GOOGLE, 'declared in pyproject.toml: [tool.ruff.lint.pydocstyle] convention = "google"')),
])
def test_declared_style(tmp_path: Path, files: dict[str, str], expected: tuple[Style, str] | None) -> None:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    found = declared_style(tmp_path)
    assert (found.style, found.reason) == expected if expected else found is None


def test_an_explicit_style_wins_over_a_declared_one(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint.pydocstyle]\nconvention = "numpy"\n')
    rule = style_rule(Config(style=Style.SPHINX), tmp_path)
    assert rule.for_file(Counter({Style.NUMPY: 3})) == StyleChoice(Style.SPHINX, 'configured: style = "sphinx"')
    assert style_rule(Config(), tmp_path).for_file(Counter()).style is Style.NUMPY


def test_style_auto_is_the_default_and_a_bad_style_names_the_choices() -> None:
    assert Config().style is None and load_mapping({"style": "auto"}).style is None
    assert load_mapping({"style": "NumPy"}).style is Style.NUMPY
    with pytest.raises(ConfigError, match="style must be one of auto, google, numpy, sphinx"):
        load_mapping({"style": "epydoc"})


def _git_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(exist_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    for name, content in files.items():
        (root / name).write_text(content)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


def _module(*docstrings: str) -> str:
    return "".join(f'def f{i}(x):\n    """{doc}"""\n    return x\n\n\n' for i, doc in enumerate(docstrings))


def test_a_consistent_file_keeps_its_style_else_the_repository_decides(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path / "repo", {"a.py": _module(NUMPY, NUMPY), "b.py": _module(NUMPY, NUMPY, GOOGLE),
                                         "c.py": _module(NUMPY), "d.py": _module(GOOGLE), "e.py": ""})
    rule = style_rule(Config(), repo)
    assert rule.for_file(Counter({Style.GOOGLE: 2})) == StyleChoice(Style.GOOGLE, "the file's docstrings (2 google)")
    mixed = rule.for_file(Counter({Style.GOOGLE: 1, Style.NUMPY: 1}))
    assert mixed == StyleChoice(Style.NUMPY, "most of the repository's files with docstring sections (numpy 3, google 1)")
    assert rule.for_file(Counter()) == mixed  # a file with no sections: the repository's style
    # A docstring mixing two styles makes its file inconsistent.
    assert rule.for_file(Counter({Style.GOOGLE: 1}), mixed=1).style is Style.NUMPY


def test_with_nothing_to_go_by_the_style_is_google(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path / "repo", {"a.py": _module("Do it.")})
    assert repository_style(repo) is None
    choice = style_rule(Config(), repo).for_file(Counter())
    assert choice == StyleChoice(Style.GOOGLE, "the default: nothing declares a style and no docstring shows one")
    # Outside a repository the file's majority decides a mixed file.
    assert StyleRule().for_file(Counter({Style.SPHINX: 2, Style.GOOGLE: 1})).style is Style.SPHINX
